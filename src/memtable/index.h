/* The ordered index under a memtable, as a table of calls: it maps each user key to
 * the key's record (chain.h) and is never asked to change or remove a mapping, so
 * it needs only insert-if-absent, lookups and an iterator. The ART indexes the
 * record itself (the record is its leaf); the B+ tree keeps its own copy of the key
 * and the record's address as the value. */
#ifndef LARCH_MEMTABLE_INDEX_H
#define LARCH_MEMTABLE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "memtable/chain.h"

struct mt_index_ops {
    const char *name;
    void *(*create)(void);
    void (*destroy)(void *ix);
    /* Publishes rec (built by record_init, its key not in the index): LARCH_OK;
     * LARCH_EXISTS if the key has a record already (*found set; rec stays
     * unpublished); or an error (nothing changed). */
    int (*insert)(void *ix, struct mt_record *rec, struct mt_record **found);
    /* For a writer that expects the key present: its record, found without
     * locking (LARCH_OK, LARCH_NOTFOUND or an error). NULL where insert finds a
     * present key as cheaply. */
    int (*find)(void *ix, const void *key, size_t len, struct mt_record **rec);
    /* For a reader: the newest version of the key's chain (LARCH_OK, LARCH_NOTFOUND
     * or an error). */
    int (*newest)(void *ix, const void *key, size_t len, const struct mt_version **v);
    /* An estimate of the index's own bytes (records excluded: they are in the
     * arena) holding `keys` keys of `key_bytes` bytes in all (the trees keep no
     * byte count). */
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
    /* The record of the iterator's key. */
    const struct mt_record *(*iter_record)(const void *it);
    /* Where the record or newest version of the entry `ahead` keys past the
     * iterator's lies, if the iterator holds it already, else NULL: an address to
     * prefetch, never to read (the entry may be gone by the time it is reached). */
    const void *(*iter_ahead)(const void *it, unsigned ahead);
    int (*iter_status)(const void *it);
};

extern const struct mt_index_ops larch__mt_index_btree;

extern const struct mt_index_ops larch__mt_index_art;

/* larch_memtable_new's index: the ART (one key lookup touches a few small nodes
 * instead of a binary search through 4 KiB ones, and its leaves are the records,
 * so a key is stored once). */
#define MT_INDEX_DEFAULT (&larch__mt_index_art)

#endif /* LARCH_MEMTABLE_INDEX_H */
