/* The B+ tree and the ART through one table of their calls, for the contract
 * programs (contract_tree.c, contract_tree_threads.c) that check both against API.md
 * from outside, and the helpers those programs share. */
#ifndef LARCH_TESTS_INSTALL_CONTRACT_TREE_H
#define LARCH_TESTS_INSTALL_CONTRACT_TREE_H

#include <larch/larch.h>

#include "../harness.h"

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
static const struct tree_api *T; /* the tree under test */

/* ---- helpers --------------------------------------------------------------------- */

/* Keys as C strings; the length is strlen unless given. */
static inline int put_s(void *t, const char *k, uint64_t v) {
    return T->put(t, k, strlen(k), v, NULL);
}

static inline bool has(void *t, const void *k, size_t len, uint64_t want) {
    uint64_t v = ~want;
    return T->get(t, k, len, &v) == LARCH_OK && v == want;
}

static inline bool absent(void *t, const void *k, size_t len) {
    uint64_t v;
    return T->get(t, k, len, &v) == LARCH_NOTFOUND;
}

static inline bool key_is(const void *it, const void *want, size_t want_len) {
    size_t len = 12345;
    const void *k = T->key(it, &len);
    return T->valid(it) && k && len == want_len && memcmp(k, want, len) == 0;
}

static inline bool key_is_s(const void *it, const char *want) {
    return key_is(it, want, strlen(want));
}

/* A tree holding "a" = 1, "b" = 2, "c" = 3 (and nothing else). */
static inline void *abc_tree(void) {
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

static inline int record(void *ctx, const void *key, size_t len, uint64_t val) {
    struct recorder *r = ctx;
    if (r->calls < 64) {
        memcpy(r->keys[r->calls], key, len < 8 ? len : 8);
        r->lens[r->calls] = len;
        r->vals[r->calls] = val;
    }
    r->calls++;
    return r->stop_after && r->calls >= r->stop_after;
}

static inline int never_called(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len, (void)val;
    (*(int *)ctx)++;
    return 0;
}

/* An update fn that records what it saw and does what it is told. */
struct update_probe {
    int calls, present_seen, action;
    uint64_t val_seen, store;
};

static inline int probe(void *ctx, uint64_t *val, int present) {
    struct update_probe *p = ctx;
    p->calls++;
    p->present_seen = present;
    p->val_seen = *val;
    *val = p->store;
    return p->action;
}

#endif /* LARCH_TESTS_INSTALL_CONTRACT_TREE_H */
