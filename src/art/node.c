/* The four node kinds: allocation, child search, insertion and removal in place,
 * and copies for growth and shrinkage. Searches run optimistically (the caller
 * validates the version afterwards), so every index derived from a field read here
 * is bounded before use: a torn read may give nonsense, never an access out of
 * the node. */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <larch/larch.h>

#include "art/node.h"
#include "common/alloc.h"

static size_t node_size(enum art_kind kind) {
    switch (kind) {
    case ART_NODE4:
        return sizeof(struct art_sorted) + 8 + 4 * sizeof(uintptr_t);
    case ART_NODE16:
        return sizeof(struct art_sorted) + 16 + 16 * sizeof(uintptr_t);
    case ART_NODE48:
        return sizeof(struct art_node48);
    default:
        return sizeof(struct art_node256);
    }
}

struct art_node *art_node_new(enum art_kind kind) {
    /* calloc: every atomic field starts at 0 (no prefix, no children, no end). The
     * zero bytes are stored before the node is published with release. */
    struct art_node *n = larch__calloc(1, node_size(kind));
    if (n)
        n->kind = (uint8_t)kind;
    return n;
}

void art_node_free(struct art_node *n) {
    larch__free(n);
}

struct art_leaf *art_leaf_new(const uint8_t *key, size_t len, uint64_t value) {
    struct art_leaf *l = larch__malloc(sizeof *l + len);
    if (!l)
        return NULL;
    atomic_init(&l->value, value);
    l->len = (uint32_t)len;
    if (len)
        memcpy(l->key, key, len);
    return l;
}

bool art_is_full(struct art_node *n) {
    return art_count(n) >= art_capacity(n->kind);
}

/* ---- Node4 / Node16 ------------------------------------------------------------ */

/* Entries of a sorted node, clamped to its capacity against torn counts. */
static unsigned sorted_count(struct art_node *n) {
    unsigned c = art_count(n), cap = art_capacity(n->kind);
    return c < cap ? c : cap;
}

static int sorted_find(struct art_node *n, uint8_t b) {
    _Atomic uint64_t *keys = art_sorted_keys(n);
    unsigned count = sorted_count(n);
#if defined(__SSE2__)
    if (n->kind == ART_NODE16) {
        /* All 16 key bytes at once: the two words as one vector (little-endian,
         * byte i of the words is lane i). */
        __m128i lanes =
            _mm_set_epi64x((long long)atomic_load_explicit(&keys[1], memory_order_relaxed),
                           (long long)atomic_load_explicit(&keys[0], memory_order_relaxed));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(lanes, _mm_set1_epi8((char)b)));
        mask &= (1u << count) - 1;
        return mask ? __builtin_ctz(mask) : -1;
    }
#endif
    for (unsigned i = 0; i < count; i++)
        if (art_word_byte(keys, i) == b)
            return (int)i;
    return -1;
}

/* ---- Node48 ------------------------------------------------------------------- */

static struct art_node48 *n48(struct art_node *n) {
    return (struct art_node48 *)n;
}

/* The slot of byte b's child, or -1. */
static int n48_slot(struct art_node *n, uint8_t b) {
    unsigned i = art_word_byte(n48(n)->index, b);
    return i && i <= 48 ? (int)i - 1 : -1;
}

/* The high bit of every non-zero byte of w. */
static uint64_t nonzero_bytes(uint64_t w) {
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
    return (((w & low7) + low7) | w) & ~low7;
}

/* The high bits of the bytes at or beyond byte j of a word, in direction dir. */
static uint64_t bytes_from(int j, int dir) {
    const uint64_t high = 0x8080808080808080ull;
    return dir > 0 ? high << (8 * j) : high >> (8 * (7 - j));
}

/* ---- search ------------------------------------------------------------------- */

_Atomic uintptr_t *art_find_child_sparse(struct art_node *n, uint8_t b) {
    switch (n->kind) {
    case ART_NODE4:
    case ART_NODE16: {
        int i = sorted_find(n, b);
        return i < 0 ? NULL : &art_sorted_child(n)[i];
    }
    case ART_NODE48: {
        int i = n48_slot(n, b);
        return i < 0 ? NULL : &n48(n)->child[i];
    }
    default:
        return &((struct art_node256 *)n)->child[b];
    }
}

uintptr_t art_next_child(struct art_node *n, int from, int dir, uint8_t *b) {
    uintptr_t w;
    return art_children(n, from, dir, 1, 1, b, &w) ? w : 0;
}

unsigned art_children(struct art_node *n, int from, int dir, unsigned max, unsigned max_inner,
                      uint8_t *bytes, uintptr_t *words) {
    unsigned got = 0, inner = 0;
    switch (n->kind) {
    case ART_NODE4:
    case ART_NODE16: {
        _Atomic uint64_t *keys = art_sorted_keys(n);
        _Atomic uintptr_t *child = art_sorted_child(n);
        unsigned count = sorted_count(n);
        uint64_t k[2] = {atomic_load_explicit(&keys[0], memory_order_relaxed), 0};
        if (n->kind == ART_NODE16) /* a Node4 has one word of keys */
            k[1] = atomic_load_explicit(&keys[1], memory_order_relaxed);
        for (unsigned j = 0; j < count && got < max; j++) {
            unsigned i = dir > 0 ? j : count - 1 - j;
            uint8_t b = (uint8_t)(k[i / 8] >> (8 * (i % 8)));
            if (dir > 0 ? b < from : b > from)
                continue;
            uintptr_t w = art_slot_load(&child[i]);
            if (w) {
                bytes[got] = b;
                words[got++] = w;
                if (!art_is_leaf(w) && ++inner == max_inner)
                    break;
            }
        }
        return got;
    }
    case ART_NODE48:
        /* A word of the index at a time, jumping from one non-empty byte to the
         * next with a bit scan. */
        for (int b = from; b >= 0 && b < 256 && got < max;) {
            int base = b & ~7;
            uint64_t w = atomic_load_explicit(&n48(n)->index[b / 8], memory_order_relaxed);
            uint64_t used = nonzero_bytes(w) & bytes_from(b % 8, dir);
            while (used && got < max) {
                int bit = dir > 0 ? __builtin_ctzll(used) : 63 - __builtin_clzll(used);
                used &= ~((uint64_t)0x80 << (bit & ~7));
                unsigned i = (unsigned)(w >> (bit & ~7)) & 0xff;
                uintptr_t c = i <= 48 ? art_slot_load(&n48(n)->child[i - 1]) : 0;
                if (!c)
                    continue;
                bytes[got] = (uint8_t)(base + bit / 8);
                words[got++] = c;
                if (!art_is_leaf(c) && ++inner == max_inner)
                    return got;
            }
            b = dir > 0 ? base + 8 : base - 1;
        }
        return got;
    default:
        for (int b = from; b >= 0 && b < 256 && got < max; b += dir) {
            uintptr_t w = art_slot_load(&((struct art_node256 *)n)->child[b]);
            if (w) {
                bytes[got] = (uint8_t)b;
                words[got++] = w;
                if (!art_is_leaf(w) && ++inner == max_inner)
                    break;
            }
        }
        return got;
    }
}

void art_prefetch_leaves(struct art_node *n) {
    if (n->kind > ART_NODE16)
        return;
    _Atomic uintptr_t *child = art_sorted_child(n);
    unsigned count = sorted_count(n);
    for (unsigned i = 0; i < count; i++) {
        /* relaxed: a prefetch hint, never dereferenced, so never validated. */
        uintptr_t w = atomic_load_explicit(&child[i], memory_order_relaxed);
        if (art_is_leaf(w))
            __builtin_prefetch(art_leaf_of(w));
    }
}

/* ---- changes, under the node's lock ----------------------------------------------- */

static void count_set(struct art_node *n, unsigned c) {
    atomic_store_explicit(&n->count, (uint16_t)c, memory_order_relaxed);
}

void art_add_child(struct art_node *n, uint8_t b, uintptr_t w) {
    unsigned count = art_count(n);
    switch (n->kind) {
    case ART_NODE4:
    case ART_NODE16: {
        _Atomic uint64_t *keys = art_sorted_keys(n);
        _Atomic uintptr_t *child = art_sorted_child(n);
        unsigned pos = 0;
        while (pos < count && art_word_byte(keys, pos) < b)
            pos++;
        /* Shift the tail up by one; readers that see it half-moved fail validation.
         * A moved pointer is published again (release): a reader that finds it in
         * its new place must see what it points to initialised, and only this
         * store can tell it so. */
        for (unsigned i = count; i > pos; i--) {
            art_word_set_byte(keys, i, art_word_byte(keys, i - 1));
            art_slot_publish(&child[i], atomic_load_explicit(&child[i - 1], memory_order_relaxed));
        }
        art_word_set_byte(keys, pos, b);
        art_slot_publish(&child[pos], w);
        break;
    }
    case ART_NODE48: {
        struct art_node48 *m = n48(n);
        unsigned slot = 0;
        /* relaxed: the holder reads its own node. */
        while (atomic_load_explicit(&m->child[slot], memory_order_relaxed))
            slot++; /* not full, so a free slot exists */
        art_slot_publish(&m->child[slot], w);
        art_word_set_byte(m->index, b, (uint8_t)(slot + 1));
        break;
    }
    default:
        art_slot_publish(&((struct art_node256 *)n)->child[b], w);
        break;
    }
    count_set(n, count + 1);
}

/* Clearing a slot is relaxed: it publishes nothing, and a reader that saw the old
 * child fails validation against the version the holder's unlock bumps. */
void art_remove_child(struct art_node *n, uint8_t b) {
    unsigned count = art_count(n);
    switch (n->kind) {
    case ART_NODE4:
    case ART_NODE16: {
        _Atomic uint64_t *keys = art_sorted_keys(n);
        _Atomic uintptr_t *child = art_sorted_child(n);
        int pos = sorted_find(n, b);
        for (unsigned i = (unsigned)pos; i + 1 < count; i++) { /* (moved: as above) */
            art_word_set_byte(keys, i, art_word_byte(keys, i + 1));
            art_slot_publish(&child[i], atomic_load_explicit(&child[i + 1], memory_order_relaxed));
        }
        art_word_set_byte(keys, count - 1, 0);
        atomic_store_explicit(&child[count - 1], 0, memory_order_relaxed);
        break;
    }
    case ART_NODE48: {
        struct art_node48 *m = n48(n);
        int slot = n48_slot(n, b);
        art_word_set_byte(m->index, b, 0);
        atomic_store_explicit(&m->child[slot], 0, memory_order_relaxed);
        break;
    }
    default:
        atomic_store_explicit(&((struct art_node256 *)n)->child[b], 0, memory_order_relaxed);
        break;
    }
    count_set(n, count - 1);
}

/* relaxed: by the holder of n's lock (readers validate) or into an unpublished n. */
void art_set_prefix(struct art_node *n, const uint8_t *bytes, uint32_t len) {
    uint64_t w = 0;
    for (unsigned i = 0; i < len && i < ART_PREFIX_STORED; i++)
        w |= (uint64_t)bytes[i] << (8 * i);
    atomic_store_explicit(&n->prefix, w, memory_order_relaxed);
    atomic_store_explicit(&n->prefix_len, len, memory_order_relaxed);
}

/* relaxed: `from` is locked by the caller, `to` not shared until published with
 * release. */
void art_copy_into(struct art_node *to, struct art_node *from) {
    atomic_store_explicit(&to->prefix, atomic_load_explicit(&from->prefix, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&to->prefix_len, art_prefix_len(from), memory_order_relaxed);
    atomic_store_explicit(&to->end, atomic_load_explicit(&from->end, memory_order_relaxed),
                          memory_order_relaxed);
    uint8_t b;
    for (uintptr_t w = art_next_child(from, 0, 1, &b); w; w = art_next_child(from, b + 1, 1, &b)) {
        art_add_child(to, b, w);
        if (b == 255)
            break;
    }
}

/* Depth first, so that a child left empty (a node whose entries were all deleted
 * before its compaction ran) does not hide the leaves of its siblings. Every
 * level is one key byte deeper, so the recursion is bounded by the key length
 * even when read torn. */
static struct art_leaf *any_leaf_below(struct art_node *n, unsigned depth) {
    if (depth > LARCH_KEY_MAX + 1 || n->kind == ART_BUCKET)
        return NULL;
    uintptr_t w = art_slot_load(&n->end);
    if (w)
        return art_is_leaf(w) ? art_leaf_of(w) : NULL;
    uint8_t b;
    for (w = art_next_child(n, 0, 1, &b); w; w = art_next_child(n, b + 1, 1, &b)) {
        if (art_is_leaf(w))
            return art_leaf_of(w);
        struct art_leaf *l = any_leaf_below(art_node_of(w), depth + 1);
        if (l || b == 255)
            return l;
    }
    return NULL;
}

struct art_leaf *art_any_leaf(struct art_node *n) {
    return any_leaf_below(n, 0);
}
