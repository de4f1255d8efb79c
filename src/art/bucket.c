/* Leaf buckets: allocation, size classes, and changes in place under the bucket's
 * lock. Moved values are stored again with release, as a Node4 republishes moved
 * children: a reader that finds a value in its new place must see what it points
 * to, and only this store can tell it so. Keys are stored relaxed: readers
 * validate the version. */
#include <stdbool.h>

#include "art/bucket.h"
#include "common/alloc.h"

unsigned art_bucket_cap_for(unsigned n) {
    if (n <= 2)
        return 2;
    if (n <= 8)
        return n <= 4 ? 4 : 8;
    /* Half the power of two below n: 8, 12, 16, 24, 32, 48, ..., 128, 192, 256. */
    unsigned step = 1u << (31u - (unsigned)__builtin_clz(n) - 1);
    unsigned cap = (n + step - 1) / step * step;
    return cap < ART_BUCKET_MAX ? cap : ART_BUCKET_MAX;
}

/* A bucket whose slots are not initialised yet (the caller sets them all before
 * publishing it). */
static struct art_bucket *bucket_alloc(unsigned cap, unsigned klen) {
    _Static_assert(sizeof(struct art_bucket) % 16 == 0, "pairs 16-byte aligned");
    struct art_bucket *b = larch__malloc(sizeof *b + 2 * cap * sizeof(uint64_t));
    if (!b)
        return NULL;
    vlock_init(&b->h.lock);
    atomic_init(&b->h.prefix_len, 0);
    atomic_init(&b->h.count, 0);
    b->h.kind = ART_BUCKET;
    b->h.unused = 0;
    atomic_init(&b->h.prefix, 0);
    atomic_init(&b->h.end, 0);
    b->cap = (uint16_t)cap;
    b->klen = (uint8_t)klen;
    b->unused = 0;
    b->unused2 = 0;
    atomic_init(&b->first, 0);
    atomic_init(&b->last, 0);
    b->unused3 = 0;
    for (unsigned i = 0; i < ART_BUCKET_USED_WORDS; i++)
        atomic_init(&b->used[i], 0);
    return b;
}

/* Slots [from, to) of an unpublished bucket become gaps before key kw. */
static LARCH_ALWAYS_INLINE void init_gaps(struct art_bucket *b, unsigned from, unsigned to,
                                          uint64_t kw) {
    for (unsigned i = from; i < to; i++) {
        atomic_init(art_bucket_pair(b, i), kw);
        atomic_init(art_bucket_pair(b, i) + 1, 0);
    }
}

struct art_bucket *art_bucket_new(unsigned cap, unsigned klen) {
    struct art_bucket *b = bucket_alloc(cap, klen);
    if (b)
        init_gaps(b, 0, cap, ART_GAP_KEY);
    return b;
}

/* (relaxed stores: readers validate.) */
static void set_count(struct art_bucket *b, unsigned c) {
    atomic_store_explicit(&b->h.count, (uint16_t)c, memory_order_relaxed);
}

static void set_first(struct art_bucket *b, uint64_t kw) {
    atomic_store_explicit(&b->first, kw, memory_order_relaxed);
}

static void set_last(struct art_bucket *b, uint64_t kw) {
    atomic_store_explicit(&b->last, kw, memory_order_relaxed);
}

static void set_used(struct art_bucket *b, unsigned at, bool used) {
    uint64_t w = art_bucket_used(b, at / 64), bit = (uint64_t)1 << (at % 64);
    atomic_store_explicit(&b->used[at / 64], used ? w | bit : w & ~bit, memory_order_relaxed);
}

static void set_key(struct art_bucket *b, unsigned at, uint64_t kw) {
    atomic_store_explicit(art_bucket_pair(b, at), kw, memory_order_relaxed);
}

/* Move the entries of slots [from, from + n) by one slot, down (by < 0) or up,
 * the holder of b's lock moving its own entries: keys relaxed, values republished
 * with release (see the file comment). In the order that reads every source
 * before it is overwritten. (On x86 each is a plain load and store.) */
static void move_pairs(_Atomic uint64_t *pairs, unsigned from, unsigned n, int by) {
    _Atomic uint64_t *s = pairs + 2 * from, *d = by < 0 ? s - 2 : s + 2;
    if (by < 0) {
        for (unsigned i = 0; i < 2 * n; i += 2) {
            atomic_store_explicit(&d[i], atomic_load_explicit(&s[i], memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(&d[i + 1], atomic_load_explicit(&s[i + 1], memory_order_relaxed),
                                  memory_order_release);
        }
    } else {
        for (unsigned i = 2 * n; i > 0; i -= 2) {
            atomic_store_explicit(&d[i - 1], atomic_load_explicit(&s[i - 1], memory_order_relaxed),
                                  memory_order_release);
            atomic_store_explicit(&d[i - 2], atomic_load_explicit(&s[i - 2], memory_order_relaxed),
                                  memory_order_relaxed);
        }
    }
}

void art_bucket_insert(struct art_bucket *b, unsigned at, uint64_t kw, uint64_t value) {
    unsigned count = art_count(&b->h);
    if (at >= b->cap || art_bucket_is_used(b, at)) {
        /* Slots [at, ...) up to the nearest gap after, or (at - 1, ...] down to the
         * nearest before, move one slot towards it. A gap before `at` holds the key
         * of the entry that moves into it, and one after the key of an entry past
         * the slots that move, so every gap still holds its next entry's key. */
        unsigned up = art_bucket_next(b, at, false);
        int down = art_bucket_prev(b, (int)at - 1, false);
        if (up < b->cap && (down < 0 || up - at <= at - 1 - (unsigned)down)) {
            move_pairs(b->pairs, at, up - at, 1);
            set_used(b, up, true);
        } else {
            move_pairs(b->pairs, (unsigned)down + 1, at - 1 - (unsigned)down, -1);
            set_used(b, (unsigned)down, true);
            at--;
        }
    } else {
        set_used(b, at, true); /* a gap holding the next key: kw goes in front of it */
    }
    set_key(b, at, kw);
    art_bucket_set_value(b, at, value);
    set_count(b, count + 1);
    /* (relaxed loads: the holder reads its own bucket.) */
    if (count == 0 || kw < atomic_load_explicit(&b->first, memory_order_relaxed))
        set_first(b, kw);
    if (count == 0 || kw > atomic_load_explicit(&b->last, memory_order_relaxed))
        set_last(b, kw);
}

void art_bucket_fill_begin(struct art_bucket_fill *f, struct art_bucket *b, unsigned n) {
    *f = (struct art_bucket_fill){
        .to = b, .cap = b->cap, .n = n, .step = b->cap / n, .rest = b->cap % n};
}

/* art_bucket_fill_entry, inlined into the growth copy. */
static LARCH_ALWAYS_INLINE unsigned fill_put(struct art_bucket_fill *f, uint64_t kw,
                                             uint64_t value) {
    unsigned at = f->slot;
    init_gaps(f->to, f->filled, at, kw);
    atomic_init(art_bucket_pair(f->to, at), kw);
    atomic_init(art_bucket_pair(f->to, at) + 1, value);
    f->used[at / 64] |= (uint64_t)1 << (at % 64);
    f->filled = at + 1;
    f->err += f->rest;
    f->slot = at + f->step + (f->err >= f->n);
    if (f->err >= f->n)
        f->err -= f->n;
    f->first = f->count++ ? f->first : kw;
    f->last = kw;
    return at;
}

unsigned art_bucket_fill_entry(struct art_bucket_fill *f, uint64_t kw, uint64_t value) {
    return fill_put(f, kw, value);
}

/* art_bucket_fill_end, inlined into the growth copy. */
static LARCH_ALWAYS_INLINE void fill_finish(struct art_bucket_fill *f) {
    init_gaps(f->to, f->filled, f->cap, ART_GAP_KEY);
    for (unsigned i = 0; i < ART_BUCKET_USED_WORDS; i++)
        atomic_init(&f->to->used[i], f->used[i]);
    set_count(f->to, f->count);
    set_first(f->to, f->first);
    set_last(f->to, f->last);
}

void art_bucket_fill_end(struct art_bucket_fill *f) {
    fill_finish(f);
}

struct art_bucket *art_bucket_copy_insert(unsigned cap, struct art_bucket *from, uint64_t kw,
                                          unsigned *at) {
    /* relaxed loads throughout: `from` is read optimistically, and the caller's lock
     * upgrade proves the copy exact; a torn one only has to stay inside both
     * buckets (slots below from's capacity, at most cap entries, kw among them). */
    unsigned fcap = from->cap, words = (fcap + 63) / 64, n = 1;
    uint64_t used[ART_BUCKET_USED_WORDS];
    for (unsigned i = 0; i < words; i++) {
        used[i] = art_bucket_used(from, i);
        if (64 * i + 64 > fcap) /* (bits past the slots: a torn read) */
            used[i] &= ~(~(uint64_t)0 << (fcap % 64));
        n += (unsigned)__builtin_popcountll(used[i]);
    }
    n = n < cap ? n : cap;
    struct art_bucket *to = bucket_alloc(cap, from->klen);
    if (!to)
        return NULL;
    struct art_bucket_fill fill;
    art_bucket_fill_begin(&fill, to, n);
    bool placed = false;
    for (unsigned i = 0; i < words; i++) {
        for (uint64_t w = used[i]; w && fill.count + !placed < n; w &= w - 1) {
            unsigned f = 64 * i + (unsigned)__builtin_ctzll(w);
            uint64_t fk = art_pairs_key(from->pairs, f);
            if (!placed && kw < fk) {
                placed = true;
                *at = fill_put(&fill, kw, 0);
            }
            fill_put(&fill, fk,
                     atomic_load_explicit(art_bucket_pair(from, f) + 1, memory_order_relaxed));
        }
    }
    if (!placed)
        *at = fill_put(&fill, kw, 0);
    fill_finish(&fill);
    return to;
}

void art_bucket_remove(struct art_bucket *b, unsigned at) {
    unsigned count = art_count(&b->h), next = art_bucket_next(b, at + 1, true);
    int prev = art_bucket_prev(b, (int)at - 1, true);
    uint64_t next_key = art_bucket_key(b, next); /* (ART_GAP_KEY if none) */
    /* The slot and the gaps before it now lead to the next entry. relaxed:
     * clearing publishes nothing; readers of the old entry fail validation against
     * the version the holder's unlock bumps. */
    set_used(b, at, false);
    atomic_store_explicit(art_bucket_pair(b, at) + 1, 0, memory_order_relaxed);
    for (int i = (int)at; i > prev; i--)
        set_key(b, (unsigned)i, next_key);
    set_count(b, count - 1);
    if (count == 1) {
        set_first(b, 0);
        set_last(b, 0);
    } else if (prev < 0) {
        set_first(b, next_key);
    } else if (next >= b->cap) {
        set_last(b, art_bucket_key(b, (unsigned)prev));
    }
}

_Atomic uint64_t *art_bucket_value_slot(struct art_bucket *b, unsigned at) {
    return art_bucket_pair(b, at) + 1;
}

void art_bucket_set_value(struct art_bucket *b, unsigned at, uint64_t value) {
    /* release: pairs with art_bucket_value's acquire (the value may point to an
     * object the caller just built). */
    atomic_store_explicit(art_bucket_value_slot(b, at), value, memory_order_release);
}

unsigned art_bucket_shrink_cap(struct art_bucket *b) {
    /* Only at half the capacity, and to a class with room for one more: one insert
     * must not grow it straight back (the class of a power of two is exactly it). */
    unsigned count = art_count(&b->h), cap = art_bucket_cap_for(count + 1);
    return count && 2 * count <= b->cap && cap < b->cap ? cap : 0;
}
