/* Readers at fixed snapshots while writers run. Writers take chunks of seqs of the
 * deterministic schedule (memtable_test.h) from a shared counter and write each
 * chunk backwards, so seqs are published out of order; after each write they mark
 * the seq done. A reader's watermark W is a seq below which every seq is done:
 * every version <= W is published, so what a read at snapshot W returns is known
 * exactly (the reference at W) and must never change, however the writers go on.
 * Readers check gets at their snapshot (and that a repeated get hands out the same
 * pointer), windows of iteration in every mode at their snapshot, forward and
 * backward, and iterator passes at UINT64_MAX against the contract: entries
 * strictly in flush order, each one a real version. */
#include "memtable_test.h"

#define WRITERS 2
#define READERS 2
#define CHUNK 8

static larch_memtable *m;
static struct ref ref;
static uint64_t total;
static _Atomic uint64_t next_seq;
static _Atomic unsigned char *done; /* per seq: 1 once its write returned */
static atomic_int writers_left;
static atomic_long failures;
static atomic_long rounds_during_writes, snapshots_below_total;

static void fail(const char *what, uint64_t snap) {
    if (atomic_fetch_add(&failures, 1) < 10)
        fprintf(stderr, "  %s (snapshot %llu)\n", what, (unsigned long long)snap);
}

static void *writer_main(void *arg) {
    (void)arg;
    for (;;) {
        uint64_t first = atomic_fetch_add(&next_seq, CHUNK);
        if (first > total)
            break;
        for (uint64_t s = first + CHUNK; s-- > first;) {
            if (s > total)
                continue;
            if (sched_write(m, s) != LARCH_OK)
                fail("a write failed", s);
            /* release: pairs with the acquire in advance; a reader that sees the
             * mark sees the write's effects (through the memtable's own ordering
             * too, but the test must not rely on what it tests). */
            atomic_store_explicit(&done[s], 1, memory_order_release);
        }
    }
    atomic_fetch_sub(&writers_left, 1);
    return NULL;
}

/* The greatest W >= w such that every seq <= W is done. */
static uint64_t advance(uint64_t w) {
    while (w < total && atomic_load_explicit(&done[w + 1], memory_order_acquire))
        w++;
    return w;
}

/* Gets at snap agree with the reference, and a repeated get returns the very same
 * pointer. */
static void check_gets(uint64_t snap, uint64_t *rng) {
    for (int i = 0; i < 64; i++) {
        unsigned char key[16];
        size_t klen = sched_key(1 + test_rand(rng) % total, key);
        if (!get_matches(m, &ref, key, klen, snap))
            fail("a get at a published snapshot differs from the reference", snap);
        const void *a = NULL, *b = NULL;
        int ra = larch_memtable_get(m, key, klen, snap, &a, NULL, NULL);
        int rb = larch_memtable_get(m, key, klen, snap, &b, NULL, NULL);
        if (ra != rb || a != b)
            fail("a repeated get at a published snapshot changed", snap);
    }
}

/* A window of up to 64 entries from a random key, forward and backward, must be
 * exactly the reference's. */
static void check_window(uint64_t snap, int flags, uint64_t *rng, size_t *want) {
    larch_memtable_iter *it = larch_memtable_iter_new(m, snap, flags);
    if (!it) {
        fail("iter_new failed", snap);
        return;
    }
    unsigned char key[16];
    size_t klen = sched_key(1 + test_rand(rng) % total, key);
    for (int backward = 0; backward < 2; backward++) {
        size_t n = ref_window(&ref, key, klen, snap, flags, backward, 64, want), i = 0;
        if (backward)
            larch_memtable_iter_seek_for_prev(it, key, klen);
        else
            larch_memtable_iter_seek(it, key, klen);
        for (; i < n && entry_is(it, &ref.v[want[i]]); i++)
            if (backward)
                larch_memtable_iter_prev(it);
            else
                larch_memtable_iter_next(it);
        if (i < n || (n < 64 && larch_memtable_iter_valid(it)))
            fail(backward ? "a backward window differs from the reference"
                          : "a forward window differs from the reference",
                 snap);
    }
    larch_memtable_iter_free(it);
}

/* A pass at UINT64_MAX while writers run: strictly in flush order, every entry a
 * version of the schedule with its own bytes. */
static void check_live_pass(bool backward) {
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    if (!it) {
        fail("iter_new failed", UINT64_MAX);
        return;
    }
    unsigned char prev_key[16], key[16], val[48];
    size_t prev_len = 0;
    uint64_t prev_seq = 0;
    bool first = true;
    if (backward)
        larch_memtable_iter_seek_last(it);
    else
        larch_memtable_iter_seek_first(it);
    for (; larch_memtable_iter_valid(it);
         backward ? larch_memtable_iter_prev(it) : larch_memtable_iter_next(it)) {
        size_t klen, vlen;
        const void *k = larch_memtable_iter_key(it, &klen);
        const void *v = larch_memtable_iter_value(it, &vlen);
        uint64_t s = larch_memtable_iter_seq(it);
        if (s < 1 || s > total || klen != sched_key(s, key) || memcmp(k, key, klen) ||
            larch_memtable_iter_is_tombstone(it) != sched_tombstone(s) ||
            (v && (vlen != sched_value(s, val) || memcmp(v, val, vlen)))) {
            fail("a live pass returned a version that was never written", s);
            break;
        }
        if (!first) {
            int c = key_cmp(prev_key, prev_len, k, klen);
            bool in_order =
                backward ? c > 0 || (c == 0 && prev_seq < s) : c < 0 || (c == 0 && prev_seq > s);
            if (!in_order) {
                fail("a live pass is out of order", s);
                break;
            }
        }
        first = false;
        memcpy(prev_key, k, klen);
        prev_len = klen;
        prev_seq = s;
    }
    if (larch_memtable_iter_status(it) != LARCH_OK)
        fail("a live pass ended on an error", UINT64_MAX);
    larch_memtable_iter_free(it);
}

struct reader {
    uint64_t seed;
};

static void *reader_main(void *arg) {
    const struct reader *rd = arg;
    uint64_t rng = rd->seed, w = 0;
    size_t *want = xmalloc((ref.n + 1) * sizeof *want);
    static const int modes[] = {0, LARCH_ITER_TOMBSTONES, LARCH_ITER_ALL_VERSIONS};
    long rounds = 0;
    while (atomic_load(&writers_left) > 0 || rounds < 3) {
        w = advance(w);
        /* The watermark itself, or an older snapshot: both are fully published. */
        uint64_t snap = test_rand(&rng) % 4 == 0 && w ? test_rand(&rng) % w : w;
        if (atomic_load(&writers_left) > 0) {
            atomic_fetch_add(&rounds_during_writes, 1);
            snapshots_below_total += snap < total;
        }
        check_gets(snap, &rng);
        check_window(snap, modes[rounds % 3], &rng, want);
        if (rounds % 64 == 0)
            check_live_pass(rounds % 128 == 0);
        rounds++;
    }
    free(want);
    return NULL;
}

static void test_readers_at_published_snapshots(void) {
    total = (uint64_t)(under_sanitizer() ? 20000 : 150000) * (uint64_t)stress_scale();
    done = calloc(total + 1, sizeof *done);
    REQUIRE(done);
    memset(&ref, 0, sizeof ref);
    sched_reference(&ref, total);
    m = mt_new();
    REQUIRE(m);
    atomic_store(&next_seq, 1);
    atomic_store(&writers_left, WRITERS);
    atomic_store(&failures, 0);
    atomic_store(&rounds_during_writes, 0);
    atomic_store(&snapshots_below_total, 0);
    struct reader rd[READERS];
    for (int i = 0; i < READERS; i++)
        rd[i].seed = 1000 + (uint64_t)i;
    /* Writers and readers together: run_threads takes one function, so start the
     * writers on their own threads first. */
    pthread_t writers[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        REQUIRE(pthread_create(&writers[i], NULL, writer_main, NULL) == 0);
    run_threads(READERS, reader_main, rd, sizeof rd[0]);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(writers[i], NULL);
    CHECK_EQ(atomic_load(&failures), 0);
    fprintf(stderr, "    %ld reader rounds while writers ran, %ld of them below the end\n",
            atomic_load(&rounds_during_writes), atomic_load(&snapshots_below_total));
    CHECK(atomic_load(&snapshots_below_total) > 0);
    CHECK_EQ(larch_memtable_len(m), total);
    CHECK(iteration_matches(m, &ref, UINT64_MAX, LARCH_ITER_ALL_VERSIONS));
    larch_memtable_free(m);
    ref_free(&ref);
    free((void *)done);
}

int main(void) {
    FOR_EACH_MEMTABLE_INDEX {
        RUN(test_readers_at_published_snapshots);
    }
    return harness_finish();
}
