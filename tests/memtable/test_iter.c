/* Memtable iterators as a specification: the three modes (visible values,
 * tombstones kept, every version in flush order), seeks in both directions,
 * direction changes, keys that are prefixes of each other, snapshots, and the
 * pointers they hand out. */
#include "common/alloc.h"
#include "memtable_test.h"

/* A fixed memtable and its reference:
 *   ""      seq 1 "e1"
 *   "a"     seq 5 "a5", seq 3 tombstone, seq 2 "a2"
 *   "a\0"   seq 4 ""  (an empty value)
 *   "ab"    seq 6 tombstone, seq 1 "ab1"
 *   "b"     seq 9 "b9"
 *   "c"     seq 7 tombstone */
static void fill(larch_memtable *m, struct ref *r) {
    static const struct {
        const char *key;
        size_t klen;
        uint64_t seq;
        const char *val;
    } w[] = {
        {"a", 1, 3, NULL},   {"b", 1, 9, "b9"},  {"a", 1, 5, "a5"},
        {"ab", 2, 1, "ab1"}, {"", 0, 1, "e1"},   {"a\0", 2, 4, ""},
        {"c", 1, 7, NULL},   {"ab", 2, 6, NULL}, {"a", 1, 2, "a2"},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        int rc = w[i].val ? larch_memtable_put(m, w[i].key, w[i].klen, w[i].seq, w[i].val,
                                               strlen(w[i].val))
                          : larch_memtable_del(m, w[i].key, w[i].klen, w[i].seq);
        CHECK_EQ(rc, LARCH_OK);
        ref_add(r, w[i].key, w[i].klen, w[i].seq, w[i].val, w[i].val ? strlen(w[i].val) : 0);
    }
}

/* The iterator is on (key, seq), a tombstone or not. */
static bool at(const larch_memtable_iter *it, const char *key, size_t klen, uint64_t seq) {
    size_t len;
    const void *k = larch_memtable_iter_key(it, &len);
    return larch_memtable_iter_valid(it) && !key_cmp(k, len, key, klen) &&
           larch_memtable_iter_seq(it) == seq;
}

static void test_three_modes_match_the_reference(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    fill(m, &r);
    static const int modes[] = {0, LARCH_ITER_TOMBSTONES, LARCH_ITER_ALL_VERSIONS,
                                LARCH_ITER_ALL_VERSIONS | LARCH_ITER_TOMBSTONES};
    for (uint64_t snap = 0; snap <= 10; snap++)
        for (int i = 0; i < 4; i++)
            CHECK(iteration_matches(m, &r, snap, modes[i]));
    CHECK(iteration_matches(m, &r, UINT64_MAX, 0));
    ref_free(&r);
    larch_memtable_free(m);
}

static void test_default_mode_skips_tombstones(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    fill(m, &r);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK(at(it, "", 0, 1));
    larch_memtable_iter_next(it);
    CHECK(at(it, "a", 1, 5));
    larch_memtable_iter_next(it);
    CHECK(at(it, "a\0", 2, 4));
    size_t vlen = 9;
    CHECK(larch_memtable_iter_value(it, &vlen) != NULL); /* empty, not a tombstone */
    CHECK_EQ(vlen, 0);
    CHECK(!larch_memtable_iter_is_tombstone(it));
    larch_memtable_iter_next(it); /* "ab" is deleted at seq 6 */
    CHECK(at(it, "b", 1, 9));
    larch_memtable_iter_next(it); /* "c" is deleted */
    CHECK(!larch_memtable_iter_valid(it));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    larch_memtable_iter_next(it); /* stays invalid */
    CHECK(!larch_memtable_iter_valid(it));
    CHECK(larch_memtable_iter_key(it, &vlen) == NULL && vlen == 0);
    CHECK(larch_memtable_iter_value(it, &vlen) == NULL && vlen == 0);
    CHECK_EQ(larch_memtable_iter_seq(it), 0);
    /* At snapshot 5, "ab" shows its seq 1 value and "b" does not exist yet. */
    larch_memtable_iter_free(it);
    it = larch_memtable_iter_new(m, 5, 0);
    REQUIRE(it);
    larch_memtable_iter_seek(it, "aa", 2);
    CHECK(at(it, "ab", 2, 1));
    larch_memtable_iter_next(it);
    CHECK(!larch_memtable_iter_valid(it));
    larch_memtable_iter_free(it);
    ref_free(&r);
    larch_memtable_free(m);
}

static void test_tombstones_mode(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    fill(m, &r);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_TOMBSTONES);
    REQUIRE(it);
    larch_memtable_iter_seek(it, "ab", 2);
    CHECK(at(it, "ab", 2, 6));
    CHECK(larch_memtable_iter_is_tombstone(it));
    size_t vlen = 3;
    CHECK(larch_memtable_iter_value(it, &vlen) == NULL && vlen == 0);
    larch_memtable_iter_seek_last(it);
    CHECK(at(it, "c", 1, 7));
    CHECK(larch_memtable_iter_is_tombstone(it));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "b", 1, 9));
    larch_memtable_iter_free(it);
    ref_free(&r);
    larch_memtable_free(m);
}

static void test_all_versions_in_flush_order(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    fill(m, &r);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    static const struct {
        const char *key;
        size_t klen;
        uint64_t seq;
    } order[] = {{"", 0, 1},   {"a", 1, 5},  {"a", 1, 3}, {"a", 1, 2}, {"a\0", 2, 4},
                 {"ab", 2, 6}, {"ab", 2, 1}, {"b", 1, 9}, {"c", 1, 7}};
    size_t n = 0;
    for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it) && n < 9;
         larch_memtable_iter_next(it), n++)
        CHECK(at(it, order[n].key, order[n].klen, order[n].seq));
    CHECK_EQ(n, 9);
    CHECK(!larch_memtable_iter_valid(it));
    /* Backward: seq ascending within a key. */
    n = 9;
    for (larch_memtable_iter_seek_last(it); larch_memtable_iter_valid(it) && n > 0;
         larch_memtable_iter_prev(it)) {
        n--;
        CHECK(at(it, order[n].key, order[n].klen, order[n].seq));
    }
    CHECK_EQ(n, 0);
    CHECK(!larch_memtable_iter_valid(it));
    /* seek lands on the key's newest version, seek_for_prev on its oldest. */
    larch_memtable_iter_seek(it, "a", 1);
    CHECK(at(it, "a", 1, 5));
    larch_memtable_iter_seek_for_prev(it, "a", 1);
    CHECK(at(it, "a", 1, 2));
    larch_memtable_iter_seek_for_prev(it, "a\x01", 2);
    CHECK(at(it, "a\0", 2, 4));
    /* Turning around in the middle of a chain. */
    larch_memtable_iter_seek(it, "a", 1);
    larch_memtable_iter_next(it);
    CHECK(at(it, "a", 1, 3));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "a", 1, 5));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "", 0, 1));
    larch_memtable_iter_next(it);
    CHECK(at(it, "a", 1, 5));
    larch_memtable_iter_free(it);
    /* At snapshot 4 the versions above 4 are not there. */
    it = larch_memtable_iter_new(m, 4, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    larch_memtable_iter_seek(it, "a", 1);
    CHECK(at(it, "a", 1, 3));
    CHECK(larch_memtable_iter_is_tombstone(it));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "", 0, 1));
    larch_memtable_iter_seek_for_prev(it, "b", 1); /* "b" has no version <= 4 */
    CHECK(at(it, "ab", 2, 1));
    larch_memtable_iter_free(it);
    ref_free(&r);
    larch_memtable_free(m);
}

static void test_seeks_between_and_beyond(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    fill(m, &r);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    larch_memtable_iter_seek(it, NULL, 0); /* the empty key: the first */
    CHECK(at(it, "", 0, 1));
    larch_memtable_iter_seek(it, "a\0\0", 3);
    CHECK(at(it, "b", 1, 9)); /* "ab" is deleted */
    larch_memtable_iter_seek_for_prev(it, "a\0\0", 3);
    CHECK(at(it, "a\0", 2, 4));
    larch_memtable_iter_seek_for_prev(it, "az", 2);
    CHECK(at(it, "a\0", 2, 4));
    larch_memtable_iter_seek(it, "c", 1);
    CHECK(!larch_memtable_iter_valid(it));
    larch_memtable_iter_seek_for_prev(it, "zzz", 3);
    CHECK(at(it, "b", 1, 9));
    /* A seek key longer than LARCH_KEY_MAX is not an error. */
    static unsigned char longer[LARCH_KEY_MAX + 10];
    memset(longer, 'a', sizeof longer);
    larch_memtable_iter_seek(it, longer, sizeof longer);
    CHECK(at(it, "b", 1, 9));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    /* A NULL key with a length is. */
    larch_memtable_iter_seek(it, NULL, 3);
    CHECK(!larch_memtable_iter_valid(it));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_EINVAL);
    larch_memtable_iter_seek_first(it);
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    larch_memtable_iter_seek_for_prev(it, NULL, 1);
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_EINVAL);
    larch_memtable_iter_free(it);
    ref_free(&r);
    larch_memtable_free(m);
}

static void test_empty_memtable_and_bad_flags(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    CHECK(larch_memtable_iter_new(NULL, 1, 0) == NULL);
    CHECK(larch_memtable_iter_new(m, 1, 4) == NULL);
    CHECK(larch_memtable_iter_new(m, 1, -1) == NULL);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    CHECK(!larch_memtable_iter_valid(it)); /* unpositioned */
    larch_memtable_iter_seek_first(it);
    CHECK(!larch_memtable_iter_valid(it));
    larch_memtable_iter_seek_last(it);
    CHECK(!larch_memtable_iter_valid(it));
    larch_memtable_iter_prev(it);
    CHECK(!larch_memtable_iter_valid(it));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    /* A key all of whose versions are above the snapshot shows nothing. */
    larch_memtable_iter_free(it);
    CHECK_EQ(larch_memtable_put(m, "k", 1, 10, "v", 1), LARCH_OK);
    it = larch_memtable_iter_new(m, 9, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK(!larch_memtable_iter_valid(it));
    larch_memtable_iter_seek_last(it);
    CHECK(!larch_memtable_iter_valid(it));
    larch_memtable_iter_free(it);
    larch_memtable_iter_free(NULL);
    CHECK(!larch_memtable_iter_valid(NULL));
    CHECK_EQ(larch_memtable_iter_status(NULL), LARCH_EINVAL);
    larch_memtable_free(m);
}

static void test_pointers_outlive_moves_and_writes(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    CHECK_EQ(larch_memtable_put(m, "first", 5, 1, "one", 3), LARCH_OK);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    size_t klen, vlen;
    const void *key = larch_memtable_iter_key(it, &klen);
    const void *val = larch_memtable_iter_value(it, &vlen);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "g%05d", i);
        CHECK_EQ(larch_memtable_put(m, k, strlen(k), (uint64_t)i + 2, k, strlen(k)), LARCH_OK);
    }
    larch_memtable_iter_seek(it, "g", 1); /* a new pass sees the keys written since */
    CHECK(at(it, "g00000", 6, 2));
    CHECK(klen == 5 && !memcmp(key, "first", 5));
    CHECK(vlen == 3 && !memcmp(val, "one", 3));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

/* A flush: every version of a memtable with many keys and versions, in order. */
static void test_flush_order_at_scale(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    uint64_t rng = 99;
    unsigned char key[24], val[64];
    for (uint64_t seq = 1; seq <= 20000; seq++) {
        size_t klen = (size_t)snprintf((char *)key, sizeof key, "user%llu",
                                       (unsigned long long)(test_rand(&rng) % 3000));
        uint64_t s = seq ^ 1; /* pairs arrive swapped: 3, 2, 5, 4, ... */
        size_t vlen = (size_t)(test_rand(&rng) % sizeof val);
        memset(val, (int)s, vlen);
        bool tomb = test_rand(&rng) % 5 == 0;
        int rc = tomb ? larch_memtable_del(m, key, klen, s)
                      : larch_memtable_put(m, key, klen, s, val, vlen);
        CHECK_EQ(rc, ref_add(&r, key, klen, s, tomb ? NULL : val, vlen));
    }
    CHECK_EQ(larch_memtable_len(m), r.n);
    CHECK(iteration_matches(m, &r, UINT64_MAX, LARCH_ITER_ALL_VERSIONS));
    CHECK(iteration_matches(m, &r, 10000, LARCH_ITER_ALL_VERSIONS));
    CHECK(iteration_matches(m, &r, UINT64_MAX, 0));
    CHECK(iteration_matches(m, &r, 7777, LARCH_ITER_TOMBSTONES));
    ref_free(&r);
    larch_memtable_free(m);
}

/* prev through long chains: one walk per chain, and, when the stack it keeps cannot
 * grow, one walk per step, with the same entries either way. */
static void test_long_chains_backward(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    for (uint64_t s = 1; s <= 6000; s++) {
        const char *key = s % 3 == 0 ? "a" : s % 3 == 1 ? "b" : "b\0";
        size_t klen = s % 3 == 2 ? 2 : 1;
        uint64_t seq = s % 2 ? s : 7000 - s; /* both ends of each chain */
        bool tomb = s % 11 == 0;
        int rc = tomb ? larch_memtable_del(m, key, klen, seq)
                      : larch_memtable_put(m, key, klen, seq, &seq, sizeof seq);
        CHECK_EQ(rc, ref_add(&r, key, klen, seq, tomb ? NULL : &seq, sizeof seq));
    }
    CHECK(iteration_matches(m, &r, UINT64_MAX, LARCH_ITER_ALL_VERSIONS));
    CHECK(iteration_matches(m, &r, 3333, LARCH_ITER_ALL_VERSIONS));
    larch_memtable_iter *it = larch_memtable_iter_new(m, 5000, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    size_t *want = xmalloc(r.n * sizeof *want);
    size_t n = ref_entries(&r, 5000, LARCH_ITER_ALL_VERSIONS, want), got = 0;
    larch__alloc_fail_at(0, 1); /* the stack cannot grow: one walk per step */
    for (larch_memtable_iter_seek_last(it); larch_memtable_iter_valid(it) && got < n;
         larch_memtable_iter_prev(it), got++)
        if (!entry_is(it, &r.v[want[n - 1 - got]]))
            break;
    larch__alloc_fail_at(-1, 0);
    CHECK_EQ(got, n);
    CHECK(!larch_memtable_iter_valid(it));
    /* Turning around in the middle of a chain, and seeking back into it. */
    larch_memtable_iter_seek_for_prev(it, "a", 1);
    larch_memtable_iter_prev(it);
    larch_memtable_iter_prev(it);
    uint64_t s2 = larch_memtable_iter_seq(it);
    larch_memtable_iter_next(it);
    larch_memtable_iter_prev(it);
    CHECK_EQ(larch_memtable_iter_seq(it), s2);
    larch_memtable_iter_free(it);
    free(want);
    ref_free(&r);
    larch_memtable_free(m);
}

/* A key's record is found from its chain (its first version says where): the key
 * pointer is the same for every version of the key, whichever version came first
 * (a tombstone here), and whether later ones are newer or older than it. */
static void test_one_key_pointer_per_key(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    static const uint64_t seqs[] = {50, 10, 70, 5, 60, 1, 90};
    CHECK_EQ(larch_memtable_del(m, "kk", 2, 40), LARCH_OK);
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        CHECK_EQ(larch_memtable_put(m, "kk", 2, seqs[i], "vvvvvvvvvvvvv", i), LARCH_OK);
    CHECK_EQ(larch_memtable_put(m, "kj", 2, 3, "x", 1), LARCH_OK);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    const void *first = NULL;
    size_t versions = 0, klen;
    for (larch_memtable_iter_seek(it, "kk", 2); larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), versions++) {
        const void *key = larch_memtable_iter_key(it, &klen);
        CHECK(klen == 2 && !memcmp(key, "kk", 2));
        if (!first)
            first = key;
        CHECK(key == first);
    }
    CHECK_EQ(versions, 8);
    for (larch_memtable_iter_seek_last(it); larch_memtable_iter_valid(it);
         larch_memtable_iter_prev(it))
        if (larch_memtable_iter_key(it, &klen) != first)
            break;
    CHECK(at(it, "kj", 2, 3));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

int main(void) {
    FOR_EACH_MEMTABLE_INDEX {
        RUN(test_three_modes_match_the_reference);
        RUN(test_default_mode_skips_tombstones);
        RUN(test_tombstones_mode);
        RUN(test_all_versions_in_flush_order);
        RUN(test_seeks_between_and_beyond);
        RUN(test_empty_memtable_and_bad_flags);
        RUN(test_pointers_outlive_moves_and_writes);
        RUN(test_flush_order_at_scale);
        RUN(test_long_chains_backward);
        RUN(test_one_key_pointer_per_key);
    }
    return harness_finish();
}
