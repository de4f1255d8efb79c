/* The B+ tree and ART contract of API.md, checked from outside: built against the
 * installed headers and library only, one function per documented behaviour (or per
 * choice made where API.md is silent, marked "chosen"), run once for each tree
 * through a table of its calls. */
#include <larch/larch.h>

#include "../harness.h"

#include <pthread.h>
#include <stdbool.h>

struct tree_api {
    const char *name;
    void *(*new_)(void);
    void (*free_)(void *);
    int (*put)(void *, const void *, size_t, uint64_t, uint64_t *);
    int (*insert)(void *, const void *, size_t, uint64_t, uint64_t *);
    int (*get)(void *, const void *, size_t, uint64_t *);
    int (*del)(void *, const void *, size_t, uint64_t *);
    int (*cas)(void *, const void *, size_t, uint64_t, uint64_t, uint64_t *);
    int (*update)(void *, const void *, size_t, larch_update_fn, void *);
    long (*scan)(void *, const void *, size_t, const void *, size_t, larch_scan_fn, void *);
    size_t (*len)(void *);
    int (*height)(void *);
    int (*check)(void *, FILE *);
    void *(*iter_new)(void *);
    void (*iter_free)(void *);
    void (*seek)(void *, const void *, size_t);
    void (*seek_for_prev)(void *, const void *, size_t);
    void (*seek_first)(void *);
    void (*seek_last)(void *);
    int (*valid)(const void *);
    void (*next)(void *);
    void (*prev)(void *);
    const void *(*key)(const void *, size_t *);
    uint64_t (*value)(const void *);
    int (*status)(const void *);
};

/* Wrappers that turn the opaque handles into each tree's own types (a call through
 * a pointer of another function type would be undefined), then the table. */
#define TREE_API(P)                                                                                \
    static void *P##_new_(void) {                                                                  \
        return larch_##P##_new();                                                                  \
    }                                                                                              \
    static void P##_free_(void *t) {                                                               \
        larch_##P##_free(t);                                                                       \
    }                                                                                              \
    static int P##_put(void *t, const void *k, size_t n, uint64_t v, uint64_t *o) {                \
        return larch_##P##_put(t, k, n, v, o);                                                     \
    }                                                                                              \
    static int P##_insert(void *t, const void *k, size_t n, uint64_t v, uint64_t *o) {             \
        return larch_##P##_insert(t, k, n, v, o);                                                  \
    }                                                                                              \
    static int P##_get(void *t, const void *k, size_t n, uint64_t *v) {                            \
        return larch_##P##_get(t, k, n, v);                                                        \
    }                                                                                              \
    static int P##_del(void *t, const void *k, size_t n, uint64_t *o) {                            \
        return larch_##P##_del(t, k, n, o);                                                        \
    }                                                                                              \
    static int P##_cas(void *t, const void *k, size_t n, uint64_t e, uint64_t d, uint64_t *c) {    \
        return larch_##P##_cas(t, k, n, e, d, c);                                                  \
    }                                                                                              \
    static int P##_update(void *t, const void *k, size_t n, larch_update_fn fn, void *ctx) {       \
        return larch_##P##_update(t, k, n, fn, ctx);                                               \
    }                                                                                              \
    static long P##_scan(void *t, const void *lo, size_t lolen, const void *hi, size_t hilen,      \
                         larch_scan_fn fn, void *ctx) {                                            \
        return larch_##P##_scan(t, lo, lolen, hi, hilen, fn, ctx);                                 \
    }                                                                                              \
    static size_t P##_len(void *t) {                                                               \
        return larch_##P##_len(t);                                                                 \
    }                                                                                              \
    static int P##_height(void *t) {                                                               \
        return larch_##P##_height(t);                                                              \
    }                                                                                              \
    static int P##_check(void *t, FILE *err) {                                                     \
        return larch_##P##_check(t, err);                                                          \
    }                                                                                              \
    static void *P##_iter_new(void *t) {                                                           \
        return larch_##P##_iter_new(t);                                                            \
    }                                                                                              \
    static void P##_iter_free(void *it) {                                                          \
        larch_##P##_iter_free(it);                                                                 \
    }                                                                                              \
    static void P##_seek(void *it, const void *k, size_t n) {                                      \
        larch_##P##_iter_seek(it, k, n);                                                           \
    }                                                                                              \
    static void P##_seek_for_prev(void *it, const void *k, size_t n) {                             \
        larch_##P##_iter_seek_for_prev(it, k, n);                                                  \
    }                                                                                              \
    static void P##_seek_first(void *it) {                                                         \
        larch_##P##_iter_seek_first(it);                                                           \
    }                                                                                              \
    static void P##_seek_last(void *it) {                                                          \
        larch_##P##_iter_seek_last(it);                                                            \
    }                                                                                              \
    static int P##_valid(const void *it) {                                                         \
        return larch_##P##_iter_valid(it);                                                         \
    }                                                                                              \
    static void P##_next(void *it) {                                                               \
        larch_##P##_iter_next(it);                                                                 \
    }                                                                                              \
    static void P##_prev(void *it) {                                                               \
        larch_##P##_iter_prev(it);                                                                 \
    }                                                                                              \
    static const void *P##_key(const void *it, size_t *n) {                                        \
        return larch_##P##_iter_key(it, n);                                                        \
    }                                                                                              \
    static uint64_t P##_value(const void *it) {                                                    \
        return larch_##P##_iter_value(it);                                                         \
    }                                                                                              \
    static int P##_status(const void *it) {                                                        \
        return larch_##P##_iter_status(it);                                                        \
    }                                                                                              \
    static const struct tree_api P##_api = {                                                       \
        #P,       P##_new_,          P##_free_,      P##_put,       P##_insert,                    \
        P##_get,  P##_del,           P##_cas,        P##_update,    P##_scan,                      \
        P##_len,  P##_height,        P##_check,      P##_iter_new,  P##_iter_free,                 \
        P##_seek, P##_seek_for_prev, P##_seek_first, P##_seek_last, P##_valid,                     \
        P##_next, P##_prev,          P##_key,        P##_value,     P##_status,                    \
    };

TREE_API(btree)
TREE_API(art)

static const struct tree_api *const trees[] = {&btree_api, &art_api};
static const struct tree_api *T;
static void *scanned; /* the tree a scan callback reads */

/* ---- helpers --------------------------------------------------------------------- */

/* Keys as C strings; the length is strlen unless given. */
static int put_s(void *t, const char *k, uint64_t v) {
    return T->put(t, k, strlen(k), v, NULL);
}

static bool has(void *t, const void *k, size_t len, uint64_t want) {
    uint64_t v = ~want;
    return T->get(t, k, len, &v) == LARCH_OK && v == want;
}

static bool absent(void *t, const void *k, size_t len) {
    uint64_t v;
    return T->get(t, k, len, &v) == LARCH_NOTFOUND;
}

static bool key_is(const void *it, const void *want, size_t want_len) {
    size_t len = 12345;
    const void *k = T->key(it, &len);
    return T->valid(it) && k && len == want_len && memcmp(k, want, len) == 0;
}

static bool key_is_s(const void *it, const char *want) {
    return key_is(it, want, strlen(want));
}

/* A tree holding "a" = 1, "b" = 2, "c" = 3 (and nothing else). */
static void *abc_tree(void) {
    void *t = T->new_();
    if (t && (put_s(t, "a", 1) || put_s(t, "b", 2) || put_s(t, "c", 3))) {
        T->free_(t);
        return NULL;
    }
    return t;
}

/* Records the keys a scan hands out, and stops after `stop_after` calls (0: never). */
struct recorder {
    int calls, stop_after;
    char keys[64][8];
    size_t lens[64];
    uint64_t vals[64];
};

static int record(void *ctx, const void *key, size_t len, uint64_t val) {
    struct recorder *r = ctx;
    if (r->calls < 64) {
        memcpy(r->keys[r->calls], key, len < 8 ? len : 8);
        r->lens[r->calls] = len;
        r->vals[r->calls] = val;
    }
    r->calls++;
    return r->stop_after && r->calls >= r->stop_after;
}

static int never_called(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len, (void)val;
    (*(int *)ctx)++;
    return 0;
}

/* An update fn that records what it saw and does what it is told. */
struct update_probe {
    int calls, present_seen, action;
    uint64_t val_seen, store;
};

static int probe(void *ctx, uint64_t *val, int present) {
    struct update_probe *p = ctx;
    p->calls++;
    p->present_seen = present;
    p->val_seen = *val;
    *val = p->store;
    return p->action;
}

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

/* ---- epochs and handed-out values -------------------------------------------------- */

struct object {
    atomic_int alive;
};

static void kill_object(void *p) {
    struct object *o = p;
    atomic_store(&o->alive, 0);
}

struct deleter {
    void *t;
    atomic_int retired;
    struct object *old;
};

static void *delete_and_retire(void *arg) {
    struct deleter *d = arg;
    uint64_t old = 0;
    if (T->del(d->t, "obj", 3, &old) == LARCH_OK) {
        d->old = (struct object *)(uintptr_t)old;
        larch_epoch_retire(d->old, kill_object);
    }
    atomic_store(&d->retired, 1);
    larch_epoch_barrier(); /* waits for the reader's pin to end */
    return NULL;
}

static void value_returned_while_pinned_stays_protected_until_unpin(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct object obj = {1};
    CHECK_EQ(T->put(t, "obj", 3, (uint64_t)(uintptr_t)&obj, NULL), LARCH_OK);
    void *it = T->iter_new(t);
    REQUIRE(it);
    larch_epoch_pin();
    T->seek(it, "obj", 3);
    struct object *seen = (struct object *)(uintptr_t)T->value(it);
    struct deleter d = {t, 0, NULL};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, delete_and_retire, &d) == 0);
    while (!atomic_load(&d.retired))
        ;
    CHECK(seen == &obj && d.old == &obj);
    for (int i = 0; i < 1000; i++) { /* other threads' sections come and go */
        larch_epoch_pin();
        larch_epoch_unpin();
    }
    CHECK_EQ(atomic_load(&seen->alive), 1);
    larch_epoch_unpin();
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&obj.alive), 0);
    T->iter_free(it);
    T->free_(t);
}

static void value_from_a_batch_read_before_the_pin_is_still_protected(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct object objs[4] = {{1}, {1}, {1}, {1}};
    CHECK_EQ(T->put(t, "a", 1, (uint64_t)(uintptr_t)&objs[0], NULL), LARCH_OK);
    CHECK_EQ(T->put(t, "b", 1, (uint64_t)(uintptr_t)&objs[1], NULL), LARCH_OK);
    CHECK_EQ(T->put(t, "c", 1, (uint64_t)(uintptr_t)&objs[2], NULL), LARCH_OK);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it); /* unpinned: whatever it read ahead is not protected */
    CHECK(key_is_s(it, "a"));
    uint64_t old;
    CHECK_EQ(T->del(t, "b", 1, &old), LARCH_OK);
    larch_epoch_retire((void *)(uintptr_t)old, kill_object);
    CHECK_EQ(T->put(t, "c", 1, (uint64_t)(uintptr_t)&objs[3], &old), LARCH_EXISTS);
    larch_epoch_retire((void *)(uintptr_t)old, kill_object);
    larch_epoch_barrier(); /* b's and c's old objects are gone */
    CHECK(!atomic_load(&objs[1].alive) && !atomic_load(&objs[2].alive));
    larch_epoch_pin();
    T->next(it); /* must not hand out a reclaimed object */
    CHECK(key_is_s(it, "c"));
    const struct object *o = (const struct object *)(uintptr_t)T->value(it);
    CHECK(o == &objs[3] && atomic_load(&o->alive));
    larch_epoch_unpin();
    T->iter_free(it);
    T->free_(t);
}

static void open_iterator_blocks_neither_writers_nor_reclamation(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct object *obj = malloc(sizeof *obj);
    REQUIRE(obj);
    atomic_init(&obj->alive, 1);
    CHECK_EQ(T->put(t, "obj", 3, (uint64_t)(uintptr_t)obj, NULL), LARCH_OK);
    CHECK_EQ(put_s(t, "other", 1), LARCH_OK);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it); /* positioned on "obj", and left open */
    CHECK(key_is_s(it, "obj"));
    uint64_t old = 0;
    CHECK_EQ(T->del(t, "obj", 3, &old), LARCH_OK);
    larch_epoch_retire((void *)(uintptr_t)old, kill_object);
    larch_epoch_barrier(); /* returns: the open iterator pins nothing */
    CHECK_EQ(atomic_load(&obj->alive), 0);
    CHECK(key_is_s(it, "obj")); /* its key is its own copy */
    T->next(it);
    CHECK(key_is_s(it, "other"));
    T->iter_free(it);
    free(obj);
    T->free_(t);
}

/* ---- concurrency --------------------------------------------------------------------- */

enum { WRITERS = 4, PER_WRITER = 3000 };

struct writer {
    void *t;
    int id;
    atomic_int *done;
    long failures;
};

static void *write_own_keys(void *arg) {
    struct writer *w = arg;
    char k[16];
    for (int i = 0; i < PER_WRITER; i++) {
        size_t len = (size_t)snprintf(k, sizeof k, "w%d-%05d", w->id, i);
        w->failures += T->put(w->t, k, len, (uint64_t)i, NULL) != LARCH_OK;
        if (i % 3 == 0)
            w->failures += T->del(w->t, k, len, NULL) != LARCH_OK;
    }
    atomic_fetch_add(w->done, 1);
    return NULL;
}

struct order_ctx {
    char last[16];
    size_t last_len;
    long calls, disorder, fixed_seen;
};

static int check_ascending(void *ctx, const void *key, size_t len, uint64_t val) {
    struct order_ctx *o = ctx;
    size_t m = len < o->last_len ? len : o->last_len;
    int c = memcmp(o->last, key, m);
    if (o->calls > 0 && (c > 0 || (c == 0 && o->last_len >= len)))
        o->disorder++;
    o->fixed_seen += len == 5 && memcmp(key, "fixed", 5) == 0 && val == 5;
    memcpy(o->last, key, len < 16 ? len : 16);
    o->last_len = len < 16 ? len : 16;
    o->calls++;
    return 0;
}

static void concurrent_writers_need_no_registration_and_lose_nothing(void) {
    void *t = T->new_();
    REQUIRE(t);
    CHECK_EQ(put_s(t, "fixed", 5), LARCH_OK); /* present for every pass below */
    atomic_int done = 0;
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){t, i, &done, 0};
        REQUIRE(pthread_create(&th[i], NULL, write_own_keys, &w[i]) == 0);
    }
    long passes = 0, disorder = 0, missed = 0;
    void *it = T->iter_new(t);
    REQUIRE(it);
    while (atomic_load(&done) < WRITERS || passes < 2) {
        struct order_ctx o = {.calls = 0};
        CHECK(T->scan(t, NULL, 0, NULL, 0, check_ascending, &o) == o.calls);
        disorder += o.disorder;
        missed += o.fixed_seen != 1;
        int found = 0;
        for (T->seek_last(it); T->valid(it); T->prev(it))
            found += key_is_s(it, "fixed");
        missed += found != 1;
        CHECK_EQ(T->status(it), LARCH_OK);
        passes++;
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(w[i].failures, 0);
    }
    CHECK_EQ(disorder, 0);
    CHECK_EQ(missed, 0);
    CHECK_EQ(T->len(t), 1 + WRITERS * (PER_WRITER - (PER_WRITER + 2) / 3));
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->iter_free(it);
    T->free_(t);
}

/* Every value that leaves the tree reaches exactly one caller: over a mix of every
 * writing call on a few hot keys, what went in equals what came out plus what is
 * left (as sums and counts of unique values). */
enum { HOT_KEYS = 4, MIX_OPS = 4000 };

struct ledger {
    void *t;
    int id;
    uint64_t in_sum, out_sum;
    long in_count, out_count;
};

static int displacing_update(void *ctx, uint64_t *val, int present) {
    uint64_t *cell = ctx; /* in: the value to store (0: delete); out: the displaced one */
    uint64_t store = cell[0];
    cell[1] = present ? *val : 0;
    cell[2] = present;
    *val = store;
    return store ? LARCH_UPDATE_STORE : LARCH_UPDATE_DELETE;
}

static void *mix_writes(void *arg) {
    struct ledger *l = arg;
    uint64_t seed = (uint64_t)l->id * 0x9E3779B97F4A7C15u + 1;
    for (int i = 0; i < MIX_OPS; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        char k[2] = {'h', (char)('0' + (seed >> 40) % HOT_KEYS)};
        uint64_t fresh = (uint64_t)l->id << 32 | (uint64_t)(i + 1), old = 0;
        int rc;
        switch ((seed >> 50) % 5) {
        case 0:
            rc = T->put(l->t, k, 2, fresh, &old);
            l->in_sum += fresh, l->in_count++;
            if (rc == LARCH_EXISTS)
                l->out_sum += old, l->out_count++;
            break;
        case 1:
            if (T->insert(l->t, k, 2, fresh, NULL) == LARCH_OK)
                l->in_sum += fresh, l->in_count++;
            break;
        case 2:
            if (T->del(l->t, k, 2, &old) == LARCH_OK)
                l->out_sum += old, l->out_count++;
            break;
        case 3:
            if (T->get(l->t, k, 2, &old) == LARCH_OK &&
                T->cas(l->t, k, 2, old, fresh, NULL) == LARCH_OK) {
                l->in_sum += fresh, l->in_count++;
                l->out_sum += old, l->out_count++;
            }
            break;
        default: {
            uint64_t cell[3] = {(seed >> 20) % 3 ? fresh : 0, 0, 0};
            if (T->update(l->t, k, 2, displacing_update, cell) >= 0) {
                if (cell[0])
                    l->in_sum += fresh, l->in_count++;
                if (cell[2])
                    l->out_sum += cell[1], l->out_count++;
            }
        }
        }
    }
    return NULL;
}

static void displaced_values_reach_exactly_one_caller(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct ledger l[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        l[i] = (struct ledger){t, i + 1, 0, 0, 0, 0};
        REQUIRE(pthread_create(&th[i], NULL, mix_writes, &l[i]) == 0);
    }
    uint64_t in_sum = 0, out_sum = 0;
    long in_count = 0, out_count = 0;
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        in_sum += l[i].in_sum, out_sum += l[i].out_sum;
        in_count += l[i].in_count, out_count += l[i].out_count;
    }
    for (int k = 0; k < HOT_KEYS; k++) {
        char key[2] = {'h', (char)('0' + k)};
        uint64_t v;
        if (T->get(t, key, 2, &v) == LARCH_OK)
            out_sum += v, out_count++;
    }
    CHECK_EQ(in_count, out_count);
    CHECK(in_sum == out_sum);
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->free_(t);
}

static int increment(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)present;
    ++*val;
    return LARCH_UPDATE_STORE;
}

static void *increment_many(void *arg) {
    for (int i = 0; i < MIX_OPS; i++)
        if (T->update(arg, "counter", 7, increment, NULL) < 0)
            return (void *)1;
    return NULL;
}

static void concurrent_updates_are_atomic(void) {
    void *t = T->new_();
    REQUIRE(t);
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        REQUIRE(pthread_create(&th[i], NULL, increment_many, t) == 0);
    for (int i = 0; i < WRITERS; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
    CHECK(has(t, "counter", 7, WRITERS * MIX_OPS));
    T->free_(t);
}

/* A value that points to an object hands over the object: a reader that gets the
 * value (get, iterator, scan) while pinned sees everything the writer wrote into the
 * object before put (a ThreadSanitizer build would report a race otherwise), and
 * the writer may retire the object it displaced. */
struct payload {
    long magic, serial; /* plain fields, written before put */
};

enum { PAYLOAD_MAGIC = 0x5ca1ab1e, HANDOVER_KEYS = 16, HANDOVER_PUTS = 3000 };

static void free_payload(void *p) {
    free(p);
}

struct handover {
    void *t;
    atomic_int done;
    long bad;
};

static void *publish_payloads(void *arg) {
    struct handover *h = arg;
    for (long i = 0; i < HANDOVER_PUTS; i++) {
        struct payload *p = malloc(sizeof *p);
        p->magic = PAYLOAD_MAGIC;
        p->serial = i;
        char k[2] = {'p', (char)('a' + i % HANDOVER_KEYS)};
        uint64_t old;
        larch_epoch_pin();
        if (T->put(h->t, k, 2, (uint64_t)(uintptr_t)p, &old) == LARCH_EXISTS)
            larch_epoch_retire((void *)(uintptr_t)old, free_payload);
        larch_epoch_unpin();
    }
    atomic_store(&h->done, 1);
    return NULL;
}

static int payload_ok(uint64_t v) {
    const struct payload *p = (const struct payload *)(uintptr_t)v;
    return p->magic == PAYLOAD_MAGIC && p->serial >= 0 && p->serial < HANDOVER_PUTS;
}

static int check_payload(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len;
    *(long *)ctx += !payload_ok(val);
    return 0;
}

static void values_hand_over_the_objects_they_point_to(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct handover h = {t, 0, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, publish_payloads, &h) == 0);
    void *it = T->iter_new(t);
    REQUIRE(it);
    long bad = 0, reads = 0;
    while (!atomic_load(&h.done) || reads == 0) {
        larch_epoch_pin();
        for (int k = 0; k < HANDOVER_KEYS; k++) {
            char key[2] = {'p', (char)('a' + k)};
            uint64_t v;
            if (T->get(t, key, 2, &v) == LARCH_OK)
                bad += !payload_ok(v), reads++;
        }
        for (T->seek_first(it); T->valid(it); T->next(it))
            bad += !payload_ok(T->value(it)), reads++;
        CHECK(T->scan(t, NULL, 0, NULL, 0, check_payload, &bad) >= 0);
        larch_epoch_unpin();
    }
    pthread_join(th, NULL);
    CHECK_EQ(bad, 0);
    T->iter_free(it);
    for (int k = 0; k < HANDOVER_KEYS; k++) {
        char key[2] = {'p', (char)('a' + k)};
        uint64_t v;
        if (T->del(t, key, 2, &v) == LARCH_OK)
            larch_epoch_retire((void *)(uintptr_t)v, free_payload);
    }
    larch_epoch_barrier();
    T->free_(t);
}

/* Trees made, emptied and freed while other threads hold pins and use trees of
 * their own: free must not race with the reclamation of what the tree retired. */
struct churn {
    atomic_int stop;
    long failures;
};

static void *pin_and_use_another_tree(void *arg) {
    struct churn *c = arg;
    void *t = T->new_();
    char k[16];
    for (long i = 0; !atomic_load(&c->stop); i++) {
        larch_epoch_pin();
        size_t len = (size_t)snprintf(k, sizeof k, "%ld", i % 5000);
        c->failures += T->put(t, k, len, (uint64_t)i, NULL) < 0;
        if (i % 2)
            c->failures += T->del(t, k, len, NULL) < 0;
        larch_epoch_unpin();
    }
    T->free_(t);
    return NULL;
}

static void trees_can_be_freed_while_other_threads_work(void) {
    struct churn c = {0, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, pin_and_use_another_tree, &c) == 0);
    char k[16];
    for (int round = 0; round < 20; round++) {
        void *t = T->new_();
        REQUIRE(t);
        for (int i = 0; i < 3000; i++)
            CHECK_EQ(T->put(t, k, (size_t)snprintf(k, sizeof k, "r%d", i), 1, NULL), LARCH_OK);
        for (int i = 0; i < 3000; i += round % 2 + 1) /* merges retire nodes */
            CHECK_EQ(T->del(t, k, (size_t)snprintf(k, sizeof k, "r%d", i), NULL), LARCH_OK);
        T->free_(t);
    }
    atomic_store(&c.stop, 1);
    pthread_join(th, NULL);
    CHECK_EQ(c.failures, 0);
}

struct mover {
    void *it;
    int ok;
};

static void *move_iterator(void *arg) {
    struct mover *m = arg;
    T->next(m->it);
    m->ok = key_is_s(m->it, "b");
    return NULL;
}

static void iterator_may_move_between_threads(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    struct mover m = {it, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, move_iterator, &m) == 0);
    pthread_join(th, NULL);
    CHECK(m.ok);
    T->next(it);
    CHECK(key_is_s(it, "c"));
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
        RUN(value_returned_while_pinned_stays_protected_until_unpin);
        RUN(value_from_a_batch_read_before_the_pin_is_still_protected);
        RUN(open_iterator_blocks_neither_writers_nor_reclamation);
        RUN(concurrent_writers_need_no_registration_and_lose_nothing);
        RUN(iterator_may_move_between_threads);
        RUN(displaced_values_reach_exactly_one_caller);
        RUN(concurrent_updates_are_atomic);
        RUN(values_hand_over_the_objects_they_point_to);
        RUN(trees_can_be_freed_while_other_threads_work);
    }
    return harness_finish();
}
