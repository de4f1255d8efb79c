/* The B+ tree and ART contract of API.md, checked from outside: built against the
 * installed headers and library only, one function per documented behaviour (or per
 * choice made where API.md is silent, marked "chosen"), run once for each tree.
 * The calls one at a time; contract_tree_threads.c has the guarantees that involve
 * other threads and the epoch collector. */
#include "contract_tree.h"

static void *scanned; /* the tree a scan callback reads */

/* ---- constructors, destructors, empty trees ---------------------------------------- */

static void free_null_is_a_no_op(void) {
    T->free_(NULL);
    T->iter_free(NULL);
}

static void empty_tree_has_len_0_height_1_and_passes_check(void) {
    void *t = T->new_();
    REQUIRE(t);
    CHECK_EQ(T->len(t), 0);
    CHECK_EQ(T->height(t), 1);
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    CHECK_EQ(T->check(t, stderr), LARCH_OK);
    CHECK(absent(t, "", 0));
    CHECK(absent(t, "a", 1));
    CHECK_EQ(T->del(t, "a", 1, NULL), LARCH_NOTFOUND);
    int calls = 0;
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, never_called, &calls), 0);
    CHECK_EQ(calls, 0);
    T->free_(t);
}

static void trees_are_independent(void) {
    void *a = T->new_(), *b = T->new_();
    REQUIRE(a && b);
    CHECK_EQ(put_s(a, "k", 1), LARCH_OK);
    CHECK(absent(b, "k", 1));
    CHECK_EQ(T->len(b), 0);
    T->free_(a);
    T->free_(b);
}

/* ---- bad arguments: EINVAL / EKEYSIZE, and nothing changes ------------------------- */

static void null_handle_is_einval(void) {
    uint64_t v = 7;
    struct update_probe p = {0, -1, LARCH_UPDATE_STORE, 0, 1};
    CHECK_EQ(T->put(NULL, "a", 1, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->insert(NULL, "a", 1, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->get(NULL, "a", 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->del(NULL, "a", 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->cas(NULL, "a", 1, 0, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->update(NULL, "a", 1, probe, &p), LARCH_EINVAL);
    CHECK_EQ(p.calls, 0);
    int calls = 0;
    CHECK_EQ(T->scan(NULL, NULL, 0, NULL, 0, never_called, &calls), LARCH_EINVAL);
    CHECK_EQ(calls, 0);
    CHECK_EQ(v, 7); /* out pointers untouched */
    CHECK(T->iter_new(NULL) == NULL);
    /* chosen: the calls that return no status answer NULL with the neutral value, and
     * check and height report the bad argument. */
    CHECK_EQ(T->len(NULL), 0);
    CHECK_EQ(T->check(NULL, NULL), LARCH_EINVAL);
    CHECK(T->height(NULL) < 0);
}

static void null_key_with_len_is_einval_and_changes_nothing(void) {
    void *t = abc_tree();
    REQUIRE(t);
    uint64_t v = 7;
    struct update_probe p = {0, -1, LARCH_UPDATE_STORE, 0, 1};
    CHECK_EQ(T->put(t, NULL, 1, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->insert(t, NULL, 1, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->get(t, NULL, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->del(t, NULL, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->cas(t, NULL, 1, 0, 1, &v), LARCH_EINVAL);
    CHECK_EQ(T->update(t, NULL, 1, probe, &p), LARCH_EINVAL);
    CHECK_EQ(p.calls, 0);
    int calls = 0;
    CHECK_EQ(T->scan(t, NULL, 1, NULL, 0, never_called, &calls), LARCH_EINVAL);
    CHECK_EQ(calls, 0);
    CHECK_EQ(v, 7);
    CHECK_EQ(T->len(t), 3);
    CHECK(absent(t, "", 0));
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->free_(t);
}

static void null_key_with_len_0_is_the_empty_key(void) {
    void *t = T->new_();
    REQUIRE(t);
    CHECK_EQ(T->put(t, NULL, 0, 5, NULL), LARCH_OK);
    CHECK(has(t, "", 0, 5));
    CHECK(has(t, NULL, 0, 5));
    CHECK_EQ(T->insert(t, NULL, 0, 6, NULL), LARCH_EXISTS);
    CHECK_EQ(T->cas(t, NULL, 0, 5, 6, NULL), LARCH_OK);
    CHECK_EQ(T->del(t, NULL, 0, NULL), LARCH_OK);
    CHECK_EQ(T->len(t), 0);
    T->free_(t);
}

static void null_update_fn_is_einval(void) {
    void *t = abc_tree();
    REQUIRE(t);
    CHECK_EQ(T->update(t, "a", 1, NULL, NULL), LARCH_EINVAL);
    CHECK_EQ(T->update(t, "z", 1, NULL, NULL), LARCH_EINVAL);
    CHECK(has(t, "a", 1, 1));
    CHECK(absent(t, "z", 1));
    T->free_(t);
}

static void null_scan_fn_is_einval(void) {
    void *t = abc_tree();
    REQUIRE(t);
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, NULL, NULL), LARCH_EINVAL);
    T->free_(t);
}

static void key_of_key_max_bytes_works_everywhere(void) {
    void *t = T->new_();
    REQUIRE(t);
    static uint8_t k[LARCH_KEY_MAX];
    memset(k, 0xAB, sizeof k);
    uint64_t v = 0;
    CHECK_EQ(T->put(t, k, LARCH_KEY_MAX, 1, NULL), LARCH_OK);
    CHECK_EQ(T->insert(t, k, LARCH_KEY_MAX, 2, &v), LARCH_EXISTS);
    CHECK_EQ(v, 1);
    CHECK_EQ(T->cas(t, k, LARCH_KEY_MAX, 1, 3, NULL), LARCH_OK);
    struct update_probe p = {0, -1, LARCH_UPDATE_STORE, 0, 4};
    CHECK_EQ(T->update(t, k, LARCH_KEY_MAX, probe, &p), LARCH_OK);
    CHECK(has(t, k, LARCH_KEY_MAX, 4));
    CHECK(absent(t, k, LARCH_KEY_MAX - 1));
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    CHECK(key_is(it, k, LARCH_KEY_MAX));
    T->iter_free(it);
    struct recorder r = {0};
    CHECK_EQ(T->scan(t, k, LARCH_KEY_MAX, NULL, 0, record, &r), 1);
    CHECK_EQ(r.lens[0], LARCH_KEY_MAX);
    CHECK_EQ(T->del(t, k, LARCH_KEY_MAX, &v), LARCH_OK);
    CHECK_EQ(v, 4);
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->free_(t);
}

static void key_longer_than_key_max_is_ekeysize_and_changes_nothing(void) {
    void *t = abc_tree();
    REQUIRE(t);
    static uint8_t k[LARCH_KEY_MAX + 1];
    memset(k, 'a', sizeof k);
    uint64_t v = 7;
    struct update_probe p = {0, -1, LARCH_UPDATE_STORE, 0, 1};
    CHECK_EQ(T->put(t, k, LARCH_KEY_MAX + 1, 1, &v), LARCH_EKEYSIZE);
    CHECK_EQ(T->insert(t, k, LARCH_KEY_MAX + 1, 1, &v), LARCH_EKEYSIZE);
    CHECK_EQ(T->get(t, k, LARCH_KEY_MAX + 1, &v), LARCH_EKEYSIZE);
    CHECK_EQ(T->del(t, k, LARCH_KEY_MAX + 1, &v), LARCH_EKEYSIZE);
    CHECK_EQ(T->cas(t, k, LARCH_KEY_MAX + 1, 0, 1, &v), LARCH_EKEYSIZE);
    CHECK_EQ(T->update(t, k, LARCH_KEY_MAX + 1, probe, &p), LARCH_EKEYSIZE);
    CHECK_EQ(T->put(t, k, SIZE_MAX, 1, &v), LARCH_EKEYSIZE);
    CHECK_EQ(p.calls, 0);
    CHECK_EQ(v, 7);
    CHECK_EQ(T->len(t), 3);
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->free_(t);
}

static void bounds_longer_than_key_max_are_not_errors(void) {
    void *t = abc_tree();
    REQUIRE(t);
    static uint8_t b[3 * LARCH_KEY_MAX];
    memset(b, 'b', sizeof b); /* "bbb...": after "b", before "c" */
    struct recorder r = {0};
    CHECK_EQ(T->scan(t, b, sizeof b, NULL, 0, record, &r), 1);
    CHECK(r.lens[0] == 1 && r.keys[0][0] == 'c');
    memset(&r, 0, sizeof r);
    CHECK_EQ(T->scan(t, NULL, 0, b, sizeof b, record, &r), 2); /* a, b */
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek(it, b, sizeof b);
    CHECK(key_is_s(it, "c"));
    CHECK_EQ(T->status(it), LARCH_OK);
    T->seek_for_prev(it, b, sizeof b);
    CHECK(key_is_s(it, "b"));
    CHECK_EQ(T->status(it), LARCH_OK);
    T->iter_free(it);
    T->free_(t);
}

static void bounds_are_compared_whole_not_cut_at_key_max(void) {
    void *t = T->new_();
    REQUIRE(t);
    static uint8_t k[LARCH_KEY_MAX + 1];
    memset(k, 'a', sizeof k);
    CHECK_EQ(T->put(t, k, LARCH_KEY_MAX, 1, NULL), LARCH_OK); /* "aaa...a", the longest */
    CHECK_EQ(put_s(t, "b", 2), LARCH_OK);
    /* The bound "a" x (KEY_MAX + 1) lies between the two keys. */
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek(it, k, sizeof k);
    CHECK(key_is_s(it, "b"));
    T->seek_for_prev(it, k, sizeof k);
    CHECK(key_is(it, k, LARCH_KEY_MAX));
    T->iter_free(it);
    struct recorder r = {0};
    CHECK_EQ(T->scan(t, k, sizeof k, NULL, 0, record, &r), 1);
    CHECK(r.lens[0] == 1 && r.keys[0][0] == 'b');
    memset(&r, 0, sizeof r);
    CHECK_EQ(T->scan(t, NULL, 0, k, sizeof k, record, &r), 1);
    CHECK_EQ(r.lens[0], LARCH_KEY_MAX);
    memset(&r, 0, sizeof r);
    CHECK_EQ(T->scan(t, NULL, 0, k, LARCH_KEY_MAX, record, &r), 0);
    T->free_(t);
}

static void scan_with_null_hi_is_unbounded_whatever_hilen(void) {
    void *t = abc_tree();
    REQUIRE(t);
    struct recorder r = {0};
    /* chosen: API.md says hi == NULL means unbounded, and names no length */
    CHECK_EQ(T->scan(t, "b", 1, NULL, 5, record, &r), 2);
    T->free_(t);
}

/* ---- put, insert, get, del, cas ---------------------------------------------------- */

static void put_inserts_then_replaces_reporting_the_old_value(void) {
    void *t = T->new_();
    REQUIRE(t);
    uint64_t old = 99;
    CHECK_EQ(T->put(t, "k", 1, 1, &old), LARCH_OK);
    CHECK_EQ(old, 99); /* nothing displaced: *old untouched */
    CHECK_EQ(T->put(t, "k", 1, 2, &old), LARCH_EXISTS);
    CHECK_EQ(old, 1);
    CHECK_EQ(T->put(t, "k", 1, 3, NULL), LARCH_EXISTS);
    CHECK(has(t, "k", 1, 3));
    CHECK_EQ(T->len(t), 1);
    T->free_(t);
}

static void insert_changes_nothing_when_present_and_reports_current(void) {
    void *t = T->new_();
    REQUIRE(t);
    uint64_t cur = 99;
    CHECK_EQ(T->insert(t, "k", 1, 1, &cur), LARCH_OK);
    CHECK_EQ(T->insert(t, "k", 1, 2, &cur), LARCH_EXISTS);
    CHECK_EQ(cur, 1);
    CHECK_EQ(T->insert(t, "k", 1, 3, NULL), LARCH_EXISTS);
    CHECK(has(t, "k", 1, 1));
    CHECK_EQ(T->len(t), 1);
    T->free_(t);
}

static void get_reports_value_or_notfound(void) {
    void *t = abc_tree();
    REQUIRE(t);
    uint64_t v = 42;
    CHECK_EQ(T->get(t, "b", 1, &v), LARCH_OK);
    CHECK_EQ(v, 2);
    v = 42;
    CHECK_EQ(T->get(t, "bb", 2, &v), LARCH_NOTFOUND);
    CHECK_EQ(v, 42);
    CHECK_EQ(T->get(t, "b", 1, NULL), LARCH_OK); /* the header allows a NULL val */
    T->free_(t);
}

static void values_are_whole_64_bit_words(void) {
    void *t = T->new_();
    REQUIRE(t);
    CHECK_EQ(put_s(t, "zero", 0), LARCH_OK);
    CHECK_EQ(put_s(t, "max", UINT64_MAX), LARCH_OK);
    CHECK_EQ(put_s(t, "high", 1ULL << 63), LARCH_OK);
    CHECK(has(t, "zero", 4, 0));
    CHECK(has(t, "max", 3, UINT64_MAX));
    CHECK(has(t, "high", 4, 1ULL << 63));
    T->free_(t);
}

static void del_removes_and_reports_the_old_value(void) {
    void *t = abc_tree();
    REQUIRE(t);
    uint64_t old = 99;
    CHECK_EQ(T->del(t, "b", 1, &old), LARCH_OK);
    CHECK_EQ(old, 2);
    CHECK(absent(t, "b", 1));
    old = 99;
    CHECK_EQ(T->del(t, "b", 1, &old), LARCH_NOTFOUND);
    CHECK_EQ(old, 99);
    CHECK_EQ(T->del(t, "a", 1, NULL), LARCH_OK);
    CHECK_EQ(T->len(t), 1);
    CHECK(has(t, "c", 1, 3));
    T->free_(t);
}

static void cas_swaps_only_the_expected_value(void) {
    void *t = abc_tree();
    REQUIRE(t);
    uint64_t cur = 99;
    CHECK_EQ(T->cas(t, "a", 1, 1, 10, &cur), LARCH_OK);
    CHECK(has(t, "a", 1, 10));
    CHECK_EQ(T->cas(t, "a", 1, 1, 20, &cur), LARCH_EXISTS);
    CHECK_EQ(cur, 10);
    CHECK(has(t, "a", 1, 10));
    CHECK_EQ(T->cas(t, "a", 1, 1, 20, NULL), LARCH_EXISTS);
    CHECK_EQ(T->cas(t, "a", 1, 10, 10, NULL), LARCH_OK); /* expected == desired */
    cur = 99;
    CHECK_EQ(T->cas(t, "z", 1, 0, 1, &cur), LARCH_NOTFOUND);
    CHECK_EQ(cur, 99);
    CHECK(absent(t, "z", 1)); /* cas never inserts */
    CHECK_EQ(T->len(t), 3);
    T->free_(t);
}

/* ---- update ------------------------------------------------------------------------ */

static void update_on_absent_key_sees_0_and_not_present(void) {
    void *t = abc_tree();
    REQUIRE(t);
    for (int action = LARCH_UPDATE_KEEP; action <= LARCH_UPDATE_DELETE; action++) {
        struct update_probe p = {0, -1, action, 77, 5};
        CHECK_EQ(T->update(t, "z", 1, probe, &p), LARCH_NOTFOUND);
        CHECK_EQ(p.calls, 1);
        CHECK_EQ(p.present_seen, 0);
        CHECK_EQ(p.val_seen, 0);
        if (action == LARCH_UPDATE_STORE) {
            CHECK(has(t, "z", 1, 5)); /* store on an absent key inserts */
            CHECK_EQ(T->del(t, "z", 1, NULL), LARCH_OK);
        }
        CHECK(absent(t, "z", 1));
        CHECK_EQ(T->len(t), 3);
    }
    T->free_(t);
}

static void update_on_present_key_sees_its_value(void) {
    void *t = abc_tree();
    REQUIRE(t);
    struct update_probe p = {0, -1, LARCH_UPDATE_KEEP, 77, 5};
    CHECK_EQ(T->update(t, "b", 1, probe, &p), LARCH_OK);
    CHECK_EQ(p.calls, 1);
    CHECK_EQ(p.present_seen, 1);
    CHECK_EQ(p.val_seen, 2);
    CHECK(has(t, "b", 1, 2)); /* KEEP ignores what fn wrote to *val */
    T->free_(t);
}

static void update_store_replaces_a_present_value(void) {
    void *t = abc_tree();
    REQUIRE(t);
    struct update_probe p = {0, -1, LARCH_UPDATE_STORE, 77, 20};
    CHECK_EQ(T->update(t, "b", 1, probe, &p), LARCH_OK);
    CHECK(has(t, "b", 1, 20));
    CHECK_EQ(T->len(t), 3);
    T->free_(t);
}

static void update_delete_removes_a_present_key(void) {
    void *t = abc_tree();
    REQUIRE(t);
    struct update_probe p = {0, -1, LARCH_UPDATE_DELETE, 77, 20};
    CHECK_EQ(T->update(t, "b", 1, probe, &p), LARCH_OK);
    CHECK_EQ(p.val_seen, 2);
    CHECK(absent(t, "b", 1));
    CHECK_EQ(T->len(t), 2);
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->free_(t);
}

static void update_fn_returning_other_values_is_einval_and_changes_nothing(void) {
    void *t = abc_tree();
    REQUIRE(t);
    const int bad[] = {3, -1, 100, LARCH_EINVAL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct update_probe p = {0, -1, bad[i], 77, 20};
        CHECK_EQ(T->update(t, "b", 1, probe, &p), LARCH_EINVAL);
        CHECK_EQ(p.calls, 1);
        struct update_probe q = {0, -1, bad[i], 77, 20};
        CHECK_EQ(T->update(t, "z", 1, probe, &q), LARCH_EINVAL);
        CHECK_EQ(q.calls, 1);
    }
    CHECK(has(t, "b", 1, 2));
    CHECK(absent(t, "z", 1));
    CHECK_EQ(T->len(t), 3);
    T->free_(t);
}

/* update's fn may call larch_epoch_retire/pin/unpin. */
static atomic_int update_retired_freed;

static void count_free(void *p) {
    free(p);
    atomic_fetch_add(&update_retired_freed, 1);
}

static int retire_old_object(void *ctx, uint64_t *val, int present) {
    if (present) {
        larch_epoch_pin();
        larch_epoch_retire((void *)(uintptr_t)*val, count_free);
        larch_epoch_unpin();
    }
    *val = (uint64_t)(uintptr_t)ctx;
    return LARCH_UPDATE_STORE;
}

static void update_fn_may_retire_the_value_it_replaces(void) {
    void *t = T->new_();
    REQUIRE(t);
    atomic_store(&update_retired_freed, 0);
    for (int i = 0; i < 10; i++)
        CHECK(T->update(t, "obj", 3, retire_old_object, malloc(16)) >= 0);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&update_retired_freed), 9);
    uint64_t v;
    CHECK_EQ(T->del(t, "obj", 3, &v), LARCH_OK);
    free((void *)(uintptr_t)v);
    T->free_(t);
}

/* ---- key order --------------------------------------------------------------------- */

static void keys_are_memcmp_ordered_shorter_first(void) {
    void *t = T->new_();
    REQUIRE(t);
    /* In order: "", "\0", "\0\0", "a", "a\0", "a\0b", "ab", "b", "\xff", "\xff\xff". */
    static const struct {
        const char *k;
        size_t len;
    } order[] = {{"", 0},     {"\0", 1}, {"\0\0", 2}, {"a", 1},    {"a\0", 2},
                 {"a\0b", 3}, {"ab", 2}, {"b", 1},    {"\xff", 1}, {"\xff\xff", 2}};
    const size_t n = sizeof order / sizeof order[0];
    for (size_t i = n; i-- > 0;)
        CHECK_EQ(T->put(t, order[i].k, order[i].len, i, NULL), LARCH_OK);
    CHECK_EQ(T->len(t), n);
    struct recorder r = {0};
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, record, &r), (long)n);
    for (size_t i = 0; i < n && i < 64; i++)
        CHECK(r.vals[i] == i && r.lens[i] == order[i].len &&
              memcmp(r.keys[i], order[i].k, order[i].len) == 0);
    void *it = T->iter_new(t);
    REQUIRE(it);
    size_t i = n;
    for (T->seek_last(it); T->valid(it); T->prev(it))
        CHECK(--i < n && key_is(it, order[i].k, order[i].len) && T->value(it) == i);
    CHECK_EQ(i, 0);
    T->iter_free(it);
    for (size_t j = 0; j < n; j++)
        CHECK(has(t, order[j].k, order[j].len, j));
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->free_(t);
}

static void empty_key_is_a_key_like_any_other(void) {
    void *t = abc_tree();
    REQUIRE(t);
    uint64_t v = 0;
    CHECK_EQ(T->put(t, "", 0, 9, NULL), LARCH_OK);
    CHECK_EQ(T->len(t), 4);
    CHECK(has(t, "", 0, 9));
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    CHECK(T->valid(it));
    size_t len = 99;
    const void *k = T->key(it, &len);
    CHECK(k != NULL); /* chosen: a valid iterator's key is never NULL, even of length 0 */
    CHECK_EQ(len, 0);
    CHECK_EQ(T->value(it), 9);
    T->seek_for_prev(it, "", 0);
    CHECK(T->valid(it) && T->value(it) == 9);
    T->seek_for_prev(it, "0", 1); /* "0" < "a": only "" is <= it */
    CHECK(T->valid(it) && T->value(it) == 9);
    T->iter_free(it);
    CHECK_EQ(T->del(t, "", 0, &v), LARCH_OK);
    CHECK_EQ(v, 9);
    CHECK(absent(t, "", 0));
    T->free_(t);
}

/* ---- scan -------------------------------------------------------------------------- */

static void scan_visits_lo_inclusive_to_hi_exclusive(void) {
    void *t = abc_tree();
    REQUIRE(t);
    struct recorder r = {0};
    CHECK_EQ(T->scan(t, "a", 1, "c", 1, record, &r), 2);
    CHECK(r.keys[0][0] == 'a' && r.keys[1][0] == 'b' && r.vals[0] == 1 && r.vals[1] == 2);
    memset(&r, 0, sizeof r);
    CHECK_EQ(T->scan(t, "aa", 2, "bb", 2, record, &r), 1); /* b only */
    CHECK(r.keys[0][0] == 'b');
    memset(&r, 0, sizeof r);
    CHECK_EQ(T->scan(t, "b", 1, NULL, 0, record, &r), 2); /* hi NULL: unbounded */
    memset(&r, 0, sizeof r);
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, record, &r), 3); /* lo NULL, 0: from the start */
    memset(&r, 0, sizeof r);
    CHECK_EQ(T->scan(t, "", 0, "c\0", 2, record, &r), 3); /* "c" < "c\0" */
    T->free_(t);
}

static void scan_with_hi_at_or_below_lo_calls_nothing(void) {
    void *t = abc_tree();
    REQUIRE(t);
    int calls = 0;
    CHECK_EQ(T->scan(t, "b", 1, "b", 1, never_called, &calls), 0);
    CHECK_EQ(T->scan(t, "c", 1, "a", 1, never_called, &calls), 0);
    CHECK_EQ(T->scan(t, "b", 1, "", 0, never_called, &calls), 0);
    CHECK_EQ(T->scan(t, NULL, 0, "", 0, never_called, &calls), 0); /* hi "" is above nothing */
    CHECK_EQ(T->scan(t, "z", 1, NULL, 0, never_called, &calls), 0);
    CHECK_EQ(calls, 0);
    T->free_(t);
}

static void scan_stops_when_fn_returns_nonzero_and_counts_that_call(void) {
    void *t = abc_tree();
    REQUIRE(t);
    struct recorder r = {0};
    r.stop_after = 1;
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, record, &r), 1);
    CHECK_EQ(r.calls, 1);
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, record, &r), 2);
    CHECK_EQ(r.calls, 2);
    memset(&r, 0, sizeof r);
    r.stop_after = 3; /* stops at the last key: still 3 */
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, record, &r), 3);
    T->free_(t);
}

static int stop_with_negative(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len, (void)val;
    (*(int *)ctx)++;
    return -1;
}

static void scan_fn_returning_a_negative_value_also_just_stops(void) {
    void *t = abc_tree();
    REQUIRE(t);
    int calls = 0;
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, stop_with_negative, &calls), 1);
    CHECK_EQ(calls, 1);
    T->free_(t);
}

/* scan's fn may read and write other structures. */
struct copy_ctx {
    void *dst;
    int failures;
};

static int copy_into(void *ctx, const void *key, size_t len, uint64_t val) {
    struct copy_ctx *c = ctx;
    c->failures += T->put(c->dst, key, len, val, NULL) != LARCH_OK;
    return 0;
}

static void scan_fn_may_write_another_tree(void) {
    void *src = T->new_(), *dst = T->new_();
    REQUIRE(src && dst);
    char k[16];
    for (int i = 0; i < 2000; i++)
        CHECK_EQ(T->put(src, k, (size_t)snprintf(k, sizeof k, "key%05d", i), (uint64_t)i, NULL),
                 LARCH_OK);
    struct copy_ctx c = {dst, 0};
    CHECK_EQ(T->scan(src, NULL, 0, NULL, 0, copy_into, &c), 2000);
    CHECK_EQ(c.failures, 0);
    CHECK_EQ(T->len(dst), 2000);
    CHECK(has(dst, "key01234", 8, 1234));
    T->free_(src);
    T->free_(dst);
}

/* scan's fn may read the tree it scans (it holds no lock). */
static int get_the_same_key(void *ctx, const void *key, size_t len, uint64_t val) {
    uint64_t v;
    *(long *)ctx += !(T->get(scanned, key, len, &v) == LARCH_OK && v == val);
    void *it = T->iter_new(scanned);
    T->seek(it, key, len);
    *(long *)ctx += !(T->valid(it) && T->value(it) == val);
    T->iter_free(it);
    return 0;
}

static void scan_fn_may_read_the_tree_it_scans(void) {
    void *t = abc_tree();
    REQUIRE(t);
    scanned = t;
    long bad = 0;
    CHECK_EQ(T->scan(t, NULL, 0, NULL, 0, get_the_same_key, &bad), 3);
    CHECK_EQ(bad, 0);
    T->free_(t);
}

/* ---- len, height, check ---------------------------------------------------------- */

static void len_height_and_check_follow_the_contents(void) {
    void *t = T->new_();
    REQUIRE(t);
    char k[32];
    const int n = 20000;
    for (int i = 0; i < n; i++)
        CHECK_EQ(T->put(t, k, (size_t)snprintf(k, sizeof k, "%d-key", i * 7919 % n), 1, NULL),
                 LARCH_OK);
    CHECK_EQ(T->len(t), n);
    CHECK(T->height(t) > 1);
    for (int i = 1; i < n; i++)
        CHECK_EQ(T->del(t, k, (size_t)snprintf(k, sizeof k, "%d-key", i), NULL), LARCH_OK);
    CHECK_EQ(T->len(t), 1);
    CHECK_EQ(T->height(t), 1); /* one key: a single leaf */
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    for (int i = 1; i < n; i++)
        CHECK_EQ(T->put(t, k, (size_t)snprintf(k, sizeof k, "%d-key", i), 1, NULL), LARCH_OK);
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    for (int i = 0; i < n; i++)
        CHECK_EQ(T->del(t, k, (size_t)snprintf(k, sizeof k, "%d-key", i), NULL), LARCH_OK);
    CHECK_EQ(T->len(t), 0);
    CHECK_EQ(T->height(t), 1); /* empty again: 1 */
    CHECK_EQ(T->check(t, stderr), LARCH_OK);
    T->free_(t);
}

/* ---- iterators --------------------------------------------------------------------- */

static void unpositioned_iterator_is_invalid_and_stays_so(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    CHECK_EQ(T->valid(it), 0);
    size_t len = 99;
    CHECK(T->key(it, &len) == NULL);
    CHECK_EQ(len, 0);
    CHECK_EQ(T->value(it), 0);
    CHECK_EQ(T->status(it), LARCH_OK);
    T->next(it);
    CHECK_EQ(T->valid(it), 0);
    T->prev(it);
    CHECK_EQ(T->valid(it), 0);
    CHECK_EQ(T->status(it), LARCH_OK);
    T->iter_free(it);
    T->free_(t);
}

static void iterator_on_an_empty_tree_finds_nothing(void) {
    void *t = T->new_();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    CHECK_EQ(T->valid(it), 0);
    T->seek_last(it);
    CHECK_EQ(T->valid(it), 0);
    T->seek(it, "", 0);
    CHECK_EQ(T->valid(it), 0);
    T->seek_for_prev(it, "\xff", 1);
    CHECK_EQ(T->valid(it), 0);
    CHECK_EQ(T->status(it), LARCH_OK);
    T->iter_free(it);
    T->free_(t);
}

static void iterator_walks_forward_and_back(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    CHECK(key_is_s(it, "a") && T->value(it) == 1);
    T->next(it);
    CHECK(key_is_s(it, "b") && T->value(it) == 2);
    T->next(it);
    CHECK(key_is_s(it, "c") && T->value(it) == 3);
    T->prev(it); /* a change of direction */
    CHECK(key_is_s(it, "b"));
    T->next(it);
    CHECK(key_is_s(it, "c"));
    T->next(it);
    CHECK_EQ(T->valid(it), 0);
    CHECK_EQ(T->status(it), LARCH_OK);
    T->next(it); /* an invalid iterator stays invalid */
    CHECK_EQ(T->valid(it), 0);
    T->prev(it);
    CHECK_EQ(T->valid(it), 0);
    size_t len = 99;
    CHECK(T->key(it, &len) == NULL && len == 0 && T->value(it) == 0);
    T->seek_last(it);
    CHECK(key_is_s(it, "c"));
    T->prev(it);
    T->prev(it);
    CHECK(key_is_s(it, "a"));
    T->prev(it);
    CHECK_EQ(T->valid(it), 0);
    T->next(it);
    CHECK_EQ(T->valid(it), 0);
    T->iter_free(it);
    T->free_(t);
}

static void seek_finds_the_first_key_at_or_after(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek(it, "b", 1);
    CHECK(key_is_s(it, "b"));
    T->seek(it, "ab", 2);
    CHECK(key_is_s(it, "b"));
    T->seek(it, "", 0); /* before the start */
    CHECK(key_is_s(it, "a"));
    T->seek(it, NULL, 0);
    CHECK(key_is_s(it, "a"));
    T->seek(it, "c\0", 2); /* past the end */
    CHECK_EQ(T->valid(it), 0);
    CHECK_EQ(T->status(it), LARCH_OK);
    T->iter_free(it);
    T->free_(t);
}

static void seek_for_prev_finds_the_last_key_at_or_before(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_for_prev(it, "b", 1);
    CHECK(key_is_s(it, "b"));
    T->seek_for_prev(it, "bz", 2); /* absent: the one before */
    CHECK(key_is_s(it, "b"));
    T->seek_for_prev(it, "a\0", 2);
    CHECK(key_is_s(it, "a"));
    T->seek_for_prev(it, "\xff\xff", 2); /* past the end: the last */
    CHECK(key_is_s(it, "c"));
    T->seek_for_prev(it, "", 0); /* before the start */
    CHECK_EQ(T->valid(it), 0);
    CHECK_EQ(T->status(it), LARCH_OK);
    T->seek_for_prev(it, "A", 1);
    CHECK_EQ(T->valid(it), 0);
    T->iter_free(it);
    T->free_(t);
}

static void seek_with_null_key_and_len_leaves_the_iterator_invalid_with_einval(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    T->seek(it, NULL, 1);
    CHECK_EQ(T->valid(it), 0);
    CHECK_EQ(T->status(it), LARCH_EINVAL);
    T->seek_first(it); /* a good seek clears the status */
    CHECK(key_is_s(it, "a"));
    CHECK_EQ(T->status(it), LARCH_OK);
    T->seek_for_prev(it, NULL, 1);
    CHECK_EQ(T->valid(it), 0);
    CHECK_EQ(T->status(it), LARCH_EINVAL);
    T->iter_free(it);
    T->free_(t);
}

static void iterator_calls_on_a_null_iterator_are_harmless(void) {
    /* chosen: like free(NULL), every iterator call accepts NULL */
    T->seek(NULL, "a", 1);
    T->seek_for_prev(NULL, "a", 1);
    T->seek_first(NULL);
    T->seek_last(NULL);
    T->next(NULL);
    T->prev(NULL);
    CHECK_EQ(T->valid(NULL), 0);
    size_t len = 99;
    CHECK(T->key(NULL, &len) == NULL);
    CHECK_EQ(len, 0);
    CHECK_EQ(T->value(NULL), 0);
    CHECK_EQ(T->status(NULL), LARCH_EINVAL);
}

static void iter_key_accepts_a_null_len(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    CHECK(T->key(it, NULL) == NULL);
    T->seek_first(it);
    const char *k = T->key(it, NULL);
    CHECK(k && k[0] == 'a');
    T->iter_free(it);
    T->free_(t);
}

static void iterator_key_stays_valid_until_the_next_move(void) {
    void *t = T->new_();
    REQUIRE(t);
    char k[16];
    for (int i = 0; i < 100; i++)
        CHECK_EQ(T->put(t, k, (size_t)snprintf(k, sizeof k, "key%03d", i), (uint64_t)i, NULL),
                 LARCH_OK);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek(it, "key050", 6);
    size_t len;
    const char *cur = T->key(it, &len);
    REQUIRE(cur);
    /* Writes to the tree (not moves of this iterator) leave the key readable. */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(T->del(t, k, (size_t)snprintf(k, sizeof k, "key%03d", i), NULL), LARCH_OK);
    CHECK(len == 6 && memcmp(cur, "key050", 6) == 0);
    CHECK_EQ(T->value(it), 50);
    T->iter_free(it);
    T->free_(t);
}

static void iterator_sees_writes_made_before_its_seek(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    CHECK_EQ(put_s(t, "bb", 22), LARCH_OK);
    CHECK_EQ(T->del(t, "c", 1, NULL), LARCH_OK);
    T->seek(it, "b", 1);
    CHECK(key_is_s(it, "b"));
    T->next(it);
    CHECK(key_is_s(it, "bb") && T->value(it) == 22);
    T->next(it);
    CHECK_EQ(T->valid(it), 0);
    T->iter_free(it);
    T->free_(t);
}

static void every_seek_starts_a_pass_that_sees_earlier_writes(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    CHECK_EQ(T->value(it), 1);
    CHECK_EQ(put_s(t, "a", 10), LARCH_EXISTS);
    T->seek_first(it);
    CHECK_EQ(T->value(it), 10);
    CHECK_EQ(put_s(t, "a", 11), LARCH_EXISTS);
    T->seek(it, "a", 1);
    CHECK_EQ(T->value(it), 11);
    CHECK_EQ(put_s(t, "a", 12), LARCH_EXISTS);
    T->seek_for_prev(it, "a", 1);
    CHECK_EQ(T->value(it), 12);
    T->seek_last(it);
    CHECK_EQ(T->value(it), 3);
    CHECK_EQ(put_s(t, "c", 30), LARCH_EXISTS);
    T->seek_last(it);
    CHECK_EQ(T->value(it), 30);
    T->iter_free(it);
    T->free_(t);
}

static void iterator_walks_a_large_tree_both_ways(void) {
    void *t = T->new_();
    REQUIRE(t);
    const int n = 5000;
    for (int i = 0; i < n; i++) {
        uint8_t k[8];
        for (int b = 0; b < 8; b++)
            k[b] = (uint8_t)((uint64_t)i * 2 >> (56 - 8 * b)); /* big-endian, even numbers */
        CHECK_EQ(T->put(t, k, 8, (uint64_t)i, NULL), LARCH_OK);
    }
    void *it = T->iter_new(t);
    REQUIRE(it);
    int i = 0;
    for (T->seek_first(it); T->valid(it); T->next(it))
        CHECK_EQ(T->value(it), i++);
    CHECK_EQ(i, n);
    for (T->seek_last(it); T->valid(it); T->prev(it))
        CHECK_EQ(T->value(it), --i);
    CHECK_EQ(i, 0);
    /* Odd keys are absent: seek lands on the next even one, seek_for_prev on the one
     * before. */
    for (int j = 1; j < 2 * n; j += 98) {
        uint8_t k[8];
        for (int b = 0; b < 8; b++)
            k[b] = (uint8_t)((uint64_t)j >> (56 - 8 * b));
        T->seek(it, k, 8);
        if (j / 2 + 1 < n)
            CHECK(T->valid(it) && T->value(it) == (uint64_t)(j / 2 + 1));
        else
            CHECK(!T->valid(it));
        T->seek_for_prev(it, k, 8);
        CHECK(T->valid(it) && T->value(it) == (uint64_t)(j / 2));
    }
    T->iter_free(it);
    T->free_(t);
}

int main(void) {
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) {
        T = trees[i];
        fprintf(stderr, "== %s\n", T->name);
        RUN(free_null_is_a_no_op);
        RUN(empty_tree_has_len_0_height_1_and_passes_check);
        RUN(trees_are_independent);
        RUN(null_handle_is_einval);
        RUN(null_key_with_len_is_einval_and_changes_nothing);
        RUN(null_key_with_len_0_is_the_empty_key);
        RUN(null_update_fn_is_einval);
        RUN(null_scan_fn_is_einval);
        RUN(key_of_key_max_bytes_works_everywhere);
        RUN(key_longer_than_key_max_is_ekeysize_and_changes_nothing);
        RUN(bounds_longer_than_key_max_are_not_errors);
        RUN(bounds_are_compared_whole_not_cut_at_key_max);
        RUN(scan_with_null_hi_is_unbounded_whatever_hilen);
        RUN(put_inserts_then_replaces_reporting_the_old_value);
        RUN(insert_changes_nothing_when_present_and_reports_current);
        RUN(get_reports_value_or_notfound);
        RUN(values_are_whole_64_bit_words);
        RUN(del_removes_and_reports_the_old_value);
        RUN(cas_swaps_only_the_expected_value);
        RUN(update_on_absent_key_sees_0_and_not_present);
        RUN(update_on_present_key_sees_its_value);
        RUN(update_store_replaces_a_present_value);
        RUN(update_delete_removes_a_present_key);
        RUN(update_fn_returning_other_values_is_einval_and_changes_nothing);
        RUN(update_fn_may_retire_the_value_it_replaces);
        RUN(keys_are_memcmp_ordered_shorter_first);
        RUN(empty_key_is_a_key_like_any_other);
        RUN(scan_visits_lo_inclusive_to_hi_exclusive);
        RUN(scan_with_hi_at_or_below_lo_calls_nothing);
        RUN(scan_stops_when_fn_returns_nonzero_and_counts_that_call);
        RUN(scan_fn_returning_a_negative_value_also_just_stops);
        RUN(scan_fn_may_write_another_tree);
        RUN(scan_fn_may_read_the_tree_it_scans);
        RUN(len_height_and_check_follow_the_contents);
        RUN(unpositioned_iterator_is_invalid_and_stays_so);
        RUN(iterator_on_an_empty_tree_finds_nothing);
        RUN(iterator_walks_forward_and_back);
        RUN(seek_finds_the_first_key_at_or_after);
        RUN(seek_for_prev_finds_the_last_key_at_or_before);
        RUN(seek_with_null_key_and_len_leaves_the_iterator_invalid_with_einval);
        RUN(iterator_calls_on_a_null_iterator_are_harmless);
        RUN(iter_key_accepts_a_null_len);
        RUN(iterator_key_stays_valid_until_the_next_move);
        RUN(iterator_sees_writes_made_before_its_seek);
        RUN(every_seek_starts_a_pass_that_sees_earlier_writes);
        RUN(iterator_walks_a_large_tree_both_ways);
    }
    return harness_finish();
}
