/* The readers' fallback path (lock coupling from the root, taken after repeated
 * failed validations) gives the same answers as the optimistic one: here every
 * get, scan and iterator read takes it from the first attempt, while writers split
 * and merge nodes under them. */
#include <larch/btree.h>

#include <pthread.h>

#include "btree/tree.h"
#include "harness.h"

enum { KEYS = 3000, STABLE_EVERY = 3 };

static larch_btree *tree;
static atomic_int stop;

static size_t key_of(uint64_t n, unsigned char *out) {
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(n >> (56 - 8 * i));
    return 8;
}

/* Keys that are multiples of STABLE_EVERY stay put; the others come and go. */
static void *churn(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    unsigned char k[8];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t n = test_rand(&rng) % KEYS;
        if (n % STABLE_EVERY == 0)
            continue;
        if (test_rand(&rng) % 2)
            larch_btree_put(tree, k, key_of(n, k), n, NULL);
        else
            larch_btree_del(tree, k, key_of(n, k), NULL);
    }
    return NULL;
}

struct scan_state {
    uint64_t prev, stable_seen;
    long bad;
};

static int see(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_state *s = ctx;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++)
        n = n << 8 | ((const unsigned char *)key)[i];
    s->bad += len != 8 || val != n || (s->stable_seen + s->prev > 0 && n <= s->prev);
    s->stable_seen += n % STABLE_EVERY == 0;
    s->prev = n;
    return 0;
}

static void *read_all_ways(void *arg) {
    long rounds = (long)(intptr_t)arg, bad = 0;
    larch_btree_iter *it = larch_btree_iter_new(tree);
    unsigned char k[8];
    for (long r = 0; r < rounds; r++) {
        uint64_t n = (uint64_t)r * 7 % KEYS / STABLE_EVERY * STABLE_EVERY, v = 0;
        bad += larch_btree_get(tree, k, key_of(n, k), &v) != LARCH_OK || v != n;
        struct scan_state s = {0, 0, 0};
        larch_btree_scan(tree, NULL, 0, NULL, 0, see, &s);
        bad += s.bad + (s.stable_seen != (KEYS + STABLE_EVERY - 1) / STABLE_EVERY);
        long stable = 0;
        for (larch_btree_iter_seek_last(it); larch_btree_iter_valid(it);
             larch_btree_iter_prev(it)) {
            size_t len;
            const unsigned char *key = larch_btree_iter_key(it, &len);
            stable += len == 8 && ((uint64_t)key[6] << 8 | key[7]) % STABLE_EVERY == 0;
        }
        bad += stable != (KEYS + STABLE_EVERY - 1) / STABLE_EVERY;
    }
    larch_btree_iter_free(it);
    return (void *)(intptr_t)bad;
}

static void every_read_on_the_locked_path_matches_the_contract(void) {
    larch__bt_optimistic_attempts = 0;
    tree = larch_btree_new();
    REQUIRE(tree != NULL);
    unsigned char k[8];
    for (uint64_t n = 0; n < KEYS; n++)
        larch_btree_put(tree, k, key_of(n, k), n, NULL);
    atomic_store(&stop, 0);
    long rounds = (under_sanitizer() ? 30 : 300) * stress_scale();
    pthread_t w[2], r[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, churn, (void *)(uintptr_t)(i + 1));
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
    larch__bt_optimistic_attempts = 16;
}

int main(void) {
    RUN(every_read_on_the_locked_path_matches_the_contract);
    return harness_finish();
}
