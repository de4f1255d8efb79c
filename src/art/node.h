/* ART nodes (Leis, Kemper, Neumann, "The Adaptive Radix Tree", ICDE 2013): four
 * inner node kinds by fan-out, and leaves that hold a whole key and its value.
 *
 * A node consumes, below its parent's branch byte, a compressed path (the prefix:
 * its length always, its first ART_PREFIX_STORED bytes stored; longer prefixes are
 * verified against a leaf), then branches on the next key byte. A key that ends
 * exactly after the prefix (a prefix of its siblings' keys, or the empty key at the
 * root) lives in the node's `end` slot. Child slots hold node pointers or tagged
 * leaf pointers (lazy expansion: a lone key hangs as a leaf as high as it can).
 *
 * Every field a reader may see change is atomic and read relaxed under the node's
 * version lock (common/vlock.h). A node's absolute key range never changes: a
 * prefix split moves the front of its prefix into a new parent, a collapse moves
 * its parent's prefix into it, so any leaf reachable from a node (even through
 * stale pointers) carries the node's whole path, which is how long prefixes are
 * read back. Child pointers are stored with release and loaded with acquire, so a
 * reader that finds a new leaf or node also sees it initialised. */
#ifndef LARCH_ART_NODE_H
#define LARCH_ART_NODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/key.h"
#include "common/vlock.h"

#define ART_PREFIX_STORED 8

/* ART_BUCKET: a leaf bucket (bucket.h), a child kind that holds keys, not children. */
enum art_kind { ART_NODE4, ART_NODE16, ART_NODE48, ART_NODE256, ART_BUCKET };

struct art_node {
    struct vlock lock;
    _Atomic uint32_t prefix_len;
    _Atomic uint16_t count; /* children, the end slot not included */
    uint8_t kind;           /* fixed at allocation */
    uint8_t unused;
    _Atomic uint64_t prefix; /* stored prefix bytes, byte i in bits 8i..8i+7 */
    _Atomic uintptr_t end;   /* tagged leaf of the key that ends here, or 0 */
};

/* Node4 and Node16: key bytes sorted ascending (one word for a Node4, two for a
 * Node16), then the children in the same order (art_sorted_child). */
struct art_sorted {
    struct art_node h;
    _Atomic uint64_t keys[];
};

/* Node48: index[byte] is 0 or the child's slot + 1. */
struct art_node48 {
    struct art_node h;
    _Atomic uint64_t index[32];
    _Atomic uintptr_t child[48];
};

struct art_node256 {
    struct art_node h;
    _Atomic uintptr_t child[256];
};

/* Key and length never change after publication; the value changes only under the
 * lock of the node whose slot holds the leaf. */
struct art_leaf {
    _Atomic uint64_t value;
    uint32_t len;
    uint8_t key[];
};

static inline unsigned art_capacity(enum art_kind kind) {
    return kind == ART_NODE4 ? 4 : kind == ART_NODE16 ? 16 : kind == ART_NODE48 ? 48 : 256;
}

/* ---- tagged child words ------------------------------------------------------ */

static inline bool art_is_leaf(uintptr_t w) {
    return w & 1;
}

static inline struct art_leaf *art_leaf_of(uintptr_t w) {
    return (struct art_leaf *)(w - 1);
}

static inline uintptr_t art_leaf_word(struct art_leaf *l) {
    return (uintptr_t)l + 1;
}

static inline struct art_node *art_node_of(uintptr_t w) {
    return (struct art_node *)w;
}

/* acquire: pairs with the release in art_slot_publish; whoever finds a leaf or a
 * node through a slot sees it initialised. */
static inline uintptr_t art_slot_load(_Atomic uintptr_t *slot) {
    return atomic_load_explicit(slot, memory_order_acquire);
}

/* release: the leaf or node stored (and every child it points to) was initialised
 * before; see art_slot_load. */
static inline void art_slot_publish(_Atomic uintptr_t *slot, uintptr_t w) {
    atomic_store_explicit(slot, w, memory_order_release);
}

static inline _Atomic uint64_t *art_sorted_keys(struct art_node *n) {
    return ((struct art_sorted *)n)->keys;
}

static inline _Atomic uintptr_t *art_sorted_child(struct art_node *n) {
    return (_Atomic uintptr_t *)(art_sorted_keys(n) + (n->kind == ART_NODE4 ? 1 : 2));
}

/* A leaf's value. acquire: pairs with the release store of a value replaced in
 * place (art.c), so a reader that gets a pointer also sees the object it points to;
 * a leaf's first value is published with the leaf itself (art_slot_publish). */
static inline uint64_t art_leaf_value(const struct art_leaf *l) {
    return atomic_load_explicit(&((struct art_leaf *)l)->value, memory_order_acquire);
}

/* ---- small atomic fields (relaxed: read under the version lock, or written by its
 * holder) ------------------------------------------------------------------------ */

static inline unsigned art_count(struct art_node *n) {
    return atomic_load_explicit(&n->count, memory_order_relaxed);
}

static inline uint32_t art_prefix_len(struct art_node *n) {
    return atomic_load_explicit(&n->prefix_len, memory_order_relaxed);
}

static inline uint8_t art_word_byte(_Atomic uint64_t *words, unsigned i) {
    return (uint8_t)(atomic_load_explicit(&words[i / 8], memory_order_relaxed) >> (8 * (i % 8)));
}

static inline void art_word_set_byte(_Atomic uint64_t *words, unsigned i, uint8_t b) {
    uint64_t w = atomic_load_explicit(&words[i / 8], memory_order_relaxed);
    unsigned shift = 8 * (i % 8);
    w = (w & ~((uint64_t)0xff << shift)) | ((uint64_t)b << shift);
    atomic_store_explicit(&words[i / 8], w, memory_order_relaxed);
}

static inline uint8_t art_prefix_byte(struct art_node *n, unsigned i) {
    return art_word_byte(&n->prefix, i);
}

/* A hint, before child's header is even read, for the lines a descent will want
 * next: where a Node256 keeps the slot of byte b (if the child has no prefix, as
 * in the dense upper levels), and the two lines after the header's (the children
 * of a Node4 or Node16, which malloc's 16-byte alignment spreads over three lines
 * for a Node16, the start of a Node48's index). Prefetches never fault, so a wrong
 * guess costs only the prefetch. The third line measured on 1M 16-digit keys
 * (Node16s on every level): lookups 1.34 -> 1.46 Mops/s (medians of 6 alternated
 * runs), memtable gets 0.98 -> 1.02 (3 alternated runs); 4M u64rand lookups
 * (Node256s and buckets) 2.27 -> 2.26. */
static inline void art_prefetch_child(uintptr_t child, const uint8_t *key, size_t len,
                                      size_t depth) {
    const char *p = (const char *)child;
    __builtin_prefetch(p + 64);
    __builtin_prefetch(p + 128);
    if (depth < len)
        __builtin_prefetch(p + offsetof(struct art_node256, child) + 8u * key[depth]);
}

/* A second hint, for a child that is a large leaf bucket (bucket.h: header of
 * ART_BUCKET_HEADER bytes, then 16-byte pairs spread evenly over its slots, keys of
 * up to 8 bytes as integers): the line of the slot where the key of len <= 8 bytes
 * would sit if the bucket's keys filled the range its first `depth` bytes select,
 * for the two largest capacities (the buckets of a large tree). A bucket's search
 * starts from nearly the same slot, interpolated between its first and last keys,
 * so the line it waits for after the header is already on its way. */
#define ART_BUCKET_HEADER 96
static inline void art_prefetch_bucket_guess(uintptr_t child, const uint8_t *key, size_t len,
                                             size_t depth) {
    if (len > 8 || depth >= len)
        return;
    /* The key's bytes after the first depth, as a fraction of 2^32. */
    uint64_t f = (larch__load_be64(key, len) << (8 * depth)) >> 32;
    const char *pairs = (const char *)child + ART_BUCKET_HEADER;
    __builtin_prefetch(pairs + 16 * ((f * 192) >> 32));
    __builtin_prefetch(pairs + 16 * ((f * 256) >> 32));
}

/* ---- node operations (node.c) --------------------------------------------------- */

#define art_node_new larch__art_node_new
/* A new node of `kind`, unlocked, empty, with no prefix; NULL if memory runs out. */
struct art_node *art_node_new(enum art_kind kind);

#define art_node_free larch__art_node_free
void art_node_free(struct art_node *n);

#define art_leaf_new larch__art_leaf_new
struct art_leaf *art_leaf_new(const uint8_t *key, size_t len, uint64_t value);

#define art_find_child_sparse larch__art_find_child_sparse
/* art_find_child for a Node4, Node16 or Node48. */
_Atomic uintptr_t *art_find_child_sparse(struct art_node *n, uint8_t b);

/* The slot of the child for byte b, or NULL. Read optimistically: the caller
 * validates. A Node256 (the root and the dense levels under it, which every
 * descent passes) without a call. */
static inline _Atomic uintptr_t *art_find_child(struct art_node *n, uint8_t b) {
    if (n->kind == ART_NODE256)
        return &((struct art_node256 *)n)->child[b];
    return art_find_child_sparse(n, b);
}

#define art_next_child larch__art_next_child
/* In direction dir (+1 ascending, -1 descending), the first child whose byte is at
 * or beyond `from` (0..255): its byte to *b and its word, or 0 if none. */
uintptr_t art_next_child(struct art_node *n, int from, int dir, uint8_t *b);

#define art_children larch__art_children
/* Up to max children in direction dir from byte `from` (as art_next_child), and
 * no more after the max_inner-th inner node: their bytes and words, in order, in
 * one pass over the node. Returns how many. */
unsigned art_children(struct art_node *n, int from, int dir, unsigned max, unsigned max_inner,
                      uint8_t *bytes, uintptr_t *words);

#define art_prefetch_leaves larch__art_prefetch_leaves
/* Prefetch the leaves of a Node4 or Node16 (a hint: read without validation). */
void art_prefetch_leaves(struct art_node *n);

#define art_is_full larch__art_is_full
bool art_is_full(struct art_node *n);

#define art_add_child larch__art_add_child
/* Under n's lock, n not full: link w under byte b (absent). */
void art_add_child(struct art_node *n, uint8_t b, uintptr_t w);

#define art_remove_child larch__art_remove_child
/* Under n's lock: unlink the child of byte b (present). */
void art_remove_child(struct art_node *n, uint8_t b);

#define art_copy_into larch__art_copy_into
/* Under the source's lock: copy its prefix, end slot and children into `to` (a new,
 * unpublished node big enough for them). */
void art_copy_into(struct art_node *to, struct art_node *from);

#define art_set_prefix larch__art_set_prefix
/* Set n's prefix to `len` bytes, of which the first min(len, ART_PREFIX_STORED) are
 * given in `bytes`. */
void art_set_prefix(struct art_node *n, const uint8_t *bytes, uint32_t len);

#define art_any_leaf larch__art_any_leaf
/* Some leaf below n (optimistically; NULL if a torn read found none): it carries
 * n's whole path, including the prefix bytes not stored in n. Buckets are passed
 * over: their keys have at most 8 bytes, so a node whose prefix reaches past the
 * stored bytes has none below it. */
struct art_leaf *art_any_leaf(struct art_node *n);

#endif /* LARCH_ART_NODE_H */
