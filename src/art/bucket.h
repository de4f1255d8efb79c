/* Leaf buckets: the bottom of the tree packed. A bucket hangs in a child slot, as
 * a leaf would, and holds, sorted, the whole keys and values of up to
 * ART_BUCKET_MAX keys below that slot, all of one length of at most 8 bytes: each
 * key as a big-endian word (one integer comparison) with its value beside it, so
 * the line a search ends on carries the value too.
 *
 * The entries are spread over the bucket's slots with gaps between them (a gapped
 * array, as in ALEX, Ding et al., SIGMOD 2020): a bitmap in the header says which
 * slots hold entries, and a gap holds a copy of the next entry's key (UINT64_MAX
 * past the last), so the keys of all slots ascend and a search needs no bitmap
 * to find its place. An insert then moves entries only as far as the nearest gap
 * (a few, at the densities buckets run at), not a quarter of the bucket.
 *
 * A search interpolates between the first and last keys, kept in the header (as
 * the B+ tree's fixed-format leaves do): at 10M random keys a bucket is out of
 * cache, and the guess is a few slots off, so a search waits for the header, then
 * for the guess's line and its prefetched neighbours. A gallop outwards from the
 * guess, then halving, finds the slot whatever the keys' spread (at worst about
 * twice a plain halving).
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
#include "common/isearch.h"
#include "common/key.h"

#define ART_BUCKET_MAX 256
#define ART_BUCKET_KEY_MAX 8
#define ART_BUCKET_USED_WORDS (ART_BUCKET_MAX / 64)
/* Below this many slots a bucket is searched by halving alone. */
#define ART_BUCKET_GUESS_MIN 16
/* The key of a gap past the last entry. */
#define ART_GAP_KEY UINT64_MAX

/* A header of 96 bytes, a multiple of a pair's 16, so that in a malloc'd bucket
 * (16-byte aligned) no pair straddles two lines. (Line-aligned buckets read the
 * header at once but glibc's memalign cost ~270 instructions and ~100 bytes a
 * bucket: at 1M keys, inserts 30% slower and 8 more bytes a key.) */
struct art_bucket {
    struct art_node h; /* no prefix, no end slot; h.count is the number of entries */
    uint16_t cap;      /* slots, fixed at allocation */
    uint8_t klen;      /* the length of every key, fixed at allocation */
    uint8_t unused;
    uint32_t unused2;
    _Atomic uint64_t first, last; /* the keys of the first and last entries (0: none) */
    uint64_t unused3;
    _Atomic uint64_t used[ART_BUCKET_USED_WORDS]; /* bit i: slot i holds an entry */
    _Atomic uint64_t pairs[]; /* cap slots: key, value (a gap: next entry's key, 0) */
};

_Static_assert(sizeof(struct art_bucket) == ART_BUCKET_HEADER, "art_prefetch_bucket_guess");

static inline struct art_bucket *art_bucket_of(struct art_node *n) {
    return (struct art_bucket *)n;
}

static inline bool art_is_bucket(uintptr_t w) {
    return !(w & 1) && art_node_of(w)->kind == ART_BUCKET;
}

/* Entries, clamped to the slots against torn counts. */
static inline unsigned art_bucket_count(struct art_bucket *b) {
    unsigned c = art_count(&b->h);
    return c < b->cap ? c : b->cap;
}

/* The bytes of key word w: all ART_BUCKET_KEY_MAX of them, whatever the key's
 * length (the bytes past it are zero), so the copy is one store, not a copy of a
 * variable length. */
static inline void art_word_key(uint64_t w, uint8_t out[ART_BUCKET_KEY_MAX]) {
    uint64_t m = larch__be64(w); /* byte 0 of the key first in memory */
    memcpy(out, &m, ART_BUCKET_KEY_MAX);
}

/* Slot `at` (of cap) of b: its key word, then its value word. */
static inline _Atomic uint64_t *art_bucket_pair(struct art_bucket *b, unsigned at) {
    return &b->pairs[2 * at];
}

/* Slot at's key (ART_GAP_KEY past the slots: a torn read). relaxed: an optimistic
 * read validated by the bucket's version, or the holder's. */
static inline uint64_t art_bucket_key(struct art_bucket *b, unsigned at) {
    return at < b->cap ? atomic_load_explicit(art_bucket_pair(b, at), memory_order_relaxed)
                       : ART_GAP_KEY;
}

/* Slot at's value. acquire: pairs with the release stores of art_bucket_insert
 * and art_bucket_set_value, so that a reader that gets a pointer also sees the
 * object it points to. */
static inline uint64_t art_bucket_value(struct art_bucket *b, unsigned at) {
    return at < b->cap ? atomic_load_explicit(art_bucket_pair(b, at) + 1, memory_order_acquire) : 0;
}

/* Slot at's value, relaxed: for a copy validated (or made under the lock) with
 * the keys, and republished with release. */
static inline uint64_t art_bucket_value_relaxed(struct art_bucket *b, unsigned at) {
    return at < b->cap ? atomic_load_explicit(art_bucket_pair(b, at) + 1, memory_order_relaxed) : 0;
}

/* Bitmap word i of the slots holding entries (relaxed: validated, or the holder's). */
static inline uint64_t art_bucket_used(struct art_bucket *b, unsigned i) {
    return atomic_load_explicit(&b->used[i], memory_order_relaxed);
}

static inline bool art_bucket_is_used(struct art_bucket *b, unsigned at) {
    return at < b->cap && (art_bucket_used(b, at / 64) >> (at % 64) & 1);
}

/* The first slot at or after `from` that holds an entry (want_used) or is a gap,
 * or cap if none. */
static inline unsigned art_bucket_next(struct art_bucket *b, unsigned from, bool want_used) {
    unsigned cap = b->cap;
    for (unsigned i = from / 64; from < cap && i < ART_BUCKET_USED_WORDS; i++) {
        uint64_t w = art_bucket_used(b, i);
        w = (want_used ? w : ~w) & (i == from / 64 ? ~(uint64_t)0 << (from % 64) : ~(uint64_t)0);
        if (w) {
            unsigned at = 64 * i + (unsigned)__builtin_ctzll(w);
            return at < cap ? at : cap;
        }
    }
    return cap;
}

/* The last slot at or before `from` (which may be -1) that holds an entry
 * (want_used) or is a gap, or -1 if none. */
static inline int art_bucket_prev(struct art_bucket *b, int from, bool want_used) {
    if (from >= (int)b->cap)
        from = (int)b->cap - 1;
    for (int i = from / 64; from >= 0 && i >= 0; i--) {
        uint64_t w = art_bucket_used(b, (unsigned)i);
        w = (want_used ? w : ~w) &
            (i == from / 64 ? ~(uint64_t)0 >> (63 - from % 64) : ~(uint64_t)0);
        if (w)
            return 64 * i + 63 - __builtin_clzll(w);
    }
    return -1;
}

/* Key at of the slots starting at pairs (relaxed: validated by the caller). */
static inline uint64_t art_pairs_key(_Atomic uint64_t *pairs, unsigned at) {
    return atomic_load_explicit(&pairs[2 * at], memory_order_relaxed);
}

/* For larch__isearch: slot p's key is below the target. */
struct art_pairs_target {
    _Atomic uint64_t *pairs;
    uint64_t kw;
};

static inline bool art_pairs_before(const void *ctx, unsigned p) {
    const struct art_pairs_target *t = ctx;
    return art_pairs_key(t->pairs, p) < t->kw;
}

/* The first slot whose key is >= kw (cap if none), read optimistically: the
 * caller validates. If kw is in the bucket, its entry is the first slot from
 * there that holds one (art_bucket_next): the gaps before it hold its key. */
static inline unsigned art_bucket_lower_bound(struct art_bucket *b, uint64_t kw) {
    unsigned count = b->cap;
    _Atomic uint64_t *pairs = b->pairs;
    struct art_pairs_target t = {pairs, kw};
    if (count < ART_BUCKET_GUESS_MIN)
        return larch__isearch_halve(art_pairs_before, &t, 0, count);
    /* relaxed: validated with the rest. */
    unsigned g =
        larch__isearch_guess(atomic_load_explicit(&b->first, memory_order_relaxed),
                             atomic_load_explicit(&b->last, memory_order_relaxed), count, kw);
    /* The neighbouring lines, which a guess a few slots off reads next (a
     * prefetch never faults, so these need no bounds). */
    __builtin_prefetch((const char *)&pairs[2 * g] - 64);
    __builtin_prefetch((const char *)&pairs[2 * g] + 64);
    return larch__isearch_from(art_pairs_before, &t, g, count);
}

/* The slot holding kw, or cap (read optimistically: the caller validates); *at
 * gets where kw would be inserted (its lower bound) when absent. Writers use this
 * (the bitmap); a lookup uses art_bucket_get. */
static inline unsigned art_bucket_find(struct art_bucket *b, uint64_t kw, unsigned *at) {
    unsigned p = art_bucket_lower_bound(b, kw);
    *at = p;
    if (art_bucket_key(b, p) != kw)
        return b->cap;
    unsigned e = art_bucket_next(b, p, true);
    return art_bucket_key(b, e) == kw && e < b->cap ? e : b->cap;
}

/* The capacity a bucket of n entries gets: classes half a power of two apart (the
 * slack is gaps, which make inserts cheap), never over ART_BUCKET_MAX. */
#define art_bucket_cap_for larch__art_bucket_cap_for
unsigned art_bucket_cap_for(unsigned n);

/* The slot holding kw, or cap, for a lookup (read optimistically: the caller
 * validates): the gaps before an entry hold its key and the slots after it
 * greater ones, so the entry is the last slot holding kw, found without reading
 * the bitmap's line (but for the key ART_GAP_KEY, which the gaps past the last
 * entry hold too). */
static inline unsigned art_bucket_get(struct art_bucket *b, uint64_t kw) {
    unsigned at, cap = b->cap;
    if (kw == ART_GAP_KEY)
        return art_bucket_find(b, kw, &at);
    at = art_bucket_lower_bound(b, kw);
    if (art_bucket_key(b, at) != kw) /* (ART_GAP_KEY past the slots) */
        return cap;
    while (at + 1 < cap && art_bucket_key(b, at + 1) == kw)
        at++;
    return at;
}

#define art_bucket_new larch__art_bucket_new
/* A new, empty bucket for keys of klen bytes; NULL if memory runs out. */
struct art_bucket *art_bucket_new(unsigned cap, unsigned klen);

#define art_bucket_insert larch__art_bucket_insert
/* Under b's lock (or into an unpublished b), kw absent, a gap left: put (kw,
 * value) in, at is kw's lower bound (art_bucket_find). */
void art_bucket_insert(struct art_bucket *b, unsigned at, uint64_t kw, uint64_t value);

/* Filling a new, unpublished bucket with n >= 1 entries given in ascending order,
 * spread evenly over its slots: entry i goes to slot i * cap / n (entry 0 in slot
 * 0, stepped without a division), the gaps before it hold its key and the slots
 * past the last entry ART_GAP_KEY. art_bucket_fill_begin, art_bucket_fill_entry
 * for each entry (at most n), then art_bucket_fill_end, which sets the count,
 * the bitmap and the first and last keys. Plain stores: the bucket is published
 * with release. */
struct art_bucket_fill {
    struct art_bucket *to;
    unsigned cap, n, step, rest, err, slot, filled, count;
    uint64_t first, last, used[ART_BUCKET_USED_WORDS];
};

#define art_bucket_fill_begin larch__art_bucket_fill_begin
void art_bucket_fill_begin(struct art_bucket_fill *f, struct art_bucket *b, unsigned n);

#define art_bucket_fill_entry larch__art_bucket_fill_entry
/* The next entry of the fill: returns its slot. */
unsigned art_bucket_fill_entry(struct art_bucket_fill *f, uint64_t kw, uint64_t value);

#define art_bucket_fill_end larch__art_bucket_fill_end
void art_bucket_fill_end(struct art_bucket_fill *f);

#define art_bucket_copy_insert larch__art_bucket_copy_insert
/* A new, unpublished bucket of cap slots: the entries of `from` (read
 * optimistically; at most cap - 1 of them are taken) and key kw (its value still
 * to be stored, in the slot *at), spread evenly; NULL if memory runs out. */
struct art_bucket *art_bucket_copy_insert(unsigned cap, struct art_bucket *from, uint64_t kw,
                                          unsigned *at);

#define art_bucket_value_slot larch__art_bucket_value_slot
/* Where slot at's value lives (under the lock, or in an unpublished bucket). */
_Atomic uint64_t *art_bucket_value_slot(struct art_bucket *b, unsigned at);

#define art_bucket_remove larch__art_bucket_remove
/* Under b's lock: take the entry in slot at out. */
void art_bucket_remove(struct art_bucket *b, unsigned at);

#define art_bucket_set_value larch__art_bucket_set_value
void art_bucket_set_value(struct art_bucket *b, unsigned at, uint64_t value);

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
