/* Leaves switching between the fixed and the slotted format under readers: a
 * writer keeps adding and removing keys of 5 and 9 bytes (a prefix of a stable
 * 8-byte key, and one with a zero byte appended, so they land in the same leaves
 * and share the stable key's word), another churns 8-byte keys, so leaves turn
 * slotted, split, merge and turn fixed again while readers get, scan and iterate. */
#include <larch/btree.h>

#include <pthread.h>

#include "harness.h"

enum { KEYS = 4000, STABLE_EVERY = 4 };

static larch_btree *tree;
static atomic_int stop;

/* Key n: its bytes spread over the word, so that prefixes of it differ. */
static size_t key_of(uint64_t n, size_t len, unsigned char *out) {
    uint64_t w = n << 44 | n << 20 | n;
    memset(out, 0, len);
    for (size_t i = 0; i < len && i < 8; i++)
        out[i] = (unsigned char)(w >> (56 - 8 * i));
    return len;
}

static uint64_t number_of(const unsigned char *key) {
    uint64_t w = 0;
    for (int i = 0; i < 8; i++)
        w = w << 8 | key[i];
    return w & 0xfffff;
}

/* At most INTRUDERS short or long keys at a time, so that a leaf rebuilt by a split
 * or merge after its intruder left takes the fixed format again. */
enum { INTRUDERS = 4 };

static void *churn_lengths(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    unsigned char k[16];
    uint64_t alive[INTRUDERS] = {0};
    size_t alive_len[INTRUDERS] = {0};
    for (unsigned i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
        unsigned slot = i % INTRUDERS;
        if (alive_len[slot])
            larch_btree_del(tree, k, key_of(alive[slot], alive_len[slot], k), NULL);
        alive[slot] = test_rand(&rng) % KEYS;
        alive_len[slot] = test_rand(&rng) % 2 ? 5 : 9;
        larch_btree_put(tree, k, key_of(alive[slot], alive_len[slot], k), ~alive[slot], NULL);
    }
    return NULL;
}

static void *churn_words(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    unsigned char k[8];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t n = test_rand(&rng) % KEYS;
        if (n % STABLE_EVERY == 0)
            continue;
        if (test_rand(&rng) % 2)
            larch_btree_put(tree, k, key_of(n, 8, k), n, NULL);
        else
            larch_btree_del(tree, k, key_of(n, 8, k), NULL);
    }
    return NULL;
}

struct scan_state {
    unsigned char prev[16];
    size_t prev_len;
    long seen, stable, bad;
};

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

/* Every entry: ascending, a length the writers use, the value its key implies. */
static long bad_entry(struct scan_state *s, const unsigned char *key, size_t len, uint64_t val) {
    long bad = len != 5 && len != 8 && len != 9;
    if (!bad) {
        uint64_t n = len == 5 ? 0 : number_of(key);
        bad += len == 8 ? val != n : len == 9 ? val != ~n : 0;
    }
    bad += s->seen && key_cmp(s->prev, s->prev_len, key, len) >= 0;
    if (len <= sizeof s->prev) {
        memcpy(s->prev, key, len);
        s->prev_len = len;
    }
    s->seen++;
    s->stable += len == 8 && number_of(key) % STABLE_EVERY == 0;
    return bad;
}

static int see(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_state *s = ctx;
    s->bad += bad_entry(s, key, len, val);
    return 0;
}

static void *read_all_ways(void *arg) {
    long rounds = (long)(intptr_t)arg, bad = 0;
    larch_btree_iter *it = larch_btree_iter_new(tree);
    unsigned char k[16];
    const long stable = (KEYS + STABLE_EVERY - 1) / STABLE_EVERY;
    for (long r = 0; r < rounds; r++) {
        for (uint64_t n = (uint64_t)r % 7 * STABLE_EVERY; n < KEYS; n += STABLE_EVERY * 7) {
            uint64_t v = 0;
            bad += larch_btree_get(tree, k, key_of(n, 8, k), &v) != LARCH_OK || v != n;
        }
        struct scan_state s = {{0}, 0, 0, 0, 0};
        larch_btree_scan(tree, NULL, 0, NULL, 0, see, &s);
        bad += s.bad + (s.stable != stable);
        struct scan_state b = {{0}, 0, 0, 0, 0};
        for (larch_btree_iter_seek(it, k, key_of((uint64_t)r * 13 % KEYS, 9, k));
             larch_btree_iter_valid(it) && b.seen < 300; larch_btree_iter_next(it)) {
            size_t len;
            const unsigned char *key = larch_btree_iter_key(it, &len);
            b.bad += bad_entry(&b, key, len, larch_btree_iter_value(it));
        }
        bad += b.bad;
    }
    larch_btree_iter_free(it);
    return (void *)(intptr_t)bad;
}

static void leaves_switch_formats_under_readers(void) {
    tree = larch_btree_new();
    REQUIRE(tree != NULL);
    unsigned char k[8];
    for (uint64_t n = 0; n < KEYS; n++)
        larch_btree_put(tree, k, key_of(n, 8, k), n, NULL);
    atomic_store(&stop, 0);
    long rounds = (under_sanitizer() ? 100 : 1000) * stress_scale();
    pthread_t w[2], r[2];
    pthread_create(&w[0], NULL, churn_lengths, (void *)(uintptr_t)1);
    pthread_create(&w[1], NULL, churn_words, (void *)(uintptr_t)2);
    for (int i = 0; i < 2; i++)
        pthread_create(&r[i], NULL, read_all_ways, (void *)(intptr_t)rounds);
    long bad = 0;
    for (int i = 0; i < 2; i++) {
        void *res;
        pthread_join(r[i], &res);
        bad += (long)(intptr_t)res;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    CHECK_EQ(bad, 0);
    CHECK_EQ(larch_btree_check(tree, stderr), LARCH_OK);
    larch_btree_free(tree);
}

int main(void) {
    RUN(leaves_switch_formats_under_readers);
    return harness_finish();
}
