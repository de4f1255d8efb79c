/* The memtable contract of API.md, checked from outside: built against the installed
 * headers and library only, one function per documented behaviour (or per choice
 * made where API.md is silent, marked "chosen"), run over each index the memtable
 * can sit on. The calls one at a time; contract_memtable_threads.c has the
 * guarantees that involve other threads. */
#include "contract_memtable.h"

/* ---- helpers --------------------------------------------------------------------- */

static int put_s(larch_memtable *m, const char *k, uint64_t seq, const char *v) {
    return larch_memtable_put(m, k, strlen(k), seq, v, strlen(v));
}

/* get's outcome, and whether what it handed out is exactly (want, want_seq). */
static bool get_is(larch_memtable *m, const char *k, uint64_t snapshot, int want_rc,
                   const char *want, uint64_t want_seq) {
    const void *val = (const void *)1;
    size_t vlen = 99;
    uint64_t seq = 99;
    int rc = larch_memtable_get(m, k, strlen(k), snapshot, &val, &vlen, &seq);
    if (rc != want_rc || seq != want_seq)
        return false;
    if (rc == LARCH_OK)
        return val && vlen == strlen(want) && memcmp(val, want, vlen) == 0;
    return val == NULL && vlen == 0;
}

/* The iterator's entry is exactly key k at seq, holding v (NULL: a tombstone). */
static bool at(const larch_memtable_iter *it, const char *k, uint64_t seq, const char *v) {
    size_t klen = 99, vlen = 99;
    const void *key = larch_memtable_iter_key(it, &klen);
    const void *val = larch_memtable_iter_value(it, &vlen);
    if (!larch_memtable_iter_valid(it) || !key || klen != strlen(k) || memcmp(key, k, klen) != 0 ||
        larch_memtable_iter_seq(it) != seq)
        return false;
    if (!v)
        return larch_memtable_iter_is_tombstone(it) == 1 && val == NULL && vlen == 0;
    return larch_memtable_iter_is_tombstone(it) == 0 && val && vlen == strlen(v) &&
           memcmp(val, v, vlen) == 0;
}

static bool invalid(const larch_memtable_iter *it) {
    size_t klen = 99, vlen = 99;
    return !larch_memtable_iter_valid(it) && larch_memtable_iter_key(it, &klen) == NULL &&
           klen == 0 && larch_memtable_iter_value(it, &vlen) == NULL && vlen == 0 &&
           larch_memtable_iter_seq(it) == 0 && larch_memtable_iter_is_tombstone(it) == 0;
}

/* The history used by the iterator tests:
 *   a: 10 "a10", 20 tombstone, 30 "a30"
 *   b: 15 "b15", 25 tombstone
 *   c: 5 "" (an empty value), 35 "c35"
 *   d: 40 "d40" */
static larch_memtable *history(void) {
    larch_memtable *m = new_memtable();
    if (!m)
        return NULL;
    int rc = put_s(m, "a", 30, "a30") | put_s(m, "a", 10, "a10") |
             larch_memtable_del(m, "a", 1, 20) | put_s(m, "b", 15, "b15") |
             larch_memtable_del(m, "b", 1, 25) | larch_memtable_put(m, "c", 1, 5, NULL, 0) |
             put_s(m, "c", 35, "c35") | put_s(m, "d", 40, "d40");
    if (rc != LARCH_OK) {
        larch_memtable_free(m);
        return NULL;
    }
    return m;
}

/* ---- new, free, bad arguments ------------------------------------------------------ */

static void free_null_is_a_no_op(void) {
    larch_memtable_free(NULL);
    larch_memtable_iter_free(NULL);
}

static void new_memtable_is_empty(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(larch_memtable_len(m), 0);
    CHECK(larch_memtable_bytes(m) > 0);
    CHECK(get_is(m, "k", UINT64_MAX, LARCH_NOTFOUND, NULL, 0));
    CHECK(get_is(m, "", UINT64_MAX, LARCH_NOTFOUND, NULL, 0));
    larch_memtable_free(m);
}

static void null_memtable_is_einval_or_neutral(void) {
    const void *val = "x";
    size_t vlen = 7;
    uint64_t seq = 7;
    CHECK_EQ(larch_memtable_put(NULL, "k", 1, 1, "v", 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_del(NULL, "k", 1, 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_get(NULL, "k", 1, 1, &val, &vlen, &seq), LARCH_EINVAL);
    CHECK(val && vlen == 7 && seq == 7); /* outs untouched on an error */
    CHECK_EQ(larch_memtable_len(NULL), 0);
    CHECK_EQ(larch_memtable_bytes(NULL), 0);
    CHECK(larch_memtable_iter_new(NULL, UINT64_MAX, 0) == NULL);
}

static void null_key_with_len_is_einval_and_changes_nothing(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    const void *val = "x";
    size_t vlen = 7;
    uint64_t seq = 7;
    CHECK_EQ(larch_memtable_put(m, NULL, 1, 1, "v", 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_del(m, NULL, 1, 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_get(m, NULL, 1, 1, &val, &vlen, &seq), LARCH_EINVAL);
    CHECK(val && vlen == 7 && seq == 7);
    CHECK_EQ(larch_memtable_len(m), 0);
    larch_memtable_free(m);
}

static void null_value_with_len_is_einval(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, NULL, 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_len(m), 0);
    CHECK(get_is(m, "k", UINT64_MAX, LARCH_NOTFOUND, NULL, 0));
    larch_memtable_free(m);
}

static void value_of_4_gib_or_more_is_einval(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    /* Refused from the length alone: the bytes behind the pointer are never read. */
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, "v", SIZE_MAX), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, "v", (size_t)UINT32_MAX), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_len(m), 0);
    larch_memtable_free(m);
}

static void null_key_with_len_0_is_the_empty_key(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(larch_memtable_put(m, NULL, 0, 1, "e", 1), LARCH_OK);
    CHECK(get_is(m, "", UINT64_MAX, LARCH_OK, "e", 1));
    CHECK_EQ(larch_memtable_get(m, NULL, 0, UINT64_MAX, NULL, NULL, NULL), LARCH_OK);
    CHECK_EQ(larch_memtable_del(m, NULL, 0, 2), LARCH_OK);
    CHECK(get_is(m, "", UINT64_MAX, LARCH_DELETED, NULL, 2));
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    larch_memtable_iter_seek(it, NULL, 0);
    CHECK(at(it, "", 2, NULL));
    size_t klen = 99;
    CHECK(larch_memtable_iter_key(it, &klen) != NULL); /* chosen: never NULL when valid */
    CHECK_EQ(klen, 0);
    larch_memtable_iter_next(it);
    CHECK(at(it, "", 1, "e"));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void key_of_key_max_bytes_works_and_one_more_is_ekeysize(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    static uint8_t k[LARCH_KEY_MAX + 1];
    memset(k, 'k', sizeof k);
    CHECK_EQ(larch_memtable_put(m, k, LARCH_KEY_MAX, 1, "v", 1), LARCH_OK);
    CHECK_EQ(larch_memtable_del(m, k, LARCH_KEY_MAX, 2), LARCH_OK);
    CHECK_EQ(larch_memtable_get(m, k, LARCH_KEY_MAX, 1, NULL, NULL, NULL), LARCH_OK);
    const void *val = "x";
    size_t vlen = 7;
    uint64_t seq = 7;
    CHECK_EQ(larch_memtable_put(m, k, LARCH_KEY_MAX + 1, 1, "v", 1), LARCH_EKEYSIZE);
    CHECK_EQ(larch_memtable_del(m, k, LARCH_KEY_MAX + 1, 3), LARCH_EKEYSIZE);
    CHECK_EQ(larch_memtable_get(m, k, LARCH_KEY_MAX + 1, 1, &val, &vlen, &seq), LARCH_EKEYSIZE);
    CHECK(val && vlen == 7 && seq == 7);
    CHECK_EQ(larch_memtable_len(m), 2);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    larch_memtable_iter_seek(it, k, LARCH_KEY_MAX + 1); /* a seek key may be longer */
    CHECK(!larch_memtable_iter_valid(it));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    larch_memtable_iter_seek_for_prev(it, k, LARCH_KEY_MAX + 1);
    CHECK(larch_memtable_iter_valid(it) && larch_memtable_iter_seq(it) == 1);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

/* ---- put, del, get ------------------------------------------------------------------ */

static void duplicate_key_and_seq_is_exists_and_changes_nothing(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(put_s(m, "k", 5, "first"), LARCH_OK);
    CHECK_EQ(larch_memtable_del(m, "k", 1, 6), LARCH_OK);
    size_t bytes = larch_memtable_bytes(m);
    CHECK_EQ(put_s(m, "k", 5, "second"), LARCH_EXISTS);
    CHECK_EQ(larch_memtable_del(m, "k", 1, 5), LARCH_EXISTS); /* a value at (k, 5) */
    CHECK_EQ(put_s(m, "k", 6, "third"), LARCH_EXISTS);        /* a tombstone at (k, 6) */
    CHECK_EQ(larch_memtable_del(m, "k", 1, 6), LARCH_EXISTS);
    CHECK_EQ(larch_memtable_len(m), 2);
    CHECK(get_is(m, "k", 5, LARCH_OK, "first", 5));
    CHECK(get_is(m, "k", 6, LARCH_DELETED, NULL, 6));
    CHECK(larch_memtable_bytes(m) >= bytes);
    larch_memtable_free(m);
}

static void get_sees_the_greatest_seq_at_or_below_the_snapshot(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(put_s(m, "k", 20, "v20"), LARCH_OK); /* seqs in any order */
    CHECK_EQ(put_s(m, "k", 10, "v10"), LARCH_OK);
    CHECK_EQ(put_s(m, "k", 30, "v30"), LARCH_OK);
    CHECK(get_is(m, "k", 9, LARCH_NOTFOUND, NULL, 0));
    CHECK(get_is(m, "k", 10, LARCH_OK, "v10", 10));
    CHECK(get_is(m, "k", 19, LARCH_OK, "v10", 10));
    CHECK(get_is(m, "k", 20, LARCH_OK, "v20", 20));
    CHECK(get_is(m, "k", 29, LARCH_OK, "v20", 20));
    CHECK(get_is(m, "k", UINT64_MAX, LARCH_OK, "v30", 30));
    CHECK(get_is(m, "k2", UINT64_MAX, LARCH_NOTFOUND, NULL, 0));
    CHECK(get_is(m, "", UINT64_MAX, LARCH_NOTFOUND, NULL, 0));
    larch_memtable_free(m);
}

static void tombstone_is_deleted_until_a_newer_value(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(put_s(m, "k", 1, "v1"), LARCH_OK);
    CHECK_EQ(larch_memtable_del(m, "k", 1, 2), LARCH_OK);
    CHECK_EQ(put_s(m, "k", 3, "v3"), LARCH_OK);
    CHECK(get_is(m, "k", 1, LARCH_OK, "v1", 1));
    CHECK(get_is(m, "k", 2, LARCH_DELETED, NULL, 2));
    CHECK(get_is(m, "k", 3, LARCH_OK, "v3", 3));
    CHECK_EQ(larch_memtable_del(m, "gone", 4, 7), LARCH_OK); /* a tombstone alone */
    CHECK(get_is(m, "gone", 6, LARCH_NOTFOUND, NULL, 0));
    CHECK(get_is(m, "gone", 7, LARCH_DELETED, NULL, 7));
    CHECK_EQ(larch_memtable_len(m), 4);
    larch_memtable_free(m);
}

static void empty_value_is_a_value_not_a_tombstone(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, NULL, 0), LARCH_OK);
    CHECK_EQ(larch_memtable_put(m, "j", 1, 1, "ignored", 0), LARCH_OK);
    const void *val = NULL;
    size_t vlen = 99;
    uint64_t seq = 0;
    CHECK_EQ(larch_memtable_get(m, "k", 1, UINT64_MAX, &val, &vlen, &seq), LARCH_OK);
    CHECK(val != NULL);
    CHECK_EQ(vlen, 0);
    CHECK_EQ(seq, 1);
    val = NULL;
    CHECK_EQ(larch_memtable_get(m, "j", 1, UINT64_MAX, &val, &vlen, &seq), LARCH_OK);
    CHECK(val != NULL && vlen == 0);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    larch_memtable_iter_seek(it, "k", 1); /* not skipped as a deleted key */
    CHECK(at(it, "k", 1, ""));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void get_accepts_null_out_pointers(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    CHECK_EQ(larch_memtable_get(m, "a", 1, UINT64_MAX, NULL, NULL, NULL), LARCH_OK);
    CHECK_EQ(larch_memtable_get(m, "a", 1, 20, NULL, NULL, NULL), LARCH_DELETED);
    CHECK_EQ(larch_memtable_get(m, "a", 1, 9, NULL, NULL, NULL), LARCH_NOTFOUND);
    size_t vlen = 0;
    CHECK_EQ(larch_memtable_get(m, "d", 1, UINT64_MAX, NULL, &vlen, NULL), LARCH_OK);
    CHECK_EQ(vlen, 3);
    uint64_t seq = 0;
    CHECK_EQ(larch_memtable_get(m, "b", 1, UINT64_MAX, NULL, NULL, &seq), LARCH_DELETED);
    CHECK_EQ(seq, 25);
    larch_memtable_free(m);
}

static void values_are_copied_in(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    char buf[8] = "before";
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, buf, 6), LARCH_OK);
    memcpy(buf, "after!", 6);
    CHECK(get_is(m, "k", 1, LARCH_OK, "before", 1));
    larch_memtable_free(m);
}

static void handed_out_pointers_stay_valid_until_free(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(put_s(m, "k", 1, "v1"), LARCH_OK);
    const void *val;
    size_t vlen;
    CHECK_EQ(larch_memtable_get(m, "k", 1, 1, &val, &vlen, NULL), LARCH_OK);
    char k[16], v[128];
    memset(v, 'x', sizeof v);
    for (int i = 0; i < 5000; i++) /* the arena grows by many blocks */
        CHECK_EQ(larch_memtable_put(m, k, (size_t)snprintf(k, sizeof k, "k%d", i), 2, v, sizeof v),
                 LARCH_OK);
    CHECK(vlen == 2 && memcmp(val, "v1", 2) == 0);
    larch_memtable_free(m);
}

static void any_seq_is_valid_zero_and_uint64_max_included(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK_EQ(put_s(m, "k", 0, "zero"), LARCH_OK);
    CHECK_EQ(put_s(m, "k", UINT64_MAX, "max"), LARCH_OK);
    CHECK(get_is(m, "k", 0, LARCH_OK, "zero", 0));
    CHECK(get_is(m, "k", UINT64_MAX - 1, LARCH_OK, "zero", 0));
    CHECK(get_is(m, "k", UINT64_MAX, LARCH_OK, "max", UINT64_MAX));
    larch_memtable_iter *it = larch_memtable_iter_new(m, 0, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK(at(it, "k", 0, "zero"));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void len_counts_versions_and_bytes_never_shrink(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    size_t bytes = larch_memtable_bytes(m);
    CHECK(bytes > 0);
    char k[16], v[64];
    memset(v, 'v', sizeof v);
    int shrank = 0;
    for (int i = 0; i < 3000; i++) {
        size_t klen = (size_t)snprintf(k, sizeof k, "key%d", i % 1000);
        int rc = i % 5 == 4 ? larch_memtable_del(m, k, klen, (uint64_t)i)
                            : larch_memtable_put(m, k, klen, (uint64_t)i, v, (size_t)(i % 64));
        CHECK_EQ(rc, LARCH_OK);
        CHECK_EQ(larch_memtable_len(m), (size_t)i + 1);
        size_t now = larch_memtable_bytes(m);
        shrank += now < bytes;
        bytes = now;
    }
    CHECK_EQ(shrank, 0);
    CHECK(bytes > 3000 * 32); /* it counts at least the values */
    CHECK_EQ(put_s(m, "key1", 1, "dup"), LARCH_EXISTS);
    CHECK_EQ(larch_memtable_len(m), 3000);
    CHECK(larch_memtable_bytes(m) >= bytes);
    larch_memtable_free(m);
}

/* ---- iterators --------------------------------------------------------------------- */

static void iter_new_refuses_unknown_flags(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    CHECK(larch_memtable_iter_new(m, UINT64_MAX, 4) == NULL);
    CHECK(larch_memtable_iter_new(m, UINT64_MAX, -1) == NULL);
    larch_memtable_iter *it =
        larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS | LARCH_ITER_TOMBSTONES);
    CHECK(it != NULL); /* both flags: every version */
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void unpositioned_iterator_is_invalid_and_stays_so(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    for (int flags = 0; flags <= 3; flags++) {
        larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, flags);
        REQUIRE(it);
        CHECK(invalid(it));
        CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
        larch_memtable_iter_next(it);
        CHECK(invalid(it));
        larch_memtable_iter_prev(it);
        CHECK(invalid(it));
        CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
        larch_memtable_iter_free(it);
    }
    larch_memtable_free(m);
}

static void default_iterator_gives_visible_values_and_skips_deleted_keys(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK(at(it, "a", 30, "a30"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "c", 35, "c35")); /* b is deleted */
    larch_memtable_iter_next(it);
    CHECK(at(it, "d", 40, "d40"));
    larch_memtable_iter_next(it);
    CHECK(invalid(it));
    larch_memtable_iter_seek_last(it);
    CHECK(at(it, "d", 40, "d40"));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "c", 35, "c35"));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "a", 30, "a30"));
    larch_memtable_iter_prev(it);
    CHECK(invalid(it));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void default_iterator_at_an_older_snapshot(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    /* At 20: a deleted, b "b15", c "" (seq 5), d not yet. */
    larch_memtable_iter *it = larch_memtable_iter_new(m, 20, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK(at(it, "b", 15, "b15"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "c", 5, ""));
    larch_memtable_iter_next(it);
    CHECK(invalid(it));
    larch_memtable_iter_seek_last(it);
    CHECK(at(it, "c", 5, ""));
    larch_memtable_iter_seek(it, "a", 1);
    CHECK(at(it, "b", 15, "b15"));
    larch_memtable_iter_seek_for_prev(it, "bz", 2);
    CHECK(at(it, "b", 15, "b15"));
    larch_memtable_iter_seek_for_prev(it, "az", 2);
    CHECK(invalid(it));
    larch_memtable_iter_free(it);
    /* Below every seq: nothing at all. */
    it = larch_memtable_iter_new(m, 4, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK(invalid(it));
    larch_memtable_iter_seek_last(it);
    CHECK(invalid(it));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void tombstones_iterator_keeps_deleted_keys(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, 25, LARCH_ITER_TOMBSTONES);
    REQUIRE(it);
    /* At 25: a tombstone 20, b tombstone 25, c "" 5. */
    larch_memtable_iter_seek_first(it);
    CHECK(at(it, "a", 20, NULL));
    larch_memtable_iter_next(it);
    CHECK(at(it, "b", 25, NULL));
    larch_memtable_iter_next(it);
    CHECK(at(it, "c", 5, ""));
    larch_memtable_iter_next(it);
    CHECK(invalid(it));
    larch_memtable_iter_seek_for_prev(it, "bb", 2);
    CHECK(at(it, "b", 25, NULL));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "a", 20, NULL));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void all_versions_iterator_goes_in_flush_order(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    static const struct {
        const char *k;
        uint64_t seq;
        const char *v;
    } order[] = {{"a", 30, "a30"}, {"a", 20, NULL},  {"a", 10, "a10"}, {"b", 25, NULL},
                 {"b", 15, "b15"}, {"c", 35, "c35"}, {"c", 5, ""},     {"d", 40, "d40"}};
    const size_t n = sizeof order / sizeof order[0];
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    size_t i = 0;
    for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), i++)
        CHECK(i < n && at(it, order[i].k, order[i].seq, order[i].v));
    CHECK_EQ(i, n);
    for (larch_memtable_iter_seek_last(it); larch_memtable_iter_valid(it);
         larch_memtable_iter_prev(it))
        CHECK(i > 0 && at(it, order[i - 1].k, order[i - 1].seq, order[i - 1].v) && i--);
    CHECK_EQ(i, 0);
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void all_versions_iterator_at_a_snapshot_hides_newer_versions(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, 20, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK(at(it, "a", 20, NULL));
    larch_memtable_iter_next(it);
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "b", 15, "b15"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "c", 5, ""));
    larch_memtable_iter_next(it);
    CHECK(invalid(it));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void all_versions_seek_lands_on_the_newest_and_seek_for_prev_on_the_oldest(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    larch_memtable_iter_seek(it, "a", 1);
    CHECK(at(it, "a", 30, "a30"));
    larch_memtable_iter_seek(it, "a\0", 2);
    CHECK(at(it, "b", 25, NULL));
    larch_memtable_iter_seek_for_prev(it, "a", 1);
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_prev(it); /* the next newer version of the key */
    CHECK(at(it, "a", 20, NULL));
    larch_memtable_iter_seek_for_prev(it, "bz", 2);
    CHECK(at(it, "b", 15, "b15"));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "b", 25, NULL));
    larch_memtable_iter_prev(it); /* then the oldest version of the key before */
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_next(it); /* and forward again */
    CHECK(at(it, "b", 25, NULL));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void seek_past_the_end_and_before_the_start_are_invalid(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    for (int flags = 0; flags <= 2; flags++) {
        larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, flags);
        REQUIRE(it);
        larch_memtable_iter_seek(it, "d\0", 2);
        CHECK(invalid(it));
        CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
        larch_memtable_iter_seek_for_prev(it, "", 0);
        CHECK(invalid(it));
        larch_memtable_iter_seek_for_prev(it, "A", 1);
        CHECK(invalid(it));
        CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
        larch_memtable_iter_seek(it, "", 0); /* before the start: the first */
        CHECK(larch_memtable_iter_valid(it));
        larch_memtable_iter_seek_for_prev(it, "\xff", 1); /* past the end: the last */
        CHECK(at(it, "d", 40, "d40"));
        larch_memtable_iter_free(it);
    }
    larch_memtable_free(m);
}

static void seek_bounds_are_compared_whole_not_cut_at_key_max(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    static uint8_t k[LARCH_KEY_MAX + 1];
    memset(k, 'a', sizeof k);
    CHECK_EQ(larch_memtable_put(m, k, LARCH_KEY_MAX, 1, "long", 4), LARCH_OK);
    CHECK_EQ(put_s(m, "b", 2, "b"), LARCH_OK);
    for (int flags = 0; flags <= 2; flags++) {
        larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, flags);
        REQUIRE(it);
        larch_memtable_iter_seek(it, k, sizeof k);
        CHECK(at(it, "b", 2, "b"));
        larch_memtable_iter_seek_for_prev(it, k, sizeof k);
        CHECK(larch_memtable_iter_valid(it) && larch_memtable_iter_seq(it) == 1);
        larch_memtable_iter_free(it);
    }
    larch_memtable_free(m);
}

static void seeks_and_moves_skip_keys_with_nothing_visible(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    /* a: 10; b: 50 only (above the snapshot); c: 5, deleted at 15; d: 12. At 20:
     * every mode sees a and d; TOMBSTONES and ALL_VERSIONS see c too. */
    CHECK_EQ(put_s(m, "a", 10, "a10") | put_s(m, "b", 50, "b50") | put_s(m, "c", 5, "c5") |
                 larch_memtable_del(m, "c", 1, 15) | put_s(m, "d", 12, "d12"),
             LARCH_OK);
    larch_memtable_iter *it = larch_memtable_iter_new(m, 20, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_for_prev(it, "c", 1);
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_seek(it, "b", 1);
    CHECK(at(it, "d", 12, "d12"));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "d", 12, "d12"));
    larch_memtable_iter_free(it);
    it = larch_memtable_iter_new(m, 20, LARCH_ITER_TOMBSTONES);
    REQUIRE(it);
    larch_memtable_iter_seek_for_prev(it, "bz", 2);
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "c", 15, NULL));
    larch_memtable_iter_free(it);
    it = larch_memtable_iter_new(m, 20, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    larch_memtable_iter_seek_for_prev(it, "b", 1);
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "c", 15, NULL));
    larch_memtable_iter_next(it);
    CHECK(at(it, "c", 5, "c5"));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "c", 15, NULL));
    larch_memtable_iter_prev(it);
    CHECK(at(it, "a", 10, "a10"));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void seek_with_null_key_and_len_is_einval(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    larch_memtable_iter_seek(it, NULL, 1);
    CHECK(invalid(it));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_EINVAL);
    larch_memtable_iter_seek_first(it);
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_OK);
    CHECK(at(it, "a", 30, "a30"));
    larch_memtable_iter_seek_for_prev(it, NULL, 1);
    CHECK(invalid(it));
    CHECK_EQ(larch_memtable_iter_status(it), LARCH_EINVAL);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void iterator_calls_on_a_null_iterator_are_harmless(void) {
    /* chosen: like free(NULL), every iterator call accepts NULL */
    larch_memtable_iter_seek(NULL, "a", 1);
    larch_memtable_iter_seek_for_prev(NULL, "a", 1);
    larch_memtable_iter_seek_first(NULL);
    larch_memtable_iter_seek_last(NULL);
    larch_memtable_iter_next(NULL);
    larch_memtable_iter_prev(NULL);
    CHECK(invalid(NULL));
    CHECK_EQ(larch_memtable_iter_status(NULL), LARCH_EINVAL);
}

static void iterator_accepts_null_length_pointers(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    CHECK(larch_memtable_iter_key(it, NULL) == NULL);
    CHECK(larch_memtable_iter_value(it, NULL) == NULL);
    larch_memtable_iter_seek_first(it);
    const char *k = larch_memtable_iter_key(it, NULL);
    const char *v = larch_memtable_iter_value(it, NULL);
    CHECK(k && k[0] == 'a' && v && memcmp(v, "a30", 3) == 0);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void iterator_pointers_stay_valid_after_moves(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    size_t klen, vlen;
    const char *k = larch_memtable_iter_key(it, &klen);
    const char *v = larch_memtable_iter_value(it, &vlen);
    for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);)
        larch_memtable_iter_next(it);
    larch_memtable_iter_free(it);
    CHECK(klen == 1 && k[0] == 'a' && vlen == 3 && memcmp(v, "a30", 3) == 0);
    larch_memtable_free(m);
}

static void prefix_keys_order_shorter_first(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    static const struct {
        const char *k;
        size_t len;
    } order[] = {{"", 0}, {"\0", 1}, {"a", 1}, {"a\0", 2}, {"ab", 2}, {"abc", 3}, {"b", 1}};
    const size_t n = sizeof order / sizeof order[0];
    for (size_t i = n; i-- > 0;)
        CHECK_EQ(larch_memtable_put(m, order[i].k, order[i].len, i, "v", 1), LARCH_OK);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
    REQUIRE(it);
    size_t i = 0;
    for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), i++) {
        size_t klen;
        const void *k = larch_memtable_iter_key(it, &klen);
        CHECK(i < n && klen == order[i].len && memcmp(k, order[i].k, klen) == 0 &&
              larch_memtable_iter_seq(it) == i);
    }
    CHECK_EQ(i, n);
    larch_memtable_iter_seek(it, "a", 1);
    CHECK_EQ(larch_memtable_iter_seq(it), 2);
    larch_memtable_iter_seek_for_prev(it, "aa", 2);
    CHECK_EQ(larch_memtable_iter_seq(it), 3);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

static void iterator_sees_versions_published_before_its_seek(void) {
    larch_memtable *m = history();
    REQUIRE(m);
    larch_memtable_iter *it = larch_memtable_iter_new(m, 100, 0);
    REQUIRE(it);
    larch_memtable_iter_seek_first(it);
    CHECK_EQ(put_s(m, "b", 50, "b50"), LARCH_OK);   /* revives b at 50 <= 100 */
    CHECK_EQ(put_s(m, "e", 60, "e60"), LARCH_OK);   /* a new key */
    CHECK_EQ(put_s(m, "a", 200, "a200"), LARCH_OK); /* above the snapshot */
    larch_memtable_iter_seek_first(it);
    CHECK(at(it, "a", 30, "a30"));
    larch_memtable_iter_next(it);
    CHECK(at(it, "b", 50, "b50"));
    larch_memtable_iter_seek_last(it);
    CHECK(at(it, "e", 60, "e60"));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

int main(void) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        new_memtable = kinds[i].new_;
        fprintf(stderr, "== memtable over %s\n", kinds[i].name);
        RUN(free_null_is_a_no_op);
        RUN(new_memtable_is_empty);
        RUN(null_memtable_is_einval_or_neutral);
        RUN(null_key_with_len_is_einval_and_changes_nothing);
        RUN(null_value_with_len_is_einval);
        RUN(value_of_4_gib_or_more_is_einval);
        RUN(null_key_with_len_0_is_the_empty_key);
        RUN(key_of_key_max_bytes_works_and_one_more_is_ekeysize);
        RUN(duplicate_key_and_seq_is_exists_and_changes_nothing);
        RUN(get_sees_the_greatest_seq_at_or_below_the_snapshot);
        RUN(tombstone_is_deleted_until_a_newer_value);
        RUN(empty_value_is_a_value_not_a_tombstone);
        RUN(get_accepts_null_out_pointers);
        RUN(values_are_copied_in);
        RUN(handed_out_pointers_stay_valid_until_free);
        RUN(any_seq_is_valid_zero_and_uint64_max_included);
        RUN(len_counts_versions_and_bytes_never_shrink);
        RUN(iter_new_refuses_unknown_flags);
        RUN(unpositioned_iterator_is_invalid_and_stays_so);
        RUN(default_iterator_gives_visible_values_and_skips_deleted_keys);
        RUN(default_iterator_at_an_older_snapshot);
        RUN(tombstones_iterator_keeps_deleted_keys);
        RUN(all_versions_iterator_goes_in_flush_order);
        RUN(all_versions_iterator_at_a_snapshot_hides_newer_versions);
        RUN(all_versions_seek_lands_on_the_newest_and_seek_for_prev_on_the_oldest);
        RUN(seek_past_the_end_and_before_the_start_are_invalid);
        RUN(seek_bounds_are_compared_whole_not_cut_at_key_max);
        RUN(seeks_and_moves_skip_keys_with_nothing_visible);
        RUN(seek_with_null_key_and_len_is_einval);
        RUN(iterator_calls_on_a_null_iterator_are_harmless);
        RUN(iterator_accepts_null_length_pointers);
        RUN(iterator_pointers_stay_valid_after_moves);
        RUN(prefix_keys_order_shorter_first);
        RUN(iterator_sees_versions_published_before_its_seek);
    }
    return harness_finish();
}
