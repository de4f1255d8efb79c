/* The memtable's arena: bump allocation from blocks that are freed only all at once,
 * with the memtable. It is sharded per CPU (RocksDB's ConcurrentArena): a thread
 * allocates from the shard of the CPU it last saw, under that shard's spin lock,
 * and looks its CPU up again only when the lock is contended. Each shard's blocks
 * start small and double, so that many small memtables stay small. */
#ifndef LARCH_MEMTABLE_ARENA_H
#define LARCH_MEMTABLE_ARENA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"

/* A shard's first block, and the size its blocks double up to. */
#define ARENA_FIRST_BLOCK 1024
#define ARENA_BLOCK_MAX (64 * 1024)
/* Once a shard holds ARENA_HUGE_AFTER bytes (larch__mt_arena_huge_after), its
 * blocks are ARENA_HUGE_BLOCK bytes mapped on their own, 2 MiB-aligned and advised
 * to the kernel as transparent huge pages: a large memtable then faults its memory
 * in 2 MiB at a time instead of 4 KiB, and its readers miss the TLB less, while
 * small memtables keep their small blocks. */
#define ARENA_HUGE_BLOCK ((size_t)2 << 20)
#define ARENA_HUGE_AFTER ((size_t)4 << 20)
/* Allocations above this get a block of their own, so that a large value does not
 * abandon the tail of the shard's current block. */
#define ARENA_LARGE (ARENA_BLOCK_MAX / 4)
/* Every allocation is rounded up to, and aligned at, this many bytes. */
#define ARENA_ALIGN 8

struct arena_block;

struct arena_shard {
    _Atomic bool locked;
    /* The rest is written under the lock. */
    unsigned char *cursor, *end; /* free space of the current block */
    struct arena_block *blocks;  /* every block of the shard, newest first */
    size_t next_block;           /* size of the next regular block */
    /* Bytes of the shard's blocks, and of those mapped on their own; written under
     * the lock, read by arena_bytes. */
    _Atomic size_t bytes, mapped;
} __attribute__((aligned(LARCH_CACHE_PAD)));

struct arena {
    struct arena_shard *shards;
    unsigned mask; /* shards - 1; the count is a power of two */
};

/* Where an allocation came from, for arena_unalloc and per-shard counters. */
struct arena_spot {
    unsigned shard;
    void *p;
    size_t size;
};

/* ARENA_HUGE_AFTER; tests lower it (set it before any memtable is made). */
extern size_t larch__mt_arena_huge_after;

#define arena_init larch__mt_arena_init
#define arena_destroy larch__mt_arena_destroy
#define arena_alloc larch__mt_arena_alloc
#define arena_unalloc larch__mt_arena_unalloc
#define arena_bytes larch__mt_arena_bytes

/* One shard per CPU (rounded up to a power of two); no block yet. LARCH_OK or
 * LARCH_ENOMEM. */
int arena_init(struct arena *a);
/* Frees every block and the shards. */
void arena_destroy(struct arena *a);
/* size bytes, 8-aligned, described in *spot; false if a block could not be
 * allocated (the arena is then unchanged). */
bool arena_alloc(struct arena *a, size_t size, struct arena_spot *spot);
/* Gives back an allocation that was never published, if nothing was allocated
 * after it in its shard (best effort: otherwise its bytes stay unused). */
void arena_unalloc(struct arena *a, const struct arena_spot *spot);
/* Bytes of every block and of the shards themselves. */
size_t arena_bytes(const struct arena *a);
#define arena_mapped_bytes larch__mt_arena_mapped_bytes
/* Bytes of the blocks mapped on their own (the huge ones), which no malloc
 * statistics see. */
size_t arena_mapped_bytes(const struct arena *a);
/* Number of shards: the stripes of per-CPU counters kept beside the arena. */
static inline unsigned arena_shards(const struct arena *a) {
    return a->mask + 1;
}

#endif /* LARCH_MEMTABLE_ARENA_H */
