/* The memtable handle, shared by the point operations (memtable.c) and the
 * iterator (iter.c): an index from user key to record, the arena that holds every
 * record and version, and counters striped like the arena's shards. */
#ifndef LARCH_MEMTABLE_MEMTABLE_H
#define LARCH_MEMTABLE_MEMTABLE_H

#include <stdatomic.h>

#include <larch/memtable.h>

#include "common/compiler.h"
#include "memtable/arena.h"
#include "memtable/index.h"

/* Counted by the writer that published, on the stripe of the arena shard it
 * allocated from (the line its CPU just locked), so writers share no counter. */
struct mt_stripe {
    _Atomic size_t versions; /* published versions */
    _Atomic size_t keys;     /* published records (index entries) */
    _Atomic size_t key_bytes;
} __attribute__((aligned(LARCH_CACHE_PAD)));

struct larch_memtable {
    const struct mt_index_ops *ops;
    void *index;
    struct arena arena;
    struct mt_stripe *stripes; /* arena_shards(&arena) of them */
};

#define memtable_new_with larch__memtable_new_with
/* A memtable over the given index (tests run every suite over each index). */
larch_memtable *memtable_new_with(const struct mt_index_ops *ops);

#define memtable_mapped_bytes larch__memtable_mapped_bytes
/* The bytes of m's arena blocks mapped on their own (arena.h), which malloc's
 * statistics do not see: larch-bench adds them to the heap it measures. */
size_t memtable_mapped_bytes(const larch_memtable *m);

#endif /* LARCH_MEMTABLE_MEMTABLE_H */
