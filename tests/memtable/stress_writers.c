/* Concurrent writers with interleaved, out-of-order sequence numbers, checked
 * exactly afterwards. The versions of a deterministic schedule (memtable_test.h)
 * are dealt out in blocks of 16 seqs, block b to thread b % T, and each thread
 * writes its block backwards, so neighbouring seqs of a key arrive from different
 * threads in either order (11 before 10). Every thread also writes the blocks of
 * its neighbour, racing it for the same (key, seq): exactly one of the two
 * writers of each version must get LARCH_OK and the other LARCH_EXISTS.
 * Afterwards every version is there and in its place: len, every version in flush
 * order, gets at many snapshots, and iteration in every mode. A second test
 * makes four chains thousands of versions long, written at both ends and in the
 * middle by every thread at once, while passes in both directions run over them. */
#include "memtable_test.h"

#define BLOCK 16
#define THREADS 4

static larch_memtable *m;
static uint64_t total;
static _Atomic unsigned char *wins; /* per seq: writers that got LARCH_OK */
static atomic_long bad_status;

struct writer {
    int id;
};

static void write_block(uint64_t block) {
    for (uint64_t i = BLOCK; i-- > 0;) {
        uint64_t s = 1 + block * BLOCK + i;
        if (s > total)
            continue;
        int rc = sched_write(m, s);
        if (rc == LARCH_OK)
            atomic_fetch_add_explicit(&wins[s], 1, memory_order_relaxed);
        else if (rc != LARCH_EXISTS)
            atomic_fetch_add_explicit(&bad_status, 1, memory_order_relaxed);
    }
}

static void *writer_main(void *arg) {
    const struct writer *w = arg;
    uint64_t blocks = (total + BLOCK - 1) / BLOCK;
    for (uint64_t b = (uint64_t)w->id; b < blocks; b += THREADS) {
        write_block(b);
        /* The next thread's block of the same round, which it is writing now. */
        if (b + 1 < blocks && (b + 1) % THREADS != 0)
            write_block(b + 1);
    }
    return NULL;
}

static void check_result(struct ref *r) {
    long lost = 0, doubled = 0;
    for (uint64_t s = 1; s <= total; s++) {
        unsigned char n = atomic_load(&wins[s]);
        lost += n == 0;
        doubled += n > 1;
    }
    CHECK_EQ(lost, 0);
    CHECK_EQ(doubled, 0);
    CHECK_EQ(atomic_load(&bad_status), 0);
    CHECK_EQ(larch_memtable_len(m), total);
    CHECK(iteration_matches(m, r, UINT64_MAX, LARCH_ITER_ALL_VERSIONS));
    /* Every key at snapshots all over the range. */
    uint64_t rng = 5;
    long mismatches = 0;
    for (int i = 0; i < 20000; i++) {
        unsigned char key[16];
        size_t klen = sched_key(1 + test_rand(&rng) % total, key);
        uint64_t snap = test_rand(&rng) % (total + 2);
        mismatches += !get_matches(m, r, key, klen, snap);
    }
    CHECK_EQ(mismatches, 0);
    static const int modes[] = {0, LARCH_ITER_TOMBSTONES, LARCH_ITER_ALL_VERSIONS};
    for (int i = 0; i < 3; i++) {
        CHECK(iteration_matches(m, r, total / 3, modes[i]));
        CHECK(iteration_matches(m, r, UINT64_MAX, modes[i]));
    }
}

static void test_out_of_order_writers(void) {
    total = (uint64_t)(under_sanitizer() ? 40000 : 200000) * (uint64_t)stress_scale();
    wins = calloc(total + 1, sizeof *wins);
    REQUIRE(wins);
    atomic_store(&bad_status, 0);
    struct ref r = {0};
    sched_reference(&r, total);
    m = mt_new();
    REQUIRE(m);
    struct writer w[THREADS];
    for (int i = 0; i < THREADS; i++)
        w[i].id = i;
    run_threads(THREADS, writer_main, w, sizeof w[0]);
    check_result(&r);
    larch_memtable_free(m);
    ref_free(&r);
    free((void *)wins);
}

/* ---- hot keys: long chains written in the middle from every thread --------------- */

#define HOT_KEYS 4

static uint64_t hot_total;
static atomic_int hot_writers_left;

static size_t hot_key(uint64_t s, unsigned char *key) {
    /* "h", "h\0", "h\0\0", "hh": prefixes of each other */
    static const char *const keys[HOT_KEYS] = {"h", "h\0", "h\0\0", "hh"};
    static const size_t lens[HOT_KEYS] = {1, 2, 3, 2};
    memcpy(key, keys[s % HOT_KEYS], lens[s % HOT_KEYS]);
    return lens[s % HOT_KEYS];
}

static int hot_write(uint64_t s) {
    unsigned char key[4];
    size_t klen = hot_key(s, key);
    if (s % 5 == 0)
        return larch_memtable_del(m, key, klen, s);
    return larch_memtable_put(m, key, klen, s, &s, sizeof s);
}

/* Thread t writes seqs t+1, t+1+T, ...: even threads upwards, odd ones downwards,
 * so that every chain grows at both ends and in the middle at once. */
static void *hot_writer(void *arg) {
    const struct writer *w = arg;
    uint64_t count = hot_total / THREADS;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t k = w->id % 2 ? count - 1 - i : i;
        if (hot_write(1 + (uint64_t)w->id + k * THREADS) != LARCH_OK)
            atomic_fetch_add(&bad_status, 1);
    }
    atomic_fetch_sub(&hot_writers_left, 1);
    return NULL;
}

/* While they write: passes over every version in both directions must be strictly
 * in flush order (prev walks each chain from its head for the next newer version,
 * while versions are CASed in around it). */
static void *hot_checker(void *arg) {
    (void)arg;
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    if (!it)
        abort();
    while (atomic_load(&hot_writers_left) > 0) {
        for (int backward = 0; backward < 2; backward++) {
            const void *pk = NULL;
            size_t plen = 0;
            uint64_t pseq = 0;
            if (backward)
                larch_memtable_iter_seek_last(it);
            else
                larch_memtable_iter_seek_first(it);
            for (; larch_memtable_iter_valid(it);
                 backward ? larch_memtable_iter_prev(it) : larch_memtable_iter_next(it)) {
                size_t klen;
                const void *k = larch_memtable_iter_key(it, &klen);
                uint64_t seq = larch_memtable_iter_seq(it);
                if (pk) {
                    int c = key_cmp(pk, plen, k, klen);
                    bool ok = backward ? c > 0 || (c == 0 && pseq < seq)
                                       : c < 0 || (c == 0 && pseq > seq);
                    if (!ok)
                        atomic_fetch_add(&bad_status, 1);
                }
                unsigned char want[4];
                if (hot_key(seq, want) != klen || memcmp(want, k, klen))
                    atomic_fetch_add(&bad_status, 1);
                pk = k, plen = klen, pseq = seq;
            }
        }
    }
    larch_memtable_iter_free(it);
    return NULL;
}

static void test_hot_chains(void) {
    hot_total = (uint64_t)(under_sanitizer() ? 2000 : 8000) * (uint64_t)stress_scale();
    hot_total -= hot_total % THREADS;
    atomic_store(&bad_status, 0);
    atomic_store(&hot_writers_left, THREADS);
    m = mt_new();
    REQUIRE(m);
    pthread_t checker;
    REQUIRE(pthread_create(&checker, NULL, hot_checker, NULL) == 0);
    struct writer w[THREADS];
    for (int i = 0; i < THREADS; i++)
        w[i].id = i;
    run_threads(THREADS, hot_writer, w, sizeof w[0]);
    pthread_join(checker, NULL);
    CHECK_EQ(atomic_load(&bad_status), 0);
    CHECK_EQ(larch_memtable_len(m), hot_total);
    struct ref r = {0};
    for (uint64_t s = 1; s <= hot_total; s++) {
        unsigned char key[4];
        size_t klen = hot_key(s, key);
        ref_push(&r, key, klen, s, s % 5 == 0 ? NULL : &s, sizeof s);
    }
    CHECK(iteration_matches(m, &r, UINT64_MAX, LARCH_ITER_ALL_VERSIONS));
    CHECK(iteration_matches(m, &r, hot_total / 2, LARCH_ITER_ALL_VERSIONS));
    CHECK(iteration_matches(m, &r, hot_total / 3, LARCH_ITER_TOMBSTONES));
    ref_free(&r);
    larch_memtable_free(m);
}

int main(void) {
    larch__mt_arena_huge_after = 256 << 10; /* writers on huge blocks too (arena.h) */
    FOR_EACH_MEMTABLE_INDEX {
        RUN(test_out_of_order_writers);
        RUN(test_hot_chains);
    }
    return harness_finish();
}
