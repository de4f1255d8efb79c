/* The B+ tree node: a 4 KiB slotted page of 64-bit words, every one of them read
 * and written through relaxed atomics so that optimistic readers race with writers
 * without a data race (the version lock in word 0 validates what they read).
 *
 *   word 0        version lock
 *   word 1        meta: count (bits 0-15), level (16-23; leaves are 0), format
 *                 (24-27: 0 slotted, else fixed with keys of format - 1 bytes),
 *                 heap start in bytes (32-47), dead heap bytes (48-63)
 *   word 2        inner: the upper child (keys >= the last separator)
 *   word 3        prefix: every key in the node begins with the same p bytes
 *                 (those of its first and last keys when it was built); p in bits
 *                 0-15, the first min(p, 6) of those bytes big-endian in bits 16-63
 *                 (so a search compares a short prefix without reading a key)
 *   words 4..     slots, one word each: key head (bits 32-63: the 4 key bytes
 *                 after the prefix, big-endian, zero-padded), entry offset in
 *                 bytes (16-31), key length (0-15); sorted by key
 *   ... heap      grows down from the end: each entry is one word (the value, or
 *                 the child left of the separator) followed by the key bytes,
 *                 zero-padded to whole words
 *
 * A node whose keys all have the same length L <= 8 is stored in the fixed format
 * instead: from word 6 on, pairs (key, value or left child), the key as the
 * big-endian integer of its bytes zero-padded to 8, sorted; word 2 is the upper
 * child (inner) or 0 (leaf), words 3 and 4 the first and last of those integers (0
 * when empty), which a search interpolates between, word 5 is 0. 16 bytes an entry
 * instead of 24, a search compares integers only, and an inner node's child lies
 * beside its separator. An insert of a key of another length rebuilds the node
 * slotted (under its lock, so the version moves); splits, merges and rebuilds pick
 * the fixed format again whenever the keys allow it. Separators are cut to the
 * bytes that tell two keys apart but padded with zeros to 8 (see separator()), so
 * keys of one length up to 8 give inner nodes of that length too.
 *
 * Inner node with separators s_0 < ... < s_{n-1}: entry i's child holds the keys in
 * [s_{i-1}, s_i), the upper child the keys >= s_{n-1}. A word that points to a
 * child (an inner entry's word, word 2) carries a hint beside the address (see
 * "Child words" below). */
#ifndef LARCH_BTREE_NODE_H
#define LARCH_BTREE_NODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

#include "common/key.h"
#include "common/vlock.h"

#define NODE_SIZE 4096
#define NODE_WORDS (NODE_SIZE / 8)
#define NODE_HEADER_WORDS 4
/* Largest entry: a slot, the value word and the longest key. */
#define NODE_ENTRY_MAX (8 + 8 + (LARCH_KEY_MAX + 7) / 8 * 8)
#define NODE_SLOTS_MAX ((NODE_SIZE - NODE_HEADER_WORDS * 8) / 16)
/* Words before a fixed-format node's pairs, and its pair places (no more than
 * slotted entries could ever be, so one clamp bounds both). */
#define NODE_FIXED_HEADER_WORDS 6
#define NODE_FIXED_MAX ((NODE_WORDS - NODE_FIXED_HEADER_WORDS) / 2)
#define NODE_FIXED_KEY_MAX 8

struct node {
    struct vlock lock;
    _Atomic uint64_t w[NODE_WORDS - 1]; /* w[i] is word i + 1 of the layout above */
};

/* Field access, for readers (relaxed loads, validated later) and the lock holder. */
static inline uint64_t node_load(const struct node *n, unsigned word) {
    return atomic_load_explicit(&((struct node *)n)->w[word - 1], memory_order_relaxed);
}

static inline void node_store(struct node *n, unsigned word, uint64_t v) {
    atomic_store_explicit(&n->w[word - 1], v, memory_order_relaxed);
}

static inline unsigned meta_count(uint64_t m) {
    return (unsigned)(m & 0xffff);
}
static inline unsigned meta_level(uint64_t m) {
    return (unsigned)((m >> 16) & 0xff);
}
/* 0 for a slotted node, else the key length of a fixed-format node plus one. */
static inline unsigned meta_format(uint64_t m) {
    return (unsigned)((m >> 24) & 0xf);
}
/* Key length of a fixed-format node, clamped so that a torn read stays in bounds. */
static inline unsigned format_key_len(unsigned format) {
    return format - 1 <= NODE_FIXED_KEY_MAX ? format - 1 : NODE_FIXED_KEY_MAX;
}
static inline unsigned meta_heap(uint64_t m) {
    return (unsigned)((m >> 32) & 0xffff);
}
static inline unsigned meta_dead(uint64_t m) {
    return (unsigned)(m >> 48);
}
static inline uint64_t meta_make(unsigned count, unsigned level, unsigned heap, unsigned dead) {
    return (uint64_t)count | (uint64_t)level << 16 | (uint64_t)heap << 32 | (uint64_t)dead << 48;
}
/* A fixed-format node keeps its entries in pairs [start, start + count) of its
 * NODE_FIXED_MAX pair places (start in the bits a slotted node keeps its heap in),
 * so that an insert or a removal moves the entries on its shorter side. */
static inline uint64_t meta_make_fixed(unsigned count, unsigned level, unsigned key_len,
                                       unsigned start) {
    return (uint64_t)count | (uint64_t)level << 16 | (uint64_t)(key_len + 1) << 24 |
           (uint64_t)start << 32;
}
static inline unsigned meta_start(uint64_t m) {
    unsigned s = (unsigned)((m >> 32) & 0xffff);
    return s <= NODE_FIXED_MAX ? s : NODE_FIXED_MAX;
}
/* Entry count of a fixed-format node, clamped so that start + count stays within
 * the pair places however torn the read. */
static inline unsigned meta_fixed_count(uint64_t m) {
    unsigned c = (unsigned)(m & 0xffff), room = NODE_FIXED_MAX - meta_start(m);
    return c <= room ? c : room;
}

static inline uint32_t slot_head(uint64_t s) {
    return (uint32_t)(s >> 32);
}
static inline unsigned slot_off(uint64_t s) {
    return (unsigned)((s >> 16) & 0xffff);
}
static inline unsigned slot_len(uint64_t s) {
    return (unsigned)(s & 0xffff);
}

/* Heap bytes of an entry with a key of len bytes: the word, then the key padded. */
static inline unsigned entry_size(size_t len) {
    return (unsigned)(8 + (len + 7) / 8 * 8);
}

/* True if a slot read optimistically points to an entry inside the heap. */
static inline bool slot_sane(uint64_t s) {
    unsigned off = slot_off(s), len = slot_len(s);
    return len <= LARCH_KEY_MAX && off >= NODE_HEADER_WORDS * 8 && off % 8 == 0 &&
           off + entry_size(len) <= NODE_SIZE;
}

static inline uint64_t node_meta(const struct node *n) {
    return node_load(n, 1);
}
static inline bool node_is_leaf(const struct node *n) {
    return meta_level(node_meta(n)) == 0;
}
/* Entry count, clamped so that a torn read cannot index past the slots. */
static inline unsigned node_count(const struct node *n) {
    unsigned c = meta_count(node_meta(n));
    return c <= NODE_SLOTS_MAX ? c : NODE_SLOTS_MAX;
}
static inline uint64_t node_slot(const struct node *n, unsigned i) {
    return node_load(n, NODE_HEADER_WORDS + i);
}
/* The prefix length of a slotted node, clamped so that a torn read stays in
 * bounds. A search compares a key's prefix once (with entry 0's) and then the heads
 * after it: keys that share their first bytes (u64 keys below 2^32, URLs) would
 * otherwise tie on every head. */
static inline unsigned node_prefix_len(const struct node *n) {
    uint64_t p = node_load(n, 3) & 0xffff;
    return p <= LARCH_KEY_MAX ? (unsigned)p : LARCH_KEY_MAX;
}

/* Prefixes up to this long are kept whole in word 3. */
#define NODE_PREFIX_INLINE 6

/* Word 3 for a node whose keys share the p first bytes of key. */
static inline uint64_t node_prefix_word(const uint8_t *key, unsigned p) {
    uint64_t bytes = larch__load_be64(key, p < NODE_PREFIX_INLINE ? p : NODE_PREFIX_INLINE);
    return (bytes & ~(uint64_t)0xffff) | p;
}

/* Below this many entries a fixed-format node is searched by halving alone. */
#define FIXED_GUESS_MIN 16

/* Word of pair place i (i < NODE_FIXED_MAX) of a fixed-format node: the key, then
 * the value or child. */
static inline unsigned fixed_word(unsigned i) {
    return NODE_FIXED_HEADER_WORDS + 2 * i;
}
/* Word of entry i's key in a fixed-format node with meta m, in bounds even torn. */
static inline unsigned fixed_entry_word(uint64_t m, unsigned i) {
    unsigned place = meta_start(m) + i;
    return fixed_word(place < NODE_FIXED_MAX ? place : 0);
}

/* The value (leaf) or left child (inner) of entry i. A torn slot yields some word
 * inside the node, never one outside it. */
static inline uint64_t node_entry_word(const struct node *n, unsigned i) {
    uint64_t m = node_meta(n);
    if (meta_format(m))
        return node_load(n, fixed_entry_word(m, i) + 1);
    unsigned off = slot_off(node_slot(n, i));
    if (off < NODE_HEADER_WORDS * 8 || off >= NODE_SIZE)
        off = NODE_HEADER_WORDS * 8;
    return node_load(n, off / 8);
}

/* Child words. An inner node's word for a child holds, above the child's address,
 * a hint of where a search of the child will find its entries: the child's start
 * and count (pairs [start, start + count), meta_start) when it is in the fixed
 * format, else 0. A descent through a fixed-format node then knows, from the hint
 * and the separators around the child, which line of the child its interpolated
 * guess will land on, and fetches it together with the child's header instead of
 * after it: one wait on memory a level, not two, for a tree out of cache.
 *
 * A hint is a prefetch address and nothing more, so it may be stale (a writer
 * refreshes it when it has drifted; see hint_refresh in btree.c) and it is not
 * covered by the node's version: it is written under the lock of the node that
 * holds it, which is then released unchanged. The address takes the low 48 bits,
 * as x86-64 user addresses do (node_new refuses a node above them); elsewhere
 * there are no hints and the word is the address. */
_Static_assert(NODE_FIXED_MAX < 256, "a hint holds start and count in 8 bits each");
#if defined(__x86_64__) && UINTPTR_MAX == UINT64_MAX
#define NODE_HINT_SHIFT 48
#else
#define NODE_HINT_SHIFT 64
#endif

static inline struct node *child_at(uint64_t word) {
#if NODE_HINT_SHIFT < 64
    word &= ((uint64_t)1 << NODE_HINT_SHIFT) - 1;
#endif
    return (struct node *)(uintptr_t)word;
}
static inline unsigned word_hint(uint64_t word) {
#if NODE_HINT_SHIFT < 64
    return (unsigned)(word >> NODE_HINT_SHIFT);
#else
    (void)word;
    return 0;
#endif
}
static inline unsigned hint_start(unsigned hint) {
    return hint >> 8;
}
static inline unsigned hint_count(unsigned hint) {
    return hint & 0xff;
}
/* The address of pair place `place` of the child a word points to, for prefetches
 * guided by its hint (an integer: a torn word's address is never dereferenced). */
static inline uintptr_t child_pair_addr(uint64_t word, unsigned place) {
    return (uintptr_t)child_at(word) + 8 * fixed_word(place);
}
/* The hint for node n, read by its lock holder (or anyone, as an estimate). */
static inline unsigned node_hint(const struct node *n) {
    uint64_t m = node_meta(n);
    return meta_format(m) ? meta_start(m) << 8 | meta_fixed_count(m) : 0;
}
/* The word by which a parent points to child, hint included. */
static inline uint64_t child_word(const struct node *child, unsigned hint) {
    uint64_t word = (uint64_t)(uintptr_t)child;
#if NODE_HINT_SHIFT < 64
    word |= (uint64_t)hint << NODE_HINT_SHIFT;
#else
    (void)hint;
#endif
    return word;
}
/* The word for child with its present hint (the caller holds child's lock, or
 * child is not published yet). */
static inline uint64_t child_word_now(const struct node *child) {
    return child_word(child, node_hint(child));
}
static inline uint64_t node_child_word(const struct node *n, unsigned i, unsigned count) {
    return i < count ? node_entry_word(n, i) : node_load(n, 2);
}
static inline struct node *node_child(const struct node *n, unsigned i, unsigned count) {
    return child_at(node_child_word(n, i, count));
}

/* A key to search for, with its head and its first 8 bytes (big-endian,
 * zero-padded: what a fixed-format node compares) computed once. */
struct search_key {
    const uint8_t *bytes;
    size_t len;
    uint32_t head;
    uint64_t word;
};

/* The functions below are shared by the files of src/btree/ only; the library
 * exports nothing outside larch_*, so they link under prefixed names. */
#define node_init larch__bt_node_init
#define node_new larch__bt_node_new
#define node_free larch__bt_node_free
#define node_lower_bound larch__bt_node_lower_bound
#define node_upper_bound larch__bt_node_upper_bound
#define node_used larch__bt_node_used
#define node_has_room larch__bt_node_has_room
#define node_slotted_room larch__bt_node_slotted_room
#define node_insert_at larch__bt_node_insert_at
#define node_remove_at larch__bt_node_remove_at
#define node_set_entry_word larch__bt_node_set_entry_word
#define node_split_leaf_insert larch__bt_node_split_leaf_insert
#define node_redistribute_insert larch__bt_node_redistribute_insert
#define node_split_inner larch__bt_node_split_inner
#define node_can_merge larch__bt_node_can_merge
#define node_merge larch__bt_node_merge

void node_init(struct node *n, unsigned level);
/* A new empty node (NULL if memory runs out); node_free is also the retire
 * callback for nodes unlinked from a tree. */
struct node *node_new(unsigned level);
void node_free(void *n);

/* Optimistic searches (the result is meaningful only if the version validates).
 * lower_bound: the first entry whose key is >= k, and whether it is equal.
 * upper_bound: the first entry whose key is > k. */
unsigned node_lower_bound(const struct node *n, const struct search_key *k, bool *equal);
unsigned node_upper_bound(const struct node *n, const struct search_key *k);
/* Room for a key copied out of a node: whole words are copied. */
#define NODE_KEY_BUF (LARCH_KEY_MAX + 8)

/* Copy entry i's key to out (NODE_KEY_BUF bytes of room, whole words written) and
 * its value or child word to *word (if not NULL); returns the key's length. One
 * read of the slot, bounds-checked, so a torn read copies garbage but never
 * reads outside the node or writes past out. */
static inline size_t node_entry_copy(const struct node *n, unsigned i, uint8_t *out,
                                     uint64_t *word) {
    uint64_t m = node_meta(n);
    unsigned format = meta_format(m);
    if (format) {
        unsigned w = fixed_entry_word(m, i);
        if (word)
            *word = node_load(n, w + 1);
        uint64_t bytes = larch__be64(node_load(n, w));
        memcpy(out, &bytes, 8);
        return format_key_len(format);
    }
    uint64_t s = node_slot(n, i);
    if (!slot_sane(s))
        return 0;
    unsigned off = slot_off(s), len = slot_len(s);
    if (word)
        *word = node_load(n, off / 8);
    unsigned w = off / 8 + 1;
    for (unsigned done = 0; done < len; done += 8, w++) {
        uint64_t bytes = node_load(n, w);
        memcpy(out + done, &bytes, 8);
    }
    return len;
}

static inline size_t node_key_copy(const struct node *n, unsigned i, uint8_t *out) {
    return node_entry_copy(n, i, out, NULL);
}

/* Bytes in use (slots and live heap), for split and merge decisions. */
unsigned node_used(const struct node *n);
/* True if an entry with a key of len bytes fits (after compaction). */
bool node_has_room(const struct node *n, size_t len);
/* True if it fits with the node in the slotted format, whichever it is in. */
bool node_slotted_room(const struct node *n, size_t len);

/* Writes, by the lock holder. */
void node_insert_at(struct node *n, unsigned i, const uint8_t *key, size_t len, uint64_t word);
void node_remove_at(struct node *n, unsigned i);
void node_set_entry_word(struct node *n, unsigned i, uint64_t word);
static inline void node_set_upper(struct node *n, uint64_t child_word) {
    node_store(n, 2, child_word);
}
/* Set child i's word of an inner node of count entries (i == count: the upper). */
static inline void node_set_child(struct node *n, unsigned i, unsigned count, uint64_t child_word) {
    if (i < count)
        node_set_entry_word(n, i, child_word);
    else
        node_set_upper(n, child_word);
}

/* The splits below write a separator for the parent (locked; NULL for a root,
 * which any separator fits) to sep and return its length. If the parent has no
 * room for it (node_has_room), nothing is written and 0 is returned with *need set
 * to the separator's length: a fixed-format parent keeps room for one more entry of
 * its own length only (see descend_for_write). */

/* Split a full leaf while inserting (key, value) at position pos (key NULL: split
 * without inserting; the leaf must hold at least two entries): entries move to
 * the empty node right; the separator lies between left's last key and right's
 * first. */
size_t node_split_leaf_insert(struct node *left, struct node *right, unsigned pos,
                              const uint8_t *key, size_t len, uint64_t value, uint8_t *sep,
                              const struct node *parent, size_t *need);
/* Instead of a split: spread the entries of the full leaf left, with (key, value)
 * inserted at position pos, and those of its right sibling over both, if each is
 * then at most 7/8 full and some move right; the new separator replaces the old one
 * in parent. Returns 0, with both leaves unchanged, also when that does not pay. */
size_t node_redistribute_insert(struct node *left, struct node *right, unsigned pos,
                                const uint8_t *key, size_t len, uint64_t value, uint8_t *sep,
                                const struct node *parent, size_t *need);
/* Split an inner node in two halves; the middle separator moves up. */
size_t node_split_inner(struct node *left, struct node *right, uint8_t *sep,
                        const struct node *parent, size_t *need);
/* Whether right (and, for inner nodes, the separator between them) fits into left. */
bool node_can_merge(const struct node *left, const struct node *right, size_t sep_len);
/* Move right's entries to the end of left; inner nodes pull the separator down. */
void node_merge(struct node *left, struct node *right, const uint8_t *sep, size_t sep_len);

#endif /* LARCH_BTREE_NODE_H */
