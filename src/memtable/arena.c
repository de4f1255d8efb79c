/* The per-CPU sharded arena (arena.h). A thread keeps the shard it last used; only
 * when that shard's lock is taken (another thread on the same CPU, or the thread
 * migrated) does it ask which CPU it is on and move, so the common path is one
 * uncontended lock and a pointer bump. */
#define _GNU_SOURCE /* sched_getcpu */
#include "memtable/arena.h"

#include <sched.h>
#include <stdint.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include <larch/larch.h>

#include "common/alloc.h"
#include "common/backoff.h"

struct arena_block {
    struct arena_block *next;
    size_t size; /* of the whole block: header included, or the mapping */
    /* A huge block's mapping; NULL for a block whose data follows the header,
     * ARENA_ALIGN-aligned (malloc aligns the header). */
    unsigned char *mapped;
};

size_t larch__mt_arena_huge_after = ARENA_HUGE_AFTER;

#define BLOCK_HEADER ((sizeof(struct arena_block) + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN)
/* Shards at most: beyond this many CPUs, CPUs share shards. */
#define SHARDS_MAX 256

/* The shard index + 1 this thread last used; 0 before its first allocation. */
static LARCH_TLS_IE unsigned thread_cpu_hint;
/* For systems without sched_getcpu: threads are spread over shards round robin. */
static _Atomic unsigned next_thread_slot;

static unsigned current_cpu(void) {
#ifdef __linux__
    int cpu = sched_getcpu();
    if (cpu >= 0)
        return (unsigned)cpu;
#endif
    return atomic_fetch_add_explicit(&next_thread_slot, 1, memory_order_relaxed);
}

static unsigned shard_count(void) {
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    unsigned want = cpus > 0 ? (unsigned)cpus : 1, n = 1;
    while (n < want && n < SHARDS_MAX)
        n *= 2;
    return n;
}

int arena_init(struct arena *a) {
    unsigned n = shard_count();
    a->shards = larch__aligned_alloc(LARCH_CACHE_PAD, n * sizeof *a->shards);
    if (!a->shards)
        return LARCH_ENOMEM;
    a->mask = n - 1;
    for (unsigned i = 0; i < n; i++) {
        struct arena_shard *s = &a->shards[i];
        atomic_init(&s->locked, false);
        s->cursor = s->end = NULL;
        s->blocks = NULL;
        s->next_block = ARENA_FIRST_BLOCK;
        atomic_init(&s->bytes, 0);
        atomic_init(&s->mapped, 0);
    }
    return LARCH_OK;
}

void arena_destroy(struct arena *a) {
    if (!a->shards)
        return;
    for (unsigned i = 0; i <= a->mask; i++) {
        struct arena_block *b = a->shards[i].blocks;
        while (b) {
            struct arena_block *next = b->next;
#ifdef __linux__
            if (b->mapped)
                munmap(b->mapped, b->size);
#endif
            larch__free(b);
            b = next;
        }
    }
    larch__free(a->shards);
    a->shards = NULL;
}

static bool shard_trylock(struct arena_shard *s) {
    /* acquire: pairs with the release in shard_unlock; the holder sees the cursor
     * and blocks as the last holder left them. */
    return !atomic_load_explicit(&s->locked, memory_order_relaxed) &&
           !atomic_exchange_explicit(&s->locked, true, memory_order_acquire);
}

static void shard_unlock(struct arena_shard *s) {
    /* release: pairs with the acquire in shard_trylock. */
    atomic_store_explicit(&s->locked, false, memory_order_release);
}

/* Locks the caller's shard and returns its index. */
static unsigned shard_lock(struct arena *a) {
    unsigned hint = thread_cpu_hint;
    if (LARCH_LIKELY(hint != 0) && shard_trylock(&a->shards[(hint - 1) & a->mask]))
        return (hint - 1) & a->mask;
    /* First use, or contended: find out where we run now and wait there. */
    unsigned i = current_cpu() & a->mask;
    thread_cpu_hint = i + 1;
    struct larch__backoff backoff = {0};
    while (!shard_trylock(&a->shards[i]))
        larch__backoff_wait(&backoff);
    return i;
}

static void counter_add(_Atomic size_t *c, size_t n) {
    /* relaxed: written under the shard lock; readers want a figure, not an order. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static void counter_sub(_Atomic size_t *c, size_t n) {
    /* relaxed: as in counter_add. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - n,
                          memory_order_relaxed);
}

static void block_link(struct arena_shard *s, struct arena_block *b, size_t size,
                       unsigned char *mapped) {
    b->size = size;
    b->mapped = mapped;
    b->next = s->blocks;
    s->blocks = b;
    counter_add(&s->bytes, size);
    if (mapped)
        counter_add(&s->mapped, size);
}

/* A block of `size` bytes (header included) at the head of the shard's list. */
static struct arena_block *block_new(struct arena_shard *s, size_t size) {
    struct arena_block *b = larch__malloc(size);
    if (b)
        block_link(s, b, size, NULL);
    return b;
}

/* ARENA_HUGE_BLOCK bytes, aligned to their size, advised as huge pages; NULL if
 * they cannot be mapped. Linux (6.7 on) aligns an anonymous mapping of a multiple
 * of 2 MiB by itself; older kernels get twice the size, trimmed. */
static unsigned char *huge_map(void) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const size_t n = ARENA_HUGE_BLOCK;
    unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if ((uintptr_t)p % n) {
        munmap(p, n);
        p = mmap(NULL, 2 * n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        size_t head = (n - (uintptr_t)p % n) % n;
        if (head)
            munmap(p, head);
        munmap(p + head + n, n - head);
        p += head;
    }
    (void)madvise(p, n, MADV_HUGEPAGE); /* advice: refused, the block has small pages */
    return p;
#else
    return NULL;
#endif
}

/* A huge block at the head of the shard's list (its header malloc'd apart, so that
 * the mapping stays aligned); NULL if the header cannot be had or the memory not
 * mapped. */
static struct arena_block *block_new_huge(struct arena_shard *s) {
    struct arena_block *b = larch__malloc(sizeof *b);
    if (!b)
        return NULL;
    unsigned char *p = huge_map();
    if (!p) {
        larch__free(b);
        return NULL;
    }
    block_link(s, b, ARENA_HUGE_BLOCK, p);
    return b;
}

/* Makes a new current block for an allocation of `size` bytes (<= ARENA_LARGE). */
static bool shard_refill(struct arena_shard *s, size_t size) {
    if (atomic_load_explicit(&s->bytes, memory_order_relaxed) >= larch__mt_arena_huge_after) {
        struct arena_block *b = block_new_huge(s);
        if (b) {
            s->cursor = b->mapped;
            s->end = b->mapped + b->size;
            return true;
        }
        /* (no huge block to be had: try a regular one) */
    }
    size_t block = s->next_block;
    while (block - BLOCK_HEADER < size) /* a first block smaller than the request */
        block *= 2;
    struct arena_block *b = block_new(s, block);
    if (!b)
        return false;
    s->cursor = (unsigned char *)b + BLOCK_HEADER;
    s->end = (unsigned char *)b + block;
    if (block * 2 <= ARENA_BLOCK_MAX)
        s->next_block = block * 2;
    return true;
}

/* size (rounded) bytes from the shard's current block, starting a new block if
 * they do not fit; NULL, the shard unchanged, if that block cannot be had. */
static void *shard_alloc(struct arena_shard *s, size_t size) {
    if (size > ARENA_LARGE) {
        if (size > SIZE_MAX - BLOCK_HEADER)
            return NULL;
        struct arena_block *b = block_new(s, BLOCK_HEADER + size);
        return b ? (unsigned char *)b + BLOCK_HEADER : NULL;
    }
    if ((size_t)(s->end - s->cursor) < size && !shard_refill(s, size))
        return NULL;
    void *p = s->cursor;
    s->cursor += size;
    return p;
}

bool arena_alloc(struct arena *a, size_t size, struct arena_spot *spot) {
    if (size > SIZE_MAX - ARENA_ALIGN)
        return false;
    size = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    unsigned i = shard_lock(a);
    void *p = shard_alloc(&a->shards[i], size);
    shard_unlock(&a->shards[i]);
    *spot = (struct arena_spot){i, p, size};
    return p != NULL;
}

void arena_unalloc(struct arena *a, const struct arena_spot *spot) {
    struct arena_shard *s = &a->shards[spot->shard];
    bool large = spot->size > ARENA_LARGE;
    struct arena_block *own =
        large ? (struct arena_block *)((unsigned char *)spot->p - BLOCK_HEADER) : NULL;
    struct larch__backoff backoff = {0};
    while (!shard_trylock(s))
        larch__backoff_wait(&backoff);
    if (large && s->blocks == own) { /* a block of its own, still the newest: free it */
        s->blocks = own->next;
        counter_sub(&s->bytes, own->size);
        larch__free(own);
    } else if (!large && s->cursor == (unsigned char *)spot->p + spot->size) {
        s->cursor = spot->p;
    }
    shard_unlock(s);
}

size_t arena_bytes(const struct arena *a) {
    size_t total = (a->mask + 1) * sizeof *a->shards;
    for (unsigned i = 0; i <= a->mask; i++)
        total += atomic_load_explicit(&a->shards[i].bytes, memory_order_relaxed);
    return total;
}

size_t arena_mapped_bytes(const struct arena *a) {
    size_t total = 0;
    for (unsigned i = 0; i <= a->mask; i++)
        total += atomic_load_explicit(&a->shards[i].mapped, memory_order_relaxed);
    return total;
}
