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

struct art_bucket *art_bucket_new(unsigned cap, unsigned klen) {
    unsigned words = art_bucket_hints(cap) + 2 * cap;
    struct art_bucket *b = larch__malloc(sizeof *b + words * sizeof(uint64_t));
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
    for (unsigned i = 0; i < words; i++)
        atomic_init(&b->words[i], i < ART_HINTS && art_bucket_hints(cap) ? UINT64_MAX : 0);
    return b;
}

/* (relaxed stores: readers validate.) */
static void set_count(struct art_bucket *b, unsigned c) {
    atomic_store_explicit(&b->h.count, (uint16_t)c, memory_order_relaxed);
}

static void set_hint(struct art_bucket *b, unsigned j, uint64_t key, unsigned at) {
    _Atomic uint64_t *pw = &b->words[ART_HINTS + j / 4];
    unsigned shift = 16 * (j % 4);
    uint64_t w = atomic_load_explicit(pw, memory_order_relaxed);
    w = (w & ~((uint64_t)0xffff << shift)) | (uint64_t)at << shift;
    atomic_store_explicit(&b->words[j], key, memory_order_relaxed);
    atomic_store_explicit(pw, w, memory_order_relaxed);
}

void art_bucket_resample(struct art_bucket *b) {
    if (!art_bucket_hints(b->cap))
        return;
    unsigned c = art_count(&b->h);
    for (unsigned j = 0; j < ART_HINTS; j++) {
        unsigned at = art_hint_pos(j, c); /* (< c unless c is 0: then the end) */
        set_hint(b, j, at < c ? art_bucket_key(b, at) : UINT64_MAX, at < c ? at : c);
    }
}

/* After an insert at pos (+1) or a delete at pos (-1), under the lock: the hints
 * past pos move with their keys; one whose key was deleted samples the key that
 * takes its place (or the end). */
static void shift_hints(struct art_bucket *b, unsigned pos, int by) {
    if (!art_bucket_hints(b->cap))
        return;
    unsigned count = art_count(&b->h);
    for (unsigned j = 0; j < ART_HINTS; j++) {
        unsigned at = art_hint_at(b, j);
        if (by > 0 && at >= pos)
            set_hint(b, j, art_hint_key(b, j), at + 1);
        else if (by < 0 && at > pos)
            set_hint(b, j, art_hint_key(b, j), at - 1);
        else if (by < 0 && at == pos)
            set_hint(b, j, pos < count ? art_bucket_key(b, pos) : UINT64_MAX, pos);
    }
}

/* (relaxed loads: the holder reads its own bucket. The arrays are passed in, so
 * that no atomic store makes the compiler read the bucket's header again.) */
static inline void move_entry(_Atomic uint64_t *keys, _Atomic uint64_t *vals, unsigned to,
                              unsigned from) {
    atomic_store_explicit(&keys[to], atomic_load_explicit(&keys[from], memory_order_relaxed),
                          memory_order_relaxed);
    /* release: a moved value is published again (see the file comment). */
    atomic_store_explicit(&vals[to], atomic_load_explicit(&vals[from], memory_order_relaxed),
                          memory_order_release);
}

static void set_off(struct art_bucket *b, unsigned off) {
    atomic_store_explicit(&b->off, (uint16_t)off, memory_order_relaxed);
}

void art_bucket_insert(struct art_bucket *b, unsigned pos, uint64_t kw, uint64_t value) {
    unsigned count = art_count(&b->h), off = art_bucket_off(b);
    _Atomic uint64_t *keys = art_bucket_keys(b), *vals = art_bucket_vals(b);
    /* The shorter side moves, if it has room (one side has). */
    bool front = off > 0 && (pos < count - pos || off + count == b->cap);
    if (front) {
        for (unsigned i = off - 1; i < off - 1 + pos; i++)
            move_entry(keys, vals, i, i + 1);
        set_off(b, --off);
    } else {
        for (unsigned i = off + count; i > off + pos; i--)
            move_entry(keys, vals, i, i - 1);
    }
    atomic_store_explicit(&keys[off + pos], kw, memory_order_relaxed);
    art_bucket_set_value(b, pos, value);
    set_count(b, count + 1);
    shift_hints(b, pos, 1);
}

void art_bucket_copy_insert(struct art_bucket *to, struct art_bucket *from, unsigned count,
                            unsigned pos, uint64_t kw) {
    /* The window in the middle of the new arrays: room on both sides. */
    unsigned off = (to->cap - (count + 1)) / 2, foff = art_bucket_off(from);
    if (count > from->cap - foff) /* (torn: the caller's upgrade fails) */
        count = from->cap - foff;
    _Atomic uint64_t *fk = art_bucket_keys(from) + foff, *fv = art_bucket_vals(from) + foff;
    _Atomic uint64_t *tk = art_bucket_keys(to) + off, *tv = art_bucket_vals(to) + off;
    set_off(to, off);
    /* relaxed throughout: `from` is read optimistically (the caller's lock upgrade
     * proves the copy exact), `to` is published with release. */
    for (unsigned i = 0, j = 0; i < count; i++, j++) {
        if (i == pos)
            j++;
        atomic_store_explicit(&tk[j], atomic_load_explicit(&fk[i], memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&tv[j], atomic_load_explicit(&fv[i], memory_order_relaxed),
                              memory_order_relaxed);
    }
    atomic_store_explicit(&tk[pos], kw, memory_order_relaxed);
    set_count(to, count + 1);
    art_bucket_resample(to);
}

void art_bucket_remove(struct art_bucket *b, unsigned pos) {
    unsigned count = art_count(&b->h), off = art_bucket_off(b), gone;
    _Atomic uint64_t *keys = art_bucket_keys(b), *vals = art_bucket_vals(b);
    if (pos < count - 1 - pos) { /* the shorter side moves */
        for (unsigned i = off + pos; i > off; i--)
            move_entry(keys, vals, i, i - 1);
        gone = off;
        set_off(b, off + 1);
    } else {
        for (unsigned i = off + pos; i + 1 < off + count; i++)
            move_entry(keys, vals, i, i + 1);
        gone = off + count - 1;
    }
    /* relaxed: clearing publishes nothing; readers of the old entry fail
     * validation against the version the holder's unlock bumps. */
    atomic_store_explicit(&keys[gone], 0, memory_order_relaxed);
    atomic_store_explicit(&vals[gone], 0, memory_order_relaxed);
    set_count(b, count - 1);
    shift_hints(b, pos, -1);
}

_Atomic uint64_t *art_bucket_value_slot(struct art_bucket *b, unsigned i) {
    return &art_bucket_vals(b)[art_bucket_off(b) + i];
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
