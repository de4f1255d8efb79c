/* Review test: no update made in place in a bucket is lost while the bucket is
 * grown, burst, shrunk, folded up into its grandparent's slot and split again.
 * Counter keys (4 bytes under "Q\x05\x00") are incremented by larch_art_update and
 * CAS; a churn thread fills the same bucket past 256 keys, adds a key of another
 * length and a sibling branch, then deletes them all; readers check that every
 * counter is always present and never goes backwards. At the end each counter
 * holds exactly the increments made to it. */
#include <larch/art.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "art/tree.h"
#include "harness.h"

enum { COUNTERS = 24, UPDATERS = 2 };

static larch_art *tree;
static atomic_int updaters_done;
static atomic_long increments[COUNTERS];

static void counter_key(unsigned i, unsigned char *k) {
    k[0] = 'Q';
    k[1] = 0x05;
    k[2] = 0x00;
    k[3] = (unsigned char)(i * 7);
}

static int incr(void *ctx, uint64_t *val, int present) {
    (void)ctx;
    if (!present)
        return LARCH_UPDATE_KEEP; /* must never happen: counted below */
    *val += 1;
    return LARCH_UPDATE_STORE;
}

/* Add one to key k's counter, by update, or else by a get and a CAS retried until
 * it lands; 1 if a call failed in a way it never should. */
static long increment(const unsigned char *k, size_t len, bool by_update) {
    if (by_update)
        return larch_art_update(tree, k, len, incr, NULL) != LARCH_OK;
    for (;;) {
        uint64_t cur = 0;
        if (larch_art_get(tree, k, len, &cur) != LARCH_OK)
            return 1;
        int rc = larch_art_cas(tree, k, len, cur, cur + 1, NULL);
        if (rc != LARCH_EXISTS)
            return rc != LARCH_OK;
    }
}

static void *updater(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    long ops = (under_sanitizer() ? 3000 : 200000) * stress_scale();
    long bad = 0;
    unsigned char k[4];
    for (long n = 0; n < ops; n++) {
        seed = seed * 1103515245u + 12345u;
        unsigned i = (seed >> 16) % COUNTERS;
        counter_key(i, k);
        bad += increment(k, 4, n & 1);
        atomic_fetch_add(&increments[i], 1);
    }
    atomic_fetch_add(&updaters_done, 1);
    return (void *)(intptr_t)bad;
}

static void churn_key(unsigned j, unsigned char *k) {
    k[0] = 'Q';
    k[1] = 0x05;
    k[2] = (unsigned char)(1 + j / 200);
    k[3] = (unsigned char)(j % 200);
}

static void *churn(void *arg) {
    (void)arg;
    unsigned char k[4];
    long rounds = 0;
    while (atomic_load(&updaters_done) < UPDATERS || rounds < 3) {
        unsigned n = 1 + (unsigned)(rounds * 37 % 300); /* sometimes past 256 */
        for (unsigned j = 0; j < n; j++) {
            churn_key(j, k);
            larch_art_put(tree, k, 4, 1, NULL);
        }
        if (rounds % 3 == 0)
            larch_art_put(tree, "Q\x05\x00", 3, 1, NULL); /* another length: a burst */
        if (rounds % 2 == 0)
            larch_art_put(tree, "Q\x07\x00\x00", 4, 1, NULL); /* a sibling branch */
        /* And keys in the counters' own group, so that group grows and shrinks. */
        for (unsigned j = 0; j < 240; j++) {
            k[0] = 'Q', k[1] = 0x05, k[2] = 0x00, k[3] = (unsigned char)j;
            if (j % 7 == 0 && j / 7 < COUNTERS)
                continue;
            if (rounds % 2)
                larch_art_put(tree, k, 4, 1, NULL);
        }
        for (unsigned j = 0; j < 240; j++) {
            k[0] = 'Q', k[1] = 0x05, k[2] = 0x00, k[3] = (unsigned char)j;
            if (j % 7 == 0 && j / 7 < COUNTERS)
                continue;
            larch_art_del(tree, k, 4, NULL);
        }
        for (unsigned j = 0; j < n; j++) {
            churn_key(j, k);
            larch_art_del(tree, k, 4, NULL);
        }
        larch_art_del(tree, "Q\x05\x00", 3, NULL);
        larch_art_del(tree, "Q\x07\x00\x00", 4, NULL);
        rounds++;
    }
    if (getenv("REVIEW_VERBOSE"))
        fprintf(stderr, "churn rounds %ld\n", rounds);
    return NULL;
}

/* Walks from a bound inside the counters' bucket, both ways, by iterator and scan:
 * every counter on the walk's side is seen exactly once, in order. */
struct walk_seen {
    unsigned char prev[8];
    size_t prev_len;
    int have, dir;
    unsigned counters;
    long bad;
};

static void walk_see(struct walk_seen *s, const unsigned char *key, size_t len) {
    if (s->have) {
        size_t m = len < s->prev_len ? len : s->prev_len;
        int c = memcmp(s->prev, key, m);
        c = c ? c : (s->prev_len > len) - (s->prev_len < len);
        s->bad += c * s->dir >= 0;
    }
    if (len <= sizeof s->prev) {
        memcpy(s->prev, key, len);
        s->prev_len = len;
        s->have = 1;
    }
    if (len == 4 && key[0] == 'Q' && key[1] == 0x05 && key[2] == 0x00 && key[3] % 7 == 0 &&
        key[3] / 7 < COUNTERS)
        s->counters++;
}

static int walk_scan_see(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)val;
    walk_see(ctx, key, len);
    return 0;
}

static long walks_from(larch_art_iter *it, unsigned b) {
    unsigned char k[4];
    counter_key(b, k);
    long bad = 0;
    struct walk_seen f = {.dir = 1}, r = {.dir = -1}, sc = {.dir = 1};
    for (larch_art_iter_seek(it, k, 4); larch_art_iter_valid(it); larch_art_iter_next(it)) {
        size_t len;
        const unsigned char *key = larch_art_iter_key(it, &len);
        walk_see(&f, key, len);
    }
    for (larch_art_iter_seek_for_prev(it, k, 4); larch_art_iter_valid(it);
         larch_art_iter_prev(it)) {
        size_t len;
        const unsigned char *key = larch_art_iter_key(it, &len);
        walk_see(&r, key, len);
    }
    larch_art_scan(tree, k, 4, "Q\x05\x01", 3, walk_scan_see, &sc);
    bad += f.bad + r.bad + sc.bad;
    bad += f.counters != COUNTERS - b;
    bad += r.counters != b + 1;
    bad += sc.counters != COUNTERS - b;
    return bad;
}

static void *reader(void *arg) {
    (void)arg;
    long bad = 0, rounds = 0;
    uint64_t last[COUNTERS] = {0};
    unsigned char k[4];
    larch_art_iter *it = larch_art_iter_new(tree);
    while (atomic_load(&updaters_done) < UPDATERS) {
        bad += walks_from(it, (unsigned)(rounds++ % COUNTERS));
        for (unsigned i = 0; i < COUNTERS; i++) {
            uint64_t v = 0;
            counter_key(i, k);
            if (larch_art_get(tree, k, 4, &v) != LARCH_OK || v < last[i]) {
                bad++;
                continue;
            }
            last[i] = v;
        }
    }
    larch_art_iter_free(it);
    return (void *)(intptr_t)bad;
}

/* One scenario: counters under keys of one length, the threads that bump, churn
 * and read them. */
struct scenario {
    unsigned counters;
    size_t klen;
    void (*key)(unsigned i, unsigned char *k);
    atomic_long *increments;
    void *(*updater)(void *), *(*churn)(void *), *(*reader)(void *);
};

/* Run a scenario to its end, then: no reader saw a counter missing or going back,
 * and every increment made is in its counter. */
static void run_scenario(const struct scenario *sc, unsigned attempts) {
    larch__art_optimistic_attempts = attempts;
    tree = larch_art_new();
    REQUIRE(tree != NULL);
    unsigned char k[8];
    for (unsigned i = 0; i < sc->counters; i++) {
        sc->key(i, k);
        REQUIRE(larch_art_put(tree, k, sc->klen, 0, NULL) == LARCH_OK);
        atomic_store(&sc->increments[i], 0);
    }
    atomic_store(&updaters_done, 0);
    pthread_t u[UPDATERS], c, r;
    for (uintptr_t i = 0; i < UPDATERS; i++)
        pthread_create(&u[i], NULL, sc->updater, (void *)(i + 1));
    pthread_create(&c, NULL, sc->churn, NULL);
    pthread_create(&r, NULL, sc->reader, NULL);
    long bad = 0;
    void *res;
    for (int i = 0; i < UPDATERS; i++) {
        pthread_join(u[i], &res);
        bad += (long)(intptr_t)res;
    }
    pthread_join(c, NULL);
    pthread_join(r, &res);
    CHECK_EQ((long)(intptr_t)res, 0);
    CHECK_EQ(bad, 0);
    long lost = 0;
    for (unsigned i = 0; i < sc->counters; i++) {
        uint64_t v = 0;
        sc->key(i, k);
        CHECK_EQ(larch_art_get(tree, k, sc->klen, &v), LARCH_OK);
        lost += (long)atomic_load(&sc->increments[i]) - (long)v;
    }
    CHECK_EQ(lost, 0);
    CHECK_EQ(larch_art_len(tree), sc->counters);
    CHECK_EQ(larch_art_check(tree, stderr), LARCH_OK);
    larch_art_free(tree);
    larch__art_optimistic_attempts = 16;
}

static void run(unsigned attempts) {
    const struct scenario sc = {COUNTERS, 4, counter_key, increments, updater, churn, reader};
    run_scenario(&sc, attempts);
}

static void bucket_counters_optimistic(void) {
    run(16);
}

static void bucket_counters_mixed(void) {
    run(1);
}

static void bucket_counters_locked(void) {
    run(0);
}

/* ---- leaf <-> pair <-> node: counters that are leaves, turned into buckets of
 * two by a key of their length, into nodes by a key of another, and folded back. */

enum { LEAF_COUNTERS = 8 };
static atomic_long leaf_increments[LEAF_COUNTERS];

static void leaf_counter_key(unsigned i, unsigned char *k) {
    k[0] = 'P', k[1] = (unsigned char)(16 * i), k[2] = 'x';
}

static void *leaf_updater(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    long ops = (under_sanitizer() ? 3000 : 200000) * stress_scale(), bad = 0;
    unsigned char k[3];
    for (long n = 0; n < ops; n++) {
        seed = seed * 1103515245u + 12345u;
        unsigned i = (seed >> 16) % LEAF_COUNTERS;
        leaf_counter_key(i, k);
        bad += increment(k, 3, n & 1);
        atomic_fetch_add(&leaf_increments[i], 1);
    }
    atomic_fetch_add(&updaters_done, 1);
    return (void *)(intptr_t)bad;
}

static void *leaf_churn(void *arg) {
    (void)arg;
    long rounds = 0;
    unsigned char k[4];
    while (atomic_load(&updaters_done) < UPDATERS || rounds < 3) {
        for (unsigned i = 0; i < LEAF_COUNTERS; i++) {
            k[0] = 'P', k[1] = (unsigned char)(16 * i);
            k[2] = 'y';
            larch_art_put(tree, k, 3, 1, NULL); /* a pair */
            if (rounds % 2)
                larch_art_del(tree, k, 3, NULL); /* a bucket of one */
            k[2] = 'z', k[3] = 'z';
            larch_art_put(tree, k, 4, 1, NULL); /* a node over leaves (or buckets) */
            larch_art_del(tree, k, 4, NULL);
            k[2] = 'y';
            larch_art_del(tree, k, 3, NULL); /* folded back to a leaf */
        }
        rounds++;
    }
    if (getenv("REVIEW_VERBOSE"))
        fprintf(stderr, "leaf churn rounds %ld\n", rounds);
    return NULL;
}

static void *leaf_reader(void *arg) {
    (void)arg;
    long bad = 0;
    uint64_t last[LEAF_COUNTERS] = {0};
    unsigned char k[3];
    while (atomic_load(&updaters_done) < UPDATERS) {
        for (unsigned i = 0; i < LEAF_COUNTERS; i++) {
            uint64_t v = 0;
            leaf_counter_key(i, k);
            if (larch_art_get(tree, k, 3, &v) != LARCH_OK || v < last[i]) {
                bad++;
                continue;
            }
            last[i] = v;
        }
    }
    return (void *)(intptr_t)bad;
}

static void run_leaves(unsigned attempts) {
    const struct scenario sc = {LEAF_COUNTERS, 3,          leaf_counter_key, leaf_increments,
                                leaf_updater,  leaf_churn, leaf_reader};
    run_scenario(&sc, attempts);
}

static void leaf_counters_optimistic(void) {
    run_leaves(16);
}

static void leaf_counters_mixed(void) {
    run_leaves(1);
}

int main(void) {
    RUN(leaf_counters_optimistic);
    RUN(leaf_counters_mixed);
    RUN(bucket_counters_optimistic);
    RUN(bucket_counters_mixed);
    RUN(bucket_counters_locked);
    return harness_finish();
}
