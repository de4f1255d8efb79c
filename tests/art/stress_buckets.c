/* One bucket grows through its size classes, bursts into a node over buckets and
 * shrinks back, over and over, while readers look up, scan and iterate its keys:
 * the keys that stay put are always found, with their values, in order, and no
 * key ever shows a value it never had. Run optimistic, lock-coupled, and mixed;
 * every fifth round a key of another length rebuilds the bucket into nodes. */
#include <larch/art.h>

#include <pthread.h>
#include <string.h>

#include "art/tree.h"
#include "harness.h"

enum { KEYS = 320, STABLE_EVERY = 40 };

static larch_art *tree;
static atomic_int writers_done;

/* Key i: "Q", then i as two big-endian bytes spread over the next byte, then i's
 * low byte again: four bytes, all in the bucket under 'Q'. */
static void key_of(unsigned i, unsigned char *k) {
    unsigned x = i * 205 % 65536;
    k[0] = 'Q';
    k[1] = (unsigned char)(x >> 8);
    k[2] = (unsigned char)x;
    k[3] = (unsigned char)i;
}

static unsigned index_of(const unsigned char *k) {
    unsigned x = (unsigned)k[1] << 8 | k[2];
    for (unsigned i = k[3]; i < KEYS; i += 256)
        if (i * 205 % 65536 == x)
            return i;
    return KEYS;
}

static void *churn(void *arg) {
    unsigned w = (unsigned)(uintptr_t)arg & 0xff, n = (unsigned)(uintptr_t)arg >> 8;
    long rounds = (under_sanitizer() ? 100 : 2000) * stress_scale();
    unsigned char k[4];
    for (long r = 0; r < rounds; r++) {
        for (unsigned i = w; i < KEYS; i += n)
            if (i % STABLE_EVERY) {
                key_of(i, k);
                larch_art_put(tree, k, 4, i, NULL);
            }
        if (w == 0 && r % 5 == 0)
            larch_art_put(tree, "Q\x01\x02", 3, 7, NULL); /* another length */
        for (unsigned i = w; i < KEYS; i += n)
            if (i % STABLE_EVERY) {
                key_of(i, k);
                larch_art_del(tree, k, 4, NULL);
            }
        if (w == 0)
            larch_art_del(tree, "Q\x01\x02", 3, NULL);
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

struct seen {
    const unsigned char *prev;
    unsigned char prev_key[4];
    size_t prev_len;
    long bad, stable;
    int dir;
};

static void see(struct seen *s, const unsigned char *key, size_t len, uint64_t val) {
    if (len == 3) {
        s->bad += memcmp(key, "Q\x01\x02", 3) != 0 || val != 7;
    } else {
        unsigned i = len == 4 ? index_of(key) : KEYS;
        s->bad += i >= KEYS || val != i;
        s->stable += i < KEYS && i % STABLE_EVERY == 0;
    }
    if (s->prev) {
        size_t m = len < s->prev_len ? len : s->prev_len;
        int c = memcmp(s->prev_key, key, m);
        c = c ? c : (s->prev_len > len) - (s->prev_len < len);
        s->bad += c * s->dir >= 0; /* strictly in the walk's order */
    }
    memcpy(s->prev_key, key, len < 4 ? len : 4);
    s->prev_len = len;
    s->prev = s->prev_key;
}

static int scan_see(void *ctx, const void *key, size_t len, uint64_t val) {
    see(ctx, key, len, val);
    return 0;
}

static void *read_all_ways(void *arg) {
    int writers = (int)(intptr_t)arg;
    long bad = 0, reads = 0;
    larch_art_iter *it = larch_art_iter_new(tree);
    unsigned char k[4];
    while (atomic_load(&writers_done) < writers || reads < 10) {
        reads++;
        for (unsigned i = 0; i < KEYS; i += 3) {
            uint64_t v = 0;
            key_of(i, k);
            int rc = larch_art_get(tree, k, 4, &v);
            bad += i % STABLE_EVERY == 0 ? rc != LARCH_OK || v != i : rc == LARCH_OK && v != i;
        }
        struct seen s = {.dir = 1};
        larch_art_scan(tree, "Q", 1, "R", 1, scan_see, &s);
        bad += s.bad + (s.stable != KEYS / STABLE_EVERY);
        struct seen f = {.dir = 1}, r = {.dir = -1};
        key_of(KEYS / 2, k);
        for (larch_art_iter_seek(it, "Q", 1); larch_art_iter_valid(it); larch_art_iter_next(it)) {
            size_t len;
            const unsigned char *key = larch_art_iter_key(it, &len);
            see(&f, key, len, larch_art_iter_value(it));
        }
        for (larch_art_iter_seek_for_prev(it, "Q\xff\xff\xff", 4); larch_art_iter_valid(it);
             larch_art_iter_prev(it)) {
            size_t len;
            const unsigned char *key = larch_art_iter_key(it, &len);
            see(&r, key, len, larch_art_iter_value(it));
        }
        bad +=
            f.bad + r.bad + (f.stable != KEYS / STABLE_EVERY) + (r.stable != KEYS / STABLE_EVERY);
    }
    larch_art_iter_free(it);
    return (void *)(intptr_t)bad;
}

static void run(unsigned attempts) {
    larch__art_optimistic_attempts = attempts;
    tree = larch_art_new();
    REQUIRE(tree != NULL);
    unsigned char k[4];
    for (unsigned i = 0; i < KEYS; i += STABLE_EVERY) {
        key_of(i, k);
        larch_art_put(tree, k, 4, i, NULL);
    }
    atomic_store(&writers_done, 0);
    enum { WRITERS = 2, READERS = 2 };
    pthread_t w[WRITERS], r[READERS];
    for (uintptr_t i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, churn, (void *)(i | WRITERS << 8));
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, read_all_ways, (void *)(intptr_t)WRITERS);
    long bad = 0;
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    for (int i = 0; i < READERS; i++) {
        void *res;
        pthread_join(r[i], &res);
        bad += (long)(intptr_t)res;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(larch_art_len(tree), KEYS / STABLE_EVERY);
    CHECK_EQ(larch_art_check(tree, stderr), LARCH_OK);
    larch_art_free(tree);
    larch__art_optimistic_attempts = 16;
}

static void a_bucket_bursts_and_shrinks_under_optimistic_readers(void) {
    run(16);
}

static void a_bucket_bursts_and_shrinks_with_every_operation_lock_coupled(void) {
    run(0);
}

static void a_bucket_bursts_and_shrinks_with_optimistic_and_locked_operations_mixed(void) {
    run(1);
}

int main(void) {
    RUN(a_bucket_bursts_and_shrinks_under_optimistic_readers);
    RUN(a_bucket_bursts_and_shrinks_with_every_operation_lock_coupled);
    RUN(a_bucket_bursts_and_shrinks_with_optimistic_and_locked_operations_mixed);
    return harness_finish();
}
