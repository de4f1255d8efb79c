/* What the memtable stores in its arena: one record per user key (the key's bytes
 * and the head of its version chain) and one version per write. A key's record and
 * its first version are one allocation, the version right after the record (a
 * reader that reaches the record finds the version on the same or the next cache
 * line), and the first version's link says so (VERSION_LINK_RECORD), so the record
 * can be found from the chain and the key's length alone. A chain is sorted by seq,
 * newest first; versions are immutable once published and are never unlinked, so a
 * writer inserts with one CAS on the link it found and readers walk with acquire
 * loads and no validation.
 *
 * The record is laid out as the ART's leaf (struct art_leaf, src/art/node.h: the
 * value word, a 32-bit length, the key), so that the ART indexes the record itself
 * (index_art.c checks the layout at compile time); the B+ tree maps the key to the
 * record's address. */
#ifndef LARCH_MEMTABLE_CHAIN_H
#define LARCH_MEMTABLE_CHAIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memtable/arena.h"

/* vlen of a tombstone; values are shorter. */
#define VERSION_TOMBSTONE UINT32_MAX
/* In a version's link: set in the key's first version, whose record precedes it. */
#define VERSION_LINK_RECORD ((uint64_t)1)

struct mt_version {
    /* The next older version's address (0 at the end), VERSION_LINK_RECORD or'd in. */
    _Atomic uint64_t older;
    uint64_t seq;
    uint32_t vlen; /* or VERSION_TOMBSTONE */
    unsigned char value[];
};

struct mt_record {
    _Atomic uint64_t newest; /* the newest version's address; never 0 once published */
    uint32_t klen;
    unsigned char key[];
};

static inline size_t arena_round(size_t n) {
    return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

/* Arena bytes of a version holding vlen value bytes, and of a record (rounded:
 * its first version follows). */
static inline size_t version_size(size_t vlen) {
    return offsetof(struct mt_version, value) + vlen;
}
static inline size_t record_size(size_t klen) {
    return arena_round(offsetof(struct mt_record, key) + klen);
}

static inline bool version_is_tombstone(const struct mt_version *v) {
    return v->vlen == VERSION_TOMBSTONE;
}

static inline const struct mt_version *version_at(uint64_t word) {
    return (const struct mt_version *)(uintptr_t)(word & ~VERSION_LINK_RECORD);
}

/* The next older version, or NULL. */
static inline const struct mt_version *version_older(const struct mt_version *v) {
    /* acquire: pairs with the release CAS in chain_insert; the version it returns
     * is seen whole. */
    return version_at(atomic_load_explicit(&((struct mt_version *)v)->older, memory_order_acquire));
}

static inline const struct mt_version *record_newest(const struct mt_record *r) {
    /* acquire: pairs with the release store in record_init and the release CAS in
     * chain_insert; the record's key and the version are seen whole. */
    return version_at(atomic_load_explicit(&((struct mt_record *)r)->newest, memory_order_acquire));
}

#define version_init larch__mt_version_init
#define record_init larch__mt_record_init
#define record_of_chain larch__mt_record_of_chain
#define chain_insert larch__mt_chain_insert
#define chain_visible larch__mt_chain_visible
#define chain_oldest_visible larch__mt_chain_oldest_visible
#define chain_newer larch__mt_chain_newer

/* Fills an unpublished version (val NULL and tombstone true for a tombstone). */
void version_init(struct mt_version *v, uint64_t seq, const void *val, size_t vlen, bool tombstone);
/* Fills the unpublished record r, which `first` follows in the arena (at
 * record_size(klen) bytes), so that its chain is that single version; the record
 * may then be published (put in the index). */
void record_init(struct mt_record *r, const void *key, size_t klen, struct mt_version *first);
/* The record of the chain whose newest version is `newest` (a published chain of
 * a key of klen bytes). */
const struct mt_record *record_of_chain(const struct mt_version *newest, size_t klen);
/* Links the unpublished version v into r's chain at its place: LARCH_OK, or
 * LARCH_EXISTS if the chain holds v's seq already (v stays unpublished). Safe
 * against any number of concurrent inserts and readers. */
int chain_insert(struct mt_record *r, struct mt_version *v);
/* From a chain's newest version: the version with the greatest seq <= snapshot,
 * or NULL. */
const struct mt_version *chain_visible(const struct mt_version *newest, uint64_t snapshot);
/* The version with the least seq of the chain, if its seq <= snapshot; else NULL. */
const struct mt_version *chain_oldest_visible(const struct mt_version *newest, uint64_t snapshot);
/* The version with the least seq > v's seq and <= snapshot, or NULL. */
const struct mt_version *chain_newer(const struct mt_version *newest, const struct mt_version *v,
                                     uint64_t snapshot);

#endif /* LARCH_MEMTABLE_CHAIN_H */
