/* The ordered-index contract of API.md as a table of function pointers, so that one
 * body of tests runs against every index: the B+ tree, the ART, and the reference
 * index (tests/index/ref_index.c) that the model-based tests compare against.
 * Handles are void pointers; each table's functions are thin wrappers that pass
 * them on to the index's own calls, which keeps every call free of casts. */
#ifndef LARCH_TESTS_INDEX_OPS_H
#define LARCH_TESTS_INDEX_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <larch/larch.h>

struct index_ops {
    const char *name;
    /* Every allocation goes through src/common/alloc.h, so the failure hook applies. */
    int honours_alloc_hook;
    /* height() reports real levels (the reference index always says 1). */
    int has_levels;

    void *(*new_)(void);
    void (*free_)(void *t);
    int (*put)(void *t, const void *key, size_t len, uint64_t val, uint64_t *old);
    int (*insert)(void *t, const void *key, size_t len, uint64_t val, uint64_t *cur);
    int (*get)(void *t, const void *key, size_t len, uint64_t *val);
    int (*del)(void *t, const void *key, size_t len, uint64_t *old);
    int (*cas)(void *t, const void *key, size_t len, uint64_t expected, uint64_t desired,
               uint64_t *cur);
    int (*update)(void *t, const void *key, size_t len, larch_update_fn fn, void *ctx);
    long (*scan)(void *t, const void *lo, size_t lolen, const void *hi, size_t hilen,
                 larch_scan_fn fn, void *ctx);
    size_t (*len)(void *t);
    int (*height)(void *t);
    int (*check)(void *t, FILE *err);

    void *(*iter_new)(void *t);
    void (*iter_free)(void *it);
    void (*iter_seek)(void *it, const void *key, size_t len);
    void (*iter_seek_for_prev)(void *it, const void *key, size_t len);
    void (*iter_seek_first)(void *it);
    void (*iter_seek_last)(void *it);
    int (*iter_valid)(const void *it);
    void (*iter_next)(void *it);
    void (*iter_prev)(void *it);
    const void *(*iter_key)(const void *it, size_t *len);
    uint64_t (*iter_value)(const void *it);
    int (*iter_status)(const void *it);
};

extern const struct index_ops larch_test_btree_ops, larch_test_art_ops, larch_test_ref_ops;

#endif /* LARCH_TESTS_INDEX_OPS_H */
