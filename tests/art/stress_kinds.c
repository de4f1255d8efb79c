/* One node grows Node4 -> 16 -> 48 -> 256 and shrinks back, over and over, while
 * readers look up, scan and iterate its children: the keys that stay put are
 * always found, with their values, in order, and no key ever shows a value it
 * never had. Run three ways: optimistic, every operation on the lock-coupling
 * fallback path, and the fallback taken after one failed attempt (both kinds of
 * operation mixed on the same nodes). */
#include <larch/art.h>

#include <pthread.h>

#include "art/tree.h"
#include "harness.h"

enum { STABLE_EVERY = 64, SUFFIX = 12 };

static larch_art *tree;
static atomic_int writers_done;

/* Key for byte b: "Q" b, then (for odd b) a suffix, so that some children are
 * leaves and some hang deeper behind prefixes. */
static size_t key_of(unsigned b, unsigned char *k) {
    k[0] = 'Q';
    k[1] = (unsigned char)b;
    if (!(b & 1))
        return 2;
    for (int i = 0; i < SUFFIX; i++)
        k[2 + i] = (unsigned char)(b + i);
    return 2 + SUFFIX;
}

/* Writer w of n churns the bytes b with b % n == w that are not stable. */
static void *churn(void *arg) {
    unsigned w = (unsigned)(uintptr_t)arg & 0xff, n = (unsigned)(uintptr_t)arg >> 8;
    long rounds = (under_sanitizer() ? 100 : 1000) * stress_scale();
    unsigned char k[2 + SUFFIX];
    for (long r = 0; r < rounds; r++) {
        for (unsigned b = w; b < 256; b += n)
            if (b % STABLE_EVERY)
                larch_art_put(tree, k, key_of(b, k), b, NULL);
        for (unsigned b = w; b < 256; b += n)
            if (b % STABLE_EVERY)
                larch_art_del(tree, k, key_of(b, k), NULL);
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

struct seen {
    int prev; /* last byte seen, -1 before the first */
    long bad, stable;
};

static void see(struct seen *s, const unsigned char *key, size_t len, uint64_t val, int dir) {
    unsigned b = len >= 2 ? key[1] : 0;
    unsigned char want[2 + SUFFIX];
    size_t wlen = key_of(b, want);
    s->bad += len != wlen || memcmp(key, want, len) != 0 || val != b;
    s->bad += s->prev >= 0 && (dir > 0 ? (int)b <= s->prev : (int)b >= s->prev);
    s->prev = (int)b;
    s->stable += b % STABLE_EVERY == 0;
}

static int scan_see(void *ctx, const void *key, size_t len, uint64_t val) {
    see(ctx, key, len, val, 1);
    return 0;
}

static void *read_all_ways(void *arg) {
    int writers = (int)(intptr_t)arg;
    long bad = 0, reads = 0;
    larch_art_iter *it = larch_art_iter_new(tree);
    unsigned char k[2 + SUFFIX];
    while (atomic_load(&writers_done) < writers || reads < 10) {
        reads++;
        for (unsigned b = 0; b < 256; b += 7) {
            uint64_t v = 0;
            int rc = larch_art_get(tree, k, key_of(b, k), &v);
            bad += b % STABLE_EVERY == 0 ? rc != LARCH_OK || v != b : rc == LARCH_OK && v != b;
        }
        struct seen s = {-1, 0, 0};
        larch_art_scan(tree, "Q", 1, "R", 1, scan_see, &s);
        bad += s.bad + (s.stable != 256 / STABLE_EVERY);
        struct seen f = {-1, 0, 0}, r = {-1, 0, 0};
        for (larch_art_iter_seek(it, "Q", 1); larch_art_iter_valid(it); larch_art_iter_next(it)) {
            size_t len;
            const unsigned char *key = larch_art_iter_key(it, &len);
            see(&f, key, len, larch_art_iter_value(it), 1);
        }
        for (larch_art_iter_seek_for_prev(it, "Q\xff\xff", 3); larch_art_iter_valid(it);
             larch_art_iter_prev(it)) {
            size_t len;
            const unsigned char *key = larch_art_iter_key(it, &len);
            see(&r, key, len, larch_art_iter_value(it), -1);
        }
        bad += f.bad + r.bad + (f.stable != 256 / STABLE_EVERY) + (r.stable != 256 / STABLE_EVERY);
    }
    larch_art_iter_free(it);
    return (void *)(intptr_t)bad;
}

static void run(unsigned attempts) {
    larch__art_optimistic_attempts = attempts;
    tree = larch_art_new();
    REQUIRE(tree != NULL);
    unsigned char k[2 + SUFFIX];
    for (unsigned b = 0; b < 256; b += STABLE_EVERY)
        larch_art_put(tree, k, key_of(b, k), b, NULL);
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
    CHECK_EQ(larch_art_len(tree), 256 / STABLE_EVERY);
    CHECK_EQ(larch_art_check(tree, stderr), LARCH_OK);
    /* The churned node shrank back: its four stable keys are left in a Node16
     * (which shrinks only at three) or a Node4. */
    uintptr_t q = art_slot_load(art_find_child(tree->root, 'Q'));
    CHECK(q && !art_is_leaf(q) && art_node_of(q)->kind <= ART_NODE16);
    larch_art_free(tree);
    larch__art_optimistic_attempts = 16;
}

static void kinds_change_under_optimistic_readers(void) {
    run(16);
}

static void kinds_change_with_every_operation_lock_coupled(void) {
    run(0);
}

static void kinds_change_with_optimistic_and_locked_operations_mixed(void) {
    run(1);
}

/* The root is a Node256 that is never replaced: two writers taking its last free
 * slot and giving it back race on a count that swings between 255 and 256, and
 * neither may take the root for a node that must grow. */
static void *fill_and_empty_the_roots_last_slot(void *arg) {
    (void)arg;
    uint8_t k = 0;
    long rounds = (under_sanitizer() ? 20000 : 200000) * stress_scale();
    for (long i = 0; i < rounds; i++) {
        larch_art_put(tree, &k, 1, (uint64_t)i, NULL);
        larch_art_del(tree, &k, 1, NULL);
    }
    return NULL;
}

static void the_roots_last_slot_comes_and_goes_under_two_writers(void) {
    tree = larch_art_new();
    REQUIRE(tree != NULL);
    for (unsigned b = 1; b < 256; b++) {
        uint8_t k = (uint8_t)b;
        larch_art_put(tree, &k, 1, b, NULL);
    }
    pthread_t w[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, fill_and_empty_the_roots_last_slot, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    CHECK_EQ(larch_art_len(tree), 255);
    CHECK_EQ(larch_art_check(tree, stderr), LARCH_OK);
    larch_art_free(tree);
}

int main(void) {
    RUN(kinds_change_under_optimistic_readers);
    RUN(kinds_change_with_every_operation_lock_coupled);
    RUN(kinds_change_with_optimistic_and_locked_operations_mixed);
    RUN(the_roots_last_slot_comes_and_goes_under_two_writers);
    return harness_finish();
}
