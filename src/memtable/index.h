/* The ordered index under a memtable, as a table of calls: it maps each user key to
 * the address of the key's record (chain.h) and is never asked to change or remove
 * a mapping, so it needs only insert-if-absent, get and an iterator. The B+ tree
 * and the ART have the same API, so each table is a page of one-line wrappers. */
#ifndef LARCH_MEMTABLE_INDEX_H
#define LARCH_MEMTABLE_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct mt_index_ops {
    const char *name;
    void *(*create)(void);
    void (*destroy)(void *ix);
    /* larch_btree_insert: LARCH_OK, LARCH_EXISTS (*cur set) or an error. */
    int (*insert)(void *ix, const void *key, size_t len, uint64_t val, uint64_t *cur);
    int (*get)(void *ix, const void *key, size_t len, uint64_t *val);
    /* An estimate of the index's bytes holding `keys` keys of `key_bytes` bytes in
     * all (the trees keep no byte count). */
    size_t (*bytes_estimate)(size_t keys, size_t key_bytes);

    void *(*iter_new)(void *ix);
    void (*iter_free)(void *it);
    void (*iter_seek)(void *it, const void *key, size_t len);
    void (*iter_seek_for_prev)(void *it, const void *key, size_t len);
    void (*iter_seek_first)(void *it);
    void (*iter_seek_last)(void *it);
    int (*iter_valid)(const void *it);
    void (*iter_next)(void *it);
    void (*iter_prev)(void *it);
    uint64_t (*iter_value)(const void *it);
    int (*iter_status)(const void *it);
};

extern const struct mt_index_ops larch__mt_index_btree;

extern const struct mt_index_ops larch__mt_index_art;

/* larch_memtable_new's index: the ART (one key lookup touches a few small nodes
 * instead of a binary search through 4 KiB ones). */
#define MT_INDEX_DEFAULT (&larch__mt_index_art)

#endif /* LARCH_MEMTABLE_INDEX_H */
