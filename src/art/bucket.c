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
    /* A quarter of the power of two below n: 8, 10, 12, 14, 16, 20, ..., 128, 160,
     * 192, 224, 256. */
    unsigned step = 1u << (31u - (unsigned)__builtin_clz(n) - 2);
    unsigned cap = (n + step - 1) / step * step;
    return cap < ART_BUCKET_MAX ? cap : ART_BUCKET_MAX;
}

/* A bucket whose pairs are not initialised yet (the caller zeroes or fills them
 * all before publishing it). */
static struct art_bucket *bucket_alloc(unsigned cap, unsigned klen) {
    _Static_assert(sizeof(struct art_bucket) == 64, "a bucket's header is one line");
    struct art_bucket *b = larch__aligned_alloc(64, sizeof *b + 2 * cap * sizeof(uint64_t));
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
    atomic_init(&b->off, 0);
    b->unused2 = 0;
    atomic_init(&b->first, 0);
    atomic_init(&b->last, 0);
    b->unused3 = 0;
    return b;
}

/* Zero pairs [from, to) of an unpublished bucket (which nobody else reads yet, so
 * plain stores: the release that publishes the bucket orders them). */
static void zero_pairs(struct art_bucket *b, unsigned from, unsigned to) {
    if (to > from)
        memset((void *)art_bucket_pair(b, from), 0, 2 * (to - from) * sizeof(uint64_t));
}

struct art_bucket *art_bucket_new(unsigned cap, unsigned klen) {
    struct art_bucket *b = bucket_alloc(cap, klen);
    if (b)
        zero_pairs(b, 0, cap);
    return b;
}

/* (relaxed stores: readers validate.) */
static void set_count(struct art_bucket *b, unsigned c) {
    atomic_store_explicit(&b->h.count, (uint16_t)c, memory_order_relaxed);
}

static void set_off(struct art_bucket *b, unsigned off) {
    atomic_store_explicit(&b->off, (uint16_t)off, memory_order_relaxed);
}

static void set_first(struct art_bucket *b, uint64_t kw) {
    atomic_store_explicit(&b->first, kw, memory_order_relaxed);
}

static void set_last(struct art_bucket *b, uint64_t kw) {
    atomic_store_explicit(&b->last, kw, memory_order_relaxed);
}

/* Move n pairs from `from` to `to` (pair indices), the holder of b's lock moving
 * its own entries: keys relaxed, values republished with release (see the file
 * comment). Ascending when moving down, descending when moving up, so no source is
 * overwritten before it is read. (On x86 each is a plain load and store.) */
static void move_pairs(_Atomic uint64_t *pairs, unsigned to, unsigned from, unsigned n) {
    _Atomic uint64_t *d = pairs + 2 * to, *s = pairs + 2 * from;
    if (to < from) {
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

void art_bucket_insert(struct art_bucket *b, unsigned pos, uint64_t kw, uint64_t value) {
    unsigned count = art_count(&b->h), off = art_bucket_off(b);
    /* The shorter side moves, if it has room (one side has). */
    bool front = off > 0 && (pos < count - pos || off + count == b->cap);
    if (front) {
        move_pairs(b->pairs, off - 1, off, pos);
        set_off(b, --off);
    } else {
        move_pairs(b->pairs, off + pos + 1, off + pos, count - pos);
    }
    _Atomic uint64_t *p = art_bucket_pair(b, off + pos);
    atomic_store_explicit(&p[0], kw, memory_order_relaxed);
    /* release: pairs with art_bucket_value's acquire (the value may point to an
     * object the caller just built). */
    atomic_store_explicit(&p[1], value, memory_order_release);
    set_count(b, count + 1);
    if (pos == 0)
        set_first(b, kw);
    if (pos == count)
        set_last(b, kw);
}

void art_bucket_fill(struct art_bucket *b, unsigned n) {
    set_off(b, (b->cap - n) / 2); /* room on both sides */
    set_count(b, n);
}

void art_bucket_fill_entry(struct art_bucket *b, unsigned i, uint64_t kw, uint64_t value) {
    _Atomic uint64_t *p = art_bucket_pair(b, art_bucket_off(b) + i);
    /* relaxed: b is not shared yet; publishing it orders these stores. */
    atomic_store_explicit(&p[0], kw, memory_order_relaxed);
    atomic_store_explicit(&p[1], value, memory_order_relaxed);
    if (i == 0)
        set_first(b, kw);
    if (i + 1 == art_count(&b->h))
        set_last(b, kw);
}

struct art_bucket *art_bucket_copy_insert(unsigned cap, struct art_bucket *from, unsigned count,
                                          unsigned pos, uint64_t kw) {
    unsigned foff = art_bucket_off(from);
    if (count > from->cap - foff) /* (torn: the caller's upgrade fails) */
        count = from->cap - foff;
    if (pos > count)
        pos = count;
    struct art_bucket *to = bucket_alloc(cap, from->klen);
    if (!to)
        return NULL;
    /* The window in the middle of the new pairs: room on both sides. Only the pairs
     * outside it are zeroed: each line of the copy is written once. */
    unsigned off = (cap - (count + 1)) / 2;
    zero_pairs(to, 0, off);
    zero_pairs(to, off + count + 1, cap);
    _Atomic uint64_t *fp = art_bucket_pair(from, foff), *tp = art_bucket_pair(to, off);
    /* relaxed throughout: `from` is read optimistically (the caller's lock upgrade
     * proves the copy exact), `to` is published with release. */
    for (unsigned i = 0, j = 0; i < 2 * count; i++, j++) {
        if (i == 2 * pos)
            j += 2;
        atomic_store_explicit(&tp[j], atomic_load_explicit(&fp[i], memory_order_relaxed),
                              memory_order_relaxed);
    }
    atomic_store_explicit(&tp[2 * pos], kw, memory_order_relaxed);
    atomic_store_explicit(&tp[2 * pos + 1], 0, memory_order_relaxed);
    set_off(to, off);
    set_count(to, count + 1);
    set_first(to, atomic_load_explicit(&tp[0], memory_order_relaxed));
    set_last(to, atomic_load_explicit(&tp[2 * count], memory_order_relaxed));
    return to;
}

void art_bucket_remove(struct art_bucket *b, unsigned pos) {
    unsigned count = art_count(&b->h), off = art_bucket_off(b), gone;
    if (pos < count - 1 - pos) { /* the shorter side moves */
        move_pairs(b->pairs, off + 1, off, pos);
        gone = off;
        set_off(b, off + 1);
    } else {
        move_pairs(b->pairs, off + pos, off + pos + 1, count - 1 - pos);
        gone = off + count - 1;
    }
    /* relaxed: clearing publishes nothing; readers of the old entry fail
     * validation against the version the holder's unlock bumps. */
    _Atomic uint64_t *p = art_bucket_pair(b, gone);
    atomic_store_explicit(&p[0], 0, memory_order_relaxed);
    atomic_store_explicit(&p[1], 0, memory_order_relaxed);
    set_count(b, count - 1);
    if (count == 1) {
        set_first(b, 0);
        set_last(b, 0);
    } else if (pos == 0) {
        set_first(b, art_bucket_key(b, 0));
    } else if (pos == count - 1) {
        set_last(b, art_bucket_key(b, count - 2));
    }
}

_Atomic uint64_t *art_bucket_value_slot(struct art_bucket *b, unsigned i) {
    return art_bucket_pair(b, art_bucket_off(b) + i) + 1;
}

void art_bucket_set_value(struct art_bucket *b, unsigned pos, uint64_t value) {
    /* release: pairs with art_bucket_value's acquire (the value may point to an
     * object the caller just built). */
    atomic_store_explicit(art_bucket_value_slot(b, pos), value, memory_order_release);
}

unsigned art_bucket_shrink_cap(struct art_bucket *b) {
    /* Only at half the capacity, and to a class with room for one more: one insert
     * must not grow it straight back (the class of a power of two is exactly it). */
    unsigned count = art_count(&b->h), cap = art_bucket_cap_for(count + 1);
    return count && 2 * count <= b->cap && cap < b->cap ? cap : 0;
}
