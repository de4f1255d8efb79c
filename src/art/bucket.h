/* Leaf buckets: the bottom of the tree packed. A bucket hangs in a child slot, as
 * a leaf would, and holds, sorted, the whole keys and values of up to
 * ART_BUCKET_MAX keys below that slot, all of one length of at most 8 bytes: keys
 * as big-endian words (one integer comparison each), values beside them in a
 * second array, so a search reads only keys and then one value. The entries fill
 * a window of the arrays, so an insert or a delete moves the shorter side.
 *
 * A bucket is a node of kind ART_BUCKET with its own version lock. Readers search
 * it optimistically and validate; writers lock it and insert, delete or change a
 * value in place while there is room (every change bumps the version, value stores
 * too, so an optimistic copy of the entries that validates is exact). A bucket
 * that is full, or meets a key of another length, is rebuilt under its parent's
 * lock into a bigger bucket or into an inner node whose children are buckets and
 * leaves (art_build). */
#ifndef LARCH_ART_BUCKET_H
#define LARCH_ART_BUCKET_H

#include <string.h>

#include "art/node.h"
#include "common/key.h"

#define ART_BUCKET_MAX 256
#define ART_BUCKET_KEY_MAX 8
/* Buckets of at least ART_HINT_MIN_CAP entries keep ART_HINTS sample keys with
 * their positions before their keys (after LeanStore's hints), so a search reads
 * the hints (lines beside the header), then the span between two of them, about
 * count / 17 keys, instead of a binary search's lines all over the keys. They are
 * sampled evenly when a bucket is filled or copied; an insert or a delete in
 * place only moves the positions past it (reading no other key's line). A hint
 * (UINT64_MAX, count) stands for "the end". */
#define ART_HINTS 16
#define ART_HINT_WORDS (ART_HINTS + ART_HINTS / 4) /* keys, then positions (u16) */
#define ART_HINT_MIN_CAP 32

struct art_bucket {
    struct art_node h; /* no prefix, no end slot; h.count is the number of entries */
    uint16_t cap;      /* fixed at allocation */
    uint8_t klen;      /* the length of every key, fixed at allocation */
    uint8_t unused;
    _Atomic uint16_t off; /* entry i is keys[off + i], values[off + i] */
    uint16_t unused2;
    _Atomic uint64_t words[]; /* hints (ART_HINT_WORDS) if cap >= ART_HINT_MIN_CAP,
                               * then keys[cap], then values[cap] */
};

static inline struct art_bucket *art_bucket_of(struct art_node *n) {
    return (struct art_bucket *)n;
}

static inline bool art_is_bucket(uintptr_t w) {
    return !(w & 1) && art_node_of(w)->kind == ART_BUCKET;
}

/* The words of a bucket's hints: ART_HINT_WORDS or none. */
static inline unsigned art_bucket_hints(unsigned cap) {
    return cap >= ART_HINT_MIN_CAP ? ART_HINT_WORDS : 0;
}

/* Where hint j samples when hints are sampled evenly among count keys. */
static inline unsigned art_hint_pos(unsigned j, unsigned count) {
    return (j + 1) * count / (ART_HINTS + 1);
}

/* Hint j's key and position. relaxed: read optimistically (validated) or by the
 * holder of the bucket's lock. */
static inline uint64_t art_hint_key(struct art_bucket *b, unsigned j) {
    return atomic_load_explicit(&b->words[j], memory_order_relaxed);
}

static inline unsigned art_hint_at(struct art_bucket *b, unsigned j) {
    uint64_t w = atomic_load_explicit(&b->words[ART_HINTS + j / 4], memory_order_relaxed);
    return (unsigned)(w >> (16 * (j % 4))) & 0xffff;
}

static inline _Atomic uint64_t *art_bucket_keys(struct art_bucket *b) {
    return b->words + art_bucket_hints(b->cap);
}

static inline _Atomic uint64_t *art_bucket_vals(struct art_bucket *b) {
    return art_bucket_keys(b) + b->cap;
}

/* Where the window starts, clamped against torn reads. */
static inline unsigned art_bucket_off(struct art_bucket *b) {
    unsigned o = atomic_load_explicit(&b->off, memory_order_relaxed);
    return o < b->cap ? o : b->cap;
}

/* Entries, clamped to the window's room against torn counts. */
static inline unsigned art_bucket_count(struct art_bucket *b) {
    unsigned c = art_count(&b->h), room = b->cap - art_bucket_off(b);
    return c < room ? c : room;
}

static inline void art_word_key(uint64_t w, size_t len, uint8_t *out) {
    uint64_t m = larch__be64(w); /* byte 0 of the key first in memory */
    memcpy(out, &m, len);
}

/* Entry i's key (0 past the arrays: a torn read). relaxed: an optimistic read
 * validated by the bucket's version, or the holder's. */
static inline uint64_t art_bucket_key(struct art_bucket *b, unsigned i) {
    unsigned at = art_bucket_off(b) + i;
    return at < b->cap ? atomic_load_explicit(&art_bucket_keys(b)[at], memory_order_relaxed) : 0;
}

/* Entry i's value. acquire: pairs with the release stores of art_bucket_insert
 * and art_bucket_set_value, so that a reader that gets a pointer also sees the
 * object it points to. */
static inline uint64_t art_bucket_value(struct art_bucket *b, unsigned i) {
    unsigned at = art_bucket_off(b) + i;
    return at < b->cap ? atomic_load_explicit(&art_bucket_vals(b)[at], memory_order_acquire) : 0;
}

/* Entry i's value, relaxed: for a copy validated (or made under the lock) with
 * the keys, and republished with release. */
static inline uint64_t art_bucket_value_relaxed(struct art_bucket *b, unsigned i) {
    unsigned at = art_bucket_off(b) + i;
    return at < b->cap ? atomic_load_explicit(&art_bucket_vals(b)[at], memory_order_relaxed) : 0;
}

/* The position of the first key >= kw among the first count keys (read
 * optimistically: the caller validates). */
static inline unsigned art_bucket_lower_bound(struct art_bucket *b, unsigned count, uint64_t kw) {
    unsigned off = art_bucket_off(b);
    if (count > b->cap - off) /* (torn) */
        count = b->cap - off;
    unsigned lo = 0, n = count;
    _Atomic uint64_t *keys = art_bucket_keys(b) + off;
    if (art_bucket_hints(b->cap)) {
        /* How many hints are below kw: the lower bound is past the last of them
         * and at or before the next. */
        unsigned below = 0;
        for (unsigned j = 0; j < ART_HINTS; j++)
            below += art_hint_key(b, j) < kw;
        lo = below ? art_hint_at(b, below - 1) + 1 : 0;
        unsigned hi = below < ART_HINTS ? art_hint_at(b, below) : count;
        hi = hi < count ? hi : count;
        lo = lo < hi ? lo : hi; /* (lo past hi: a torn read, validated later) */
        n = hi - lo;
        if (n) { /* the span's lines, and the first value's (a search wants it) */
            __builtin_prefetch(&keys[lo]);
            __builtin_prefetch(&keys[hi - 1]);
            __builtin_prefetch(&keys[lo + b->cap]);
        }
    }
    while (n > 0) {
        unsigned half = n / 2;
        if (atomic_load_explicit(&keys[lo + half], memory_order_relaxed) < kw) {
            lo += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    return lo;
}

/* The capacity a bucket of n entries gets: growth by about a quarter (so that a
 * bucket wastes little and growth copies little), never over ART_BUCKET_MAX. */
#define art_bucket_cap_for larch__art_bucket_cap_for
unsigned art_bucket_cap_for(unsigned n);

#define art_bucket_new larch__art_bucket_new
/* A new, empty bucket for keys of klen bytes; NULL if memory runs out. */
struct art_bucket *art_bucket_new(unsigned cap, unsigned klen);

#define art_bucket_insert larch__art_bucket_insert
/* Under b's lock (or into an unpublished b), room left: put (kw, value) at pos. */
void art_bucket_insert(struct art_bucket *b, unsigned pos, uint64_t kw, uint64_t value);

#define art_bucket_copy_insert larch__art_bucket_copy_insert
/* Into a new, unpublished bucket `to` with room: the count entries of `from` with
 * key kw (its value still to be stored) at pos. */
void art_bucket_copy_insert(struct art_bucket *to, struct art_bucket *from, unsigned count,
                            unsigned pos, uint64_t kw);

#define art_bucket_value_slot larch__art_bucket_value_slot
/* Where entry i's value lives (under the lock, or in an unpublished bucket). */
_Atomic uint64_t *art_bucket_value_slot(struct art_bucket *b, unsigned i);

#define art_bucket_resample larch__art_bucket_resample
/* Under b's lock or unpublished: sample the hints evenly again (after a fill). */
void art_bucket_resample(struct art_bucket *b);

#define art_bucket_remove larch__art_bucket_remove
/* Under b's lock: take the entry at pos out. */
void art_bucket_remove(struct art_bucket *b, unsigned pos);

#define art_bucket_set_value larch__art_bucket_set_value
void art_bucket_set_value(struct art_bucket *b, unsigned pos, uint64_t value);

#define art_bucket_shrink_cap larch__art_bucket_shrink_cap
/* The capacity b should shrink to after deletes, or 0 to keep it as it is. */
unsigned art_bucket_shrink_cap(struct art_bucket *b);

/* ---- building a subtree from sorted entries (build.c) ------------------------- */

/* One key and value to build into a subtree. */
struct art_entry {
    const uint8_t *key;
    uint32_t len;
    uint64_t value;
};

/* Where the value of the key being written lands in a built subtree, to be stored
 * once the operation has decided it (under the locks). */
struct art_built {
    uintptr_t word;               /* the subtree: a leaf, a bucket or a node */
    _Atomic uint64_t *value_slot; /* the value of entries[mark] */
};

#define art_build larch__art_build
/* Build, unpublished, the subtree for n sorted, distinct entries (n >= 1) that
 * share their first `depth` bytes: a leaf for one, a bucket for keys of one length
 * of at most 8 bytes that fit in one, else an inner node branching after their
 * common prefix whose children are built the same way. The value slot of
 * entries[mark] goes to out->value_slot. false if memory ran out (nothing is
 * left allocated). */
bool art_build(const struct art_entry *entries, unsigned n, size_t depth, unsigned mark,
               struct art_built *out);

#define art_free_subtree larch__art_free_subtree
/* Free a subtree nobody else can reach (the tree's, or an unpublished one); its
 * leaves too unless `leaves` is false (a tree whose caller owns them). */
void art_free_subtree(uintptr_t w, bool leaves);

#endif /* LARCH_ART_BUCKET_H */
