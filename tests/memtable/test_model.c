/* Model-based test: long runs of random puts, dels and gets at random snapshots,
 * each result compared with the reference memtable (memtable_test.h), and random
 * iterator walks (seeks, next, prev, turning around) in every mode at random
 * snapshots, each step compared with the reference's entry list. Writes made
 * during a walk carry seqs above the walk's snapshot, which must not change what
 * it sees. Keys come from small universes full of prefixes (the empty key, "a",
 * "a\0", ...); seqs from a small range, so that duplicates and out-of-order seqs
 * are common. Every run is deterministic; a failure prints its seed and step. */
#include "memtable_test.h"

struct run {
    uint64_t seed, rng;
    long step;
    larch_memtable *m;
    struct ref r;
    uint64_t max_seq;
    unsigned alphabet; /* key bytes are 0 .. alphabet-1, plus 0xFF */
    size_t max_klen;
    bool failed;
};

#define EXPECT(r, cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  seed %llu step %ld: ", (unsigned long long)(r)->seed, (r)->step);   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            CHECK(cond);                                                                           \
            (r)->failed = true;                                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static uint64_t below(struct run *r, uint64_t n) {
    return test_rand(&r->rng) % n;
}

static size_t random_key(struct run *r, unsigned char *key) {
    size_t len = (size_t)below(r, r->max_klen + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned b = (unsigned)below(r, r->alphabet + 1);
        key[i] = b == r->alphabet ? 0xFF : (unsigned char)b;
    }
    return len;
}

static uint64_t random_seq(struct run *r) {
    switch (below(r, 16)) {
    case 0:
        return 0;
    case 1:
        return UINT64_MAX;
    default:
        return 1 + below(r, r->max_seq);
    }
}

static void op_put(struct run *r, uint64_t seq) {
    unsigned char key[16], val[48];
    size_t klen = random_key(r, key), vlen = (size_t)below(r, sizeof val);
    for (size_t i = 0; i < vlen; i++)
        val[i] = (unsigned char)test_rand(&r->rng);
    bool tomb = below(r, 4) == 0;
    const void *arg = vlen == 0 && below(r, 2) ? NULL : val; /* NULL is fine at length 0 */
    int rc = tomb ? larch_memtable_del(r->m, key, klen, seq)
                  : larch_memtable_put(r->m, key, klen, seq, arg, vlen);
    int want = ref_add(&r->r, key, klen, seq, tomb ? NULL : val, vlen);
    EXPECT(r, rc == want, "%s of (%zu-byte key, seq %llu) returned %d, model %d",
           tomb ? "del" : "put", klen, (unsigned long long)seq, rc, want);
    EXPECT(r, larch_memtable_len(r->m) == r->r.n, "len %zu, model %zu", larch_memtable_len(r->m),
           r->r.n);
}

static void op_get(struct run *r) {
    unsigned char key[16];
    size_t klen = random_key(r, key);
    uint64_t snap = random_seq(r);
    EXPECT(r, get_matches(r->m, &r->r, key, klen, snap), "get of a %zu-byte key at %llu differs",
           klen, (unsigned long long)snap);
}

static const int modes[] = {0, LARCH_ITER_TOMBSTONES, LARCH_ITER_ALL_VERSIONS,
                            LARCH_ITER_ALL_VERSIONS | LARCH_ITER_TOMBSTONES};

/* Position in want[] (n entries) of the first entry with key >= k, or of the last
 * with key <= k (backward); -1 or n when there is none. */
static long model_seek(struct run *r, const size_t *want, size_t n, const unsigned char *k,
                       size_t klen, bool backward) {
    if (!backward) {
        long p = 0;
        while ((size_t)p < n && key_cmp(r->r.v[want[p]].key, r->r.v[want[p]].klen, k, klen) < 0)
            p++;
        return p;
    }
    long p = (long)n - 1;
    while (p >= 0 && key_cmp(r->r.v[want[p]].key, r->r.v[want[p]].klen, k, klen) > 0)
        p--;
    return p;
}

static void op_walk(struct run *r) {
    uint64_t snap = random_seq(r);
    int flags = modes[below(r, 4)];
    larch_memtable_iter *it = larch_memtable_iter_new(r->m, snap, flags);
    EXPECT(r, it != NULL, "iter_new failed");
    ref_sort(&r->r);
    size_t *want = xmalloc((r->r.n + 1) * sizeof *want);
    size_t n = ref_entries(&r->r, snap, flags, want);
    long p = -1; /* the model's position; -1 or n: invalid */
    bool valid_model = false;
    long moves = (long)below(r, 40);
    for (long i = 0; i < moves && !r->failed; i++) {
        unsigned char key[16];
        size_t klen;
        switch (below(r, 8)) {
        case 0:
            klen = random_key(r, key);
            larch_memtable_iter_seek(it, key, klen);
            p = model_seek(r, want, n, key, klen, false);
            valid_model = (size_t)p < n;
            break;
        case 1:
            klen = random_key(r, key);
            larch_memtable_iter_seek_for_prev(it, key, klen);
            p = model_seek(r, want, n, key, klen, true);
            valid_model = p >= 0;
            break;
        case 2:
            larch_memtable_iter_seek_first(it);
            p = 0;
            valid_model = n > 0;
            break;
        case 3:
            larch_memtable_iter_seek_last(it);
            p = (long)n - 1;
            valid_model = n > 0;
            break;
        case 4:
        case 5:
            larch_memtable_iter_next(it);
            if (valid_model)
                valid_model = (size_t)++p < n;
            break;
        default:
            if (snap < UINT64_MAX && below(r, 2)) {
                /* A write the walk's snapshot cannot see changes nothing for it; the
                 * entry list is rebuilt to keep its indexes into the sorted model. */
                size_t cur_key = valid_model ? want[p] : 0;
                struct ref_version cur = valid_model ? r->r.v[cur_key] : (struct ref_version){0};
                op_put(r, snap + 1 + below(r, 1000) % (UINT64_MAX - snap));
                ref_sort(&r->r);
                want = realloc(want, (r->r.n + 1) * sizeof *want);
                size_t again = ref_entries(&r->r, snap, flags, want);
                EXPECT(r, again == n, "a write above the snapshot changed the entry count");
                if (valid_model) {
                    p = 0;
                    while (ref_order(&r->r.v[want[p]], &cur) != 0)
                        p++;
                }
                continue;
            }
            larch_memtable_iter_prev(it);
            if (valid_model)
                valid_model = --p >= 0;
            break;
        }
        EXPECT(r, larch_memtable_iter_valid(it) == valid_model,
               "walk (snapshot %llu, flags %d) move %ld: valid %d, model %d",
               (unsigned long long)snap, flags, i, larch_memtable_iter_valid(it), valid_model);
        EXPECT(r, !valid_model || entry_is(it, &r->r.v[want[p]]),
               "walk (snapshot %llu, flags %d) move %ld: entry %ld of %zu differs",
               (unsigned long long)snap, flags, i, p, n);
        EXPECT(r, larch_memtable_iter_status(it) == LARCH_OK, "status %d",
               larch_memtable_iter_status(it));
    }
    free(want);
    larch_memtable_iter_free(it);
}

static void one_run(uint64_t seed, unsigned alphabet, size_t max_klen, uint64_t max_seq,
                    long steps) {
    struct run r = {
        .seed = seed, .rng = seed, .alphabet = alphabet, .max_klen = max_klen, .max_seq = max_seq};
    r.m = mt_new();
    REQUIRE(r.m);
    for (r.step = 0; r.step < steps && !r.failed; r.step++) {
        uint64_t what = below(&r, 100);
        if (what < 55)
            op_put(&r, random_seq(&r));
        else if (what < 90)
            op_get(&r);
        else
            op_walk(&r);
    }
    /* The whole memtable at a few snapshots, in every mode. */
    for (int i = 0; i < 6 && !r.failed; i++) {
        uint64_t snap = i == 0 ? UINT64_MAX : random_seq(&r);
        for (int f = 0; f < 4; f++)
            CHECK(iteration_matches(r.m, &r.r, snap, modes[f]));
    }
    ref_free(&r.r);
    larch_memtable_free(r.m);
}

static void test_tiny_universe(void) {
    /* Keys of up to 3 bytes over {00, 01, FF}: all prefixes of each other. */
    for (uint64_t seed = 1; seed <= 20; seed++)
        one_run(seed, 2, 3, 40, 3000);
}

static void test_wider_universe(void) {
    for (uint64_t seed = 100; seed <= 105; seed++)
        one_run(seed, 26, 6, 5000, 8000);
}

int main(void) {
    FOR_EACH_MEMTABLE_INDEX {
        RUN(test_tiny_universe);
        RUN(test_wider_universe);
    }
    return harness_finish();
}
