/* The B+ tree node layout (see node.h): searches that tolerate torn reads, in-place
 * inserts and removals by the lock holder, and splits and merges that rebuild whole
 * nodes from a private image and publish it word by word. */
#include "btree/node.h"

#include <string.h>

#include "common/alloc.h"
#include "common/isearch.h"
#include "common/key.h"

#define CAPACITY (NODE_SIZE - NODE_HEADER_WORDS * 8)
#define NODE_ALIGN 64 /* a cache line */

static uint64_t slot_make(uint32_t head, unsigned off, size_t len) {
    return (uint64_t)head << 32 | (uint64_t)off << 16 | (uint64_t)len;
}

void node_init(struct node *n, unsigned level) {
    vlock_init(&n->lock);
    node_store(n, 1, meta_make(0, level, NODE_SIZE, 0));
    node_store(n, 2, 0);
    node_store(n, 3, 0);
}

/* Aligned to a cache line, not to a page. A fixed-format node's header (words 0-5:
 * the version, meta and first and last keys a search starts from) then lies in one
 * line, and no pair straddles two: with glibc's 16-byte alignment half the nodes
 * had their header across two lines, a second miss before the guess's line
 * (16-CPU machine, 10M u64rand, two alternated runs each: lookups 1.62 / 1.76 ->
 * 1.75 / 2.05 Mops/s, inserts 1.28 / 1.33 -> 1.46 / 1.52). The gap glibc leaves in
 * front is at most 48 bytes (RSS at 2M keys 61.4 -> 62.0 MB). Page alignment
 * costs more: glibc serves aligned_alloc(4096, 4096) with a free gap of about 4 KiB
 * before each node, which nothing else fills, so the tree's resident memory was
 * twice what mallinfo counts (2M u64rand keys: 47.4 bytes a key of RSS against
 * 23.8 in use), and paired runs at 10M keys measured no gain from it (a search
 * reads the header and the lines around one guess, not lines all over the node). */
struct node *node_new(unsigned level) {
    struct node *n = larch__aligned_alloc(NODE_ALIGN, sizeof(struct node));
    if (n && child_at(child_word(n, UINT16_MAX)) != n) {
        /* Above the addresses a child word holds beside its hint (node.h): never
         * seen on x86-64 Linux, whose malloc stays below 2^47. */
        larch__free(n);
        return NULL;
    }
    if (n)
        node_init(n, level);
    return n;
}

void node_free(void *n) {
    larch__free(n);
}

/* Compare the key of slot s with k, from byte `from` (a multiple of 8) on: the
 * bytes before it are known equal. */
static int key_cmp_tail(const struct node *n, uint64_t s, const struct search_key *k, size_t from) {
    if (!slot_sane(s))
        return 1; /* torn: any answer, the caller's validation fails */
    size_t len = slot_len(s), common = len < k->len ? len : k->len;
    unsigned word = slot_off(s) / 8 + 1 + (unsigned)(from / 8);
    for (size_t done = from; done < common; done += 8, word++) {
        uint64_t a = larch__be64(node_load(n, word));
        uint64_t b = larch__load_be64(k->bytes + done, common - done);
        size_t rest = common - done;
        if (rest < 8) {
            a >>= (8 - rest) * 8;
            b >>= (8 - rest) * 8;
        }
        if (a != b)
            return a < b ? -1 : 1;
    }
    return (len > k->len) - (len < k->len);
}

/* The search key's head after a node's prefix of p bytes. */
struct probe {
    uint32_t head;
    size_t from; /* where a tail comparison starts: p rounded down to a word */
};

/* Most comparisons are decided by the 4-byte heads in the slots alone; only equal
 * heads read the key bytes in the heap. */
static inline int slot_cmp(const struct node *n, uint64_t s, const struct search_key *k,
                           const struct probe *pr) {
    uint32_t head = slot_head(s);
    if (head != pr->head)
        return head < pr->head ? -1 : 1;
    return key_cmp_tail(n, s, k, pr->from);
}

/* Where k stands against the prefix p > 0 that every key of the slotted node n
 * shares (entry 0's first p bytes): 0 if k has it too (then *pr is set for the
 * search), <0 if k is below every key, >0 if above. */
static int prefix_probe(const struct node *n, unsigned p, const struct search_key *k,
                        struct probe *pr) {
    if (p <= NODE_PREFIX_INLINE) {
        /* The whole prefix is in the header word: no key is read. */
        size_t common = p < k->len ? p : k->len;
        if (common) {
            unsigned shift = 64 - 8 * (unsigned)common;
            uint64_t a = node_load(n, 3) >> shift, b = larch__load_be64(k->bytes, common) >> shift;
            if (a != b)
                return a < b ? 1 : -1;
        }
        if (k->len < p)
            return -1;
        pr->head = larch__key_head(k->bytes + p, k->len - p);
        pr->from = p / 8 * 8;
        return 0;
    }
    uint64_t s0 = node_slot(n, 0);
    if (!slot_sane(s0) || slot_len(s0) < p)
        return 1; /* torn: any answer, the caller's validation fails */
    size_t common = p < k->len ? p : k->len;
    unsigned word = slot_off(s0) / 8 + 1;
    for (size_t done = 0; done < common; done += 8, word++) {
        uint64_t a = larch__be64(node_load(n, word));
        uint64_t b = larch__load_be64(k->bytes + done, common - done);
        size_t rest = common - done;
        if (rest < 8) {
            a >>= (8 - rest) * 8;
            b >>= (8 - rest) * 8;
        }
        if (a != b)
            return a < b ? 1 : -1;
    }
    if (k->len < p)
        return -1; /* k is a proper prefix of every key */
    pr->head = larch__key_head(k->bytes + p, k->len - p);
    pr->from = p / 8 * 8;
    return 0;
}

/* Set up the search of slotted node n for k: 0, or (k outside the node's prefix)
 * the side every key is on, as prefix_probe. */
static inline int probe_init(const struct node *n, const struct search_key *k, struct probe *pr) {
    unsigned p = node_prefix_len(n);
    if (p == 0 || node_count(n) == 0) {
        pr->head = k->head;
        pr->from = 0;
        return 0;
    }
    return prefix_probe(n, p, k, pr);
}

/* Fixed format: the key of an entry (its word w, len bytes) is below k iff w <
 * k->word, or w == k->word and len < k->len (the entry's key is then a prefix of
 * k): for keys of at most 8 bytes this is exactly the byte order. So a search is a
 * search for the first word >= bound (or > bound, `after`). */
static inline bool fixed_before(uint64_t w, uint64_t bound, bool after) {
    return after ? w <= bound : w < bound;
}

/* For larch__isearch: the key of the pair place `start + p` is before bound. */
struct fixed_target {
    const struct node *n;
    unsigned start;
    bool after;
    uint64_t bound;
};

static inline bool fixed_target_before(const void *ctx, unsigned p) {
    const struct fixed_target *t = ctx;
    return fixed_before(node_load(t->n, fixed_word(t->start + p)), t->bound, t->after);
}

/* The first entry of a fixed-format node (meta m) not before bound. At 10M keys a
 * leaf is never in cache and halving 180 entries waits on 6-7 lines in turn; the
 * first and last keys in the header (words 3 and 4) give a guess instead, off by a
 * few entries for keys spread evenly (random or dense ones): the two lines on
 * either side of it are prefetched (180 random keys put the answer about 7 entries
 * from the guess, up to 2 lines; the second line each way, added with the
 * fixed-format inner nodes, did not measure apart from noise on its own), and a
 * gallop outwards from it, then halving, finds the entry
 * whatever the keys. */
static inline unsigned fixed_first(const struct node *n, uint64_t m, uint64_t bound, bool after) {
    unsigned start = meta_start(m), count = meta_fixed_count(m);
    struct fixed_target t = {n, start, after, bound};
    if (count < FIXED_GUESS_MIN)
        return larch__isearch_halve(fixed_target_before, &t, 0, count);
    unsigned g = larch__isearch_guess(node_load(n, 3), node_load(n, 4), count, bound);
    unsigned place = start + g;
    const _Atomic uint64_t *at = &n->w[fixed_word(place) - 1];
    /* Inside the node: 4 and 8 places (8 and 16 words) from place, where there are
     * that many. */
    __builtin_prefetch((const void *)(at - (place >= 4 ? 8 : 0)));
    __builtin_prefetch((const void *)(at + (place + 4 < NODE_FIXED_MAX ? 8 : 0)));
    __builtin_prefetch((const void *)(at - (place >= 8 ? 16 : 0)));
    __builtin_prefetch((const void *)(at + (place + 8 < NODE_FIXED_MAX ? 16 : 0)));
    return larch__isearch_from(fixed_target_before, &t, g, count);
}

/* The first entry not below k (or_equal: not at or below k). */
static unsigned fixed_search(const struct node *n, uint64_t m, const struct search_key *k,
                             bool or_equal) {
    unsigned len = format_key_len(meta_format(m));
    bool pass_equal = or_equal ? len <= k->len : len < k->len;
    return pass_equal ? fixed_first(n, m, k->word, true) : fixed_first(n, m, k->word, false);
}

/* Slot heads are not spread evenly in general (text keys), so a slotted search
 * halves without a guess; instead the slots of its first three probes, whichever
 * way they go, are prefetched at once (as Khuong and Morin prefetch a binary
 * search ahead), so that a node out of cache costs about two lines in turn
 * instead of five. */
static inline void slots_prefetch(const struct node *n, unsigned count) {
    if (count < 32)
        return;
    const _Atomic uint64_t *slots = &n->w[NODE_HEADER_WORDS - 1];
    for (unsigned eighth = 1; eighth < 8; eighth++)
        __builtin_prefetch((const void *)&slots[count * eighth / 8]);
}

static unsigned slotted_lower_bound(const struct node *n, const struct search_key *k, bool *equal) {
    unsigned lo = 0, hi = node_count(n);
    bool eq = false;
    struct probe pr;
    slots_prefetch(n, hi);
    int side = probe_init(n, k, &pr);
    if (side) {
        *equal = false;
        return side < 0 ? 0 : hi;
    }
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        int c = slot_cmp(n, node_slot(n, mid), k, &pr);
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
            eq = c == 0;
        }
    }
    *equal = eq;
    return lo;
}

unsigned node_lower_bound(const struct node *n, const struct search_key *k, bool *equal) {
    uint64_t m = node_meta(n);
    unsigned format = meta_format(m);
    if (!format)
        return slotted_lower_bound(n, k, equal);
    unsigned pos = fixed_search(n, m, k, false);
    *equal = pos < meta_fixed_count(m) && format_key_len(format) == k->len &&
             node_load(n, fixed_entry_word(m, pos)) == k->word;
    return pos;
}

unsigned node_upper_bound(const struct node *n, const struct search_key *k) {
    uint64_t m = node_meta(n);
    unsigned format = meta_format(m);
    if (format)
        return fixed_search(n, m, k, true);
    unsigned lo = 0, hi = node_count(n);
    struct probe pr;
    slots_prefetch(n, hi);
    int side = probe_init(n, k, &pr);
    if (side)
        return side < 0 ? 0 : hi;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (slot_cmp(n, node_slot(n, mid), k, &pr) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Bytes of n's entries in the slotted format: what they would take after a
 * rebuild that cannot keep the fixed format. */
static unsigned slotted_bytes(uint64_t m) {
    unsigned format = meta_format(m);
    if (format)
        return meta_count(m) * (8 + entry_size(format_key_len(format)));
    return meta_count(m) * 8 + (NODE_SIZE - meta_heap(m) - meta_dead(m));
}

unsigned node_used(const struct node *n) {
    uint64_t m = node_meta(n);
    return meta_format(m) ? meta_count(m) * 16 : slotted_bytes(m);
}

bool node_slotted_room(const struct node *n, size_t len) {
    return slotted_bytes(node_meta(n)) + 8 + entry_size(len) <= CAPACITY;
}

bool node_has_room(const struct node *n, size_t len) {
    uint64_t m = node_meta(n);
    unsigned format = meta_format(m);
    if (format && len == format_key_len(format))
        return meta_count(m) < NODE_FIXED_MAX;
    return node_slotted_room(n, len);
}

/* ---- writes by the lock holder ---------------------------------------------- */

static void store_key(struct node *n, unsigned word, const uint8_t *key, size_t len) {
    for (size_t done = 0; done < len; done += 8, word++) {
        uint64_t w = 0;
        memcpy(&w, key + done, len - done < 8 ? len - done : 8);
        node_store(n, word, w);
    }
}

/* An entry of a node being rebuilt: key bytes (in a private image or the caller's
 * buffer) and its word. */
struct entry {
    const uint8_t *key;
    size_t len;
    uint64_t word;
};

/* A private copy of a node: its words, and for a fixed-format node its keys turned
 * back into bytes. */
struct image {
    uint64_t w[NODE_WORDS];
    uint8_t keys[NODE_FIXED_MAX * 8];
};

static void snapshot(const struct node *n, struct image *img) {
    img->w[0] = 0;
    for (unsigned i = 1; i < NODE_WORDS; i++)
        img->w[i] = node_load(n, i);
}

static unsigned image_entries(struct image *img, struct entry *out) {
    uint64_t m = img->w[1];
    unsigned count = meta_count(m), format = meta_format(m);
    for (unsigned i = 0; i < count; i++) {
        if (format) {
            unsigned w = fixed_entry_word(m, i);
            uint64_t bytes = larch__be64(img->w[w]);
            memcpy(&img->keys[i * 8], &bytes, 8);
            out[i] = (struct entry){&img->keys[i * 8], format_key_len(format), img->w[w + 1]};
            continue;
        }
        uint64_t s = img->w[NODE_HEADER_WORDS + i];
        out[i] = (struct entry){(const uint8_t *)&img->w[slot_off(s) / 8 + 1], slot_len(s),
                                img->w[slot_off(s) / 8]};
    }
    return count;
}

/* The format a node holding these entries takes: fixed (key length + 1) if they all
 * have one length of at most 8 bytes, else 0 (slotted). */
static unsigned format_for(const struct entry *e, unsigned count) {
    if (count == 0 || count > NODE_FIXED_MAX || e[0].len > NODE_FIXED_KEY_MAX)
        return 0;
    for (unsigned i = 1; i < count; i++)
        if (e[i].len != e[0].len)
            return 0;
    return (unsigned)e[0].len + 1;
}

/* Whether entries fit one node (in the format build picks). */
static bool entries_fit(const struct entry *e, unsigned count) {
    if (format_for(e, count))
        return true;
    unsigned bytes = 0;
    for (unsigned i = 0; i < count; i++)
        bytes += 8 + entry_size(e[i].len);
    return bytes <= CAPACITY;
}

/* Bytes the keys of two entries share at their start: for the first and last
 * entries of a node, the prefix every key in it shares. */
static unsigned common_prefix(const struct entry *a, const struct entry *b) {
    size_t n = a->len < b->len ? a->len : b->len, i = 0;
    while (i < n && a->key[i] == b->key[i])
        i++;
    return (unsigned)i;
}

/* A slot's head: the 4 key bytes after the node's prefix of p bytes. */
static uint32_t head_after(const uint8_t *key, size_t len, unsigned p) {
    return len > p ? larch__key_head(key + p, len - p) : 0;
}

/* Words 3 and 4 of a fixed-format node: its first and last keys, which a search
 * interpolates between (0 when empty). */
static void fixed_set_ends(struct node *n, unsigned start, unsigned count) {
    node_store(n, 3, count ? node_load(n, fixed_word(start)) : 0);
    node_store(n, 4, count ? node_load(n, fixed_word(start + count - 1)) : 0);
}

/* Entries in the middle of the pair places: room on both sides. */
static void build_fixed(struct node *n, unsigned level, const struct entry *e, unsigned count,
                        unsigned len, uint64_t upper) {
    unsigned start = (NODE_FIXED_MAX - count) / 2;
    for (unsigned i = 0; i < count; i++) {
        node_store(n, fixed_word(start + i), larch__load_be64(e[i].key, len));
        node_store(n, fixed_word(start + i) + 1, e[i].word);
    }
    node_store(n, 1, meta_make_fixed(count, level, len, start));
    node_store(n, 2, level ? upper : 0);
    node_store(n, 5, 0);
    fixed_set_ends(n, start, count);
}

/* Rebuild n (locked, or not yet shared) with the given entries (which must fit),
 * in the fixed format if they allow it, else slotted with the heap compacted. */
static void build(struct node *n, unsigned level, const struct entry *e, unsigned count,
                  uint64_t upper) {
    unsigned format = format_for(e, count);
    if (format) {
        build_fixed(n, level, e, count, format - 1, upper);
        return;
    }
    uint64_t img[NODE_WORDS];
    unsigned heap = NODE_SIZE, p = count >= 2 ? common_prefix(&e[0], &e[count - 1]) : 0;
    for (unsigned i = 0; i < count; i++) {
        heap -= entry_size(e[i].len);
        img[heap / 8] = e[i].word;
        size_t words = (e[i].len + 7) / 8;
        if (words) {
            img[heap / 8 + words] = 0; /* zero the padding of the last word */
            memcpy(&img[heap / 8 + 1], e[i].key, e[i].len);
        }
        img[NODE_HEADER_WORDS + i] = slot_make(head_after(e[i].key, e[i].len, p), heap, e[i].len);
    }
    img[1] = meta_make(count, level, heap, 0);
    img[2] = level ? upper : 0;
    img[3] = count ? node_prefix_word(e[0].key, p) : 0;
    for (unsigned i = 1; i < NODE_HEADER_WORDS + count; i++)
        node_store(n, i, img[i]);
    for (unsigned i = heap / 8; i < NODE_WORDS; i++)
        node_store(n, i, img[i]);
}

/* Insert by rebuilding the whole node: compacts the heap of a slotted node, and
 * changes the format when the new key requires it (or, for an empty leaf, allows
 * it). Readers see the change as a new version, like any other write. */
static void rebuild_insert(struct node *n, unsigned i, const uint8_t *key, size_t len,
                           uint64_t word) {
    struct image img;
    struct entry e[NODE_SLOTS_MAX + 1];
    snapshot(n, &img);
    unsigned count = image_entries(&img, e);
    memmove(&e[i + 1], &e[i], (count - i) * sizeof e[0]);
    e[i] = (struct entry){key, len, word};
    build(n, meta_level(img.w[1]), e, count + 1, img.w[2]);
}

/* Whether key starts with the prefix of p bytes that the keys of n share (n is
 * slotted, not empty, and held by the caller). */
static bool shares_prefix(const struct node *n, unsigned p, const uint8_t *key, size_t len) {
    struct search_key k;
    struct probe pr;
    k.bytes = key;
    k.len = len;
    return prefix_probe(n, p, &k, &pr) == 0;
}

/* Whether inserting key at position i of slotted n (count entries, prefix p)
 * makes the first and last keys share more than p bytes: then a rebuild raises
 * the prefix. It happens to a node built empty or with one key (a new root) and to
 * one whose outer keys were deleted; only an insert at either end can tell. */
static bool longer_prefix(const struct node *n, unsigned i, unsigned count, unsigned p,
                          const uint8_t *key, size_t len) {
    if (count == 0 || (i != 0 && i != count))
        return false;
    uint8_t other[NODE_KEY_BUF];
    size_t other_len = node_key_copy(n, i == 0 ? count - 1 : 0, other);
    struct entry a = {key, len, 0}, b = {other, other_len, 0};
    return common_prefix(&a, &b) > p;
}

/* Relaxed: the lock holder's own words; optimistic readers that race a move
 * fail validation, ordered by the release fence in vlock_upgrade and the release
 * store in vlock_unlock. */
static inline uint64_t word_get(_Atomic uint64_t *w) {
    return atomic_load_explicit(w, memory_order_relaxed);
}
static inline void word_put(_Atomic uint64_t *w, uint64_t v) {
    atomic_store_explicit(w, v, memory_order_relaxed);
}

/* Move pairs [from, to) of a fixed-format node by delta places, each word written
 * once (ascending when moving down, descending when moving up). */
static void fixed_move(struct node *n, unsigned from, unsigned to, int delta) {
    /* Pointers walked two pairs at a time, all four words read before any is
     * written (a move is by whole pairs, so no word written in a step is one that
     * step or a later one still has to read): index arithmetic in the loop doubled
     * its cost, and a word at a time cost half as much again as this. */
    _Atomic uint64_t *src = &n->w[fixed_word(from) - 1], *end = &n->w[fixed_word(to) - 1];
    ptrdiff_t d = 2 * (ptrdiff_t)delta;
    if (delta < 0) {
        for (; end - src >= 4; src += 4) {
            uint64_t a = word_get(src), b = word_get(src + 1);
            uint64_t c = word_get(src + 2), e = word_get(src + 3);
            word_put(src + d, a);
            word_put(src + d + 1, b);
            word_put(src + d + 2, c);
            word_put(src + d + 3, e);
        }
        if (src < end) {
            uint64_t a = word_get(src), b = word_get(src + 1);
            word_put(src + d, a);
            word_put(src + d + 1, b);
        }
    } else if (delta > 0) {
        for (; end - src >= 4; end -= 4) {
            uint64_t a = word_get(end - 4), b = word_get(end - 3);
            uint64_t c = word_get(end - 2), e = word_get(end - 1);
            word_put(end - 1 + d, e);
            word_put(end - 2 + d, c);
            word_put(end - 3 + d, b);
            word_put(end - 4 + d, a);
        }
        if (end > src) {
            uint64_t a = word_get(end - 2), b = word_get(end - 1);
            word_put(end - 1 + d, b);
            word_put(end - 2 + d, a);
        }
    }
}

/* Make a free place at entry i by putting the count entries in the middle of the
 * pair places again, the old ones at start. */
static unsigned fixed_recentre(struct node *n, unsigned start, unsigned count, unsigned i) {
    unsigned centre = (NODE_FIXED_MAX - count - 1) / 2;
    int below = (int)centre - (int)start, above = below + 1;
    /* Move the part that moves farther first, so that no source is overwritten
     * before it is read. */
    if (below < 0) {
        fixed_move(n, start, start + i, below);
        fixed_move(n, start + i, start + count, above);
    } else {
        fixed_move(n, start + i, start + count, above);
        fixed_move(n, start, start + i, below);
    }
    return centre;
}

/* Insert as entry i: the entries on the shorter side move by one place. If that
 * side is full (appends reached the top, say), all entries are centred again
 * instead of moving the longer side, so that the next inserts are cheap again. */
static void fixed_insert_at(struct node *n, uint64_t m, unsigned i, const uint8_t *key, size_t len,
                            uint64_t word) {
    unsigned count = meta_count(m), start = meta_start(m);
    bool room_above = start + count<NODE_FIXED_MAX, room_below = start> 0;
    bool shorter_above = count - i <= i;
    if (shorter_above ? room_above : !room_below) {
        if (room_above && (shorter_above || count - i <= NODE_FIXED_MAX / 16))
            fixed_move(n, start + i, start + count, 1);
        else
            start = fixed_recentre(n, start, count, i);
    } else if (!shorter_above || i <= NODE_FIXED_MAX / 16) {
        fixed_move(n, start, start + i, -1);
        start--;
    } else {
        start = fixed_recentre(n, start, count, i);
    }
    uint64_t w = larch__load_be64(key, len);
    node_store(n, fixed_word(start + i), w);
    node_store(n, fixed_word(start + i) + 1, word);
    node_store(n, 1, meta_make_fixed(count + 1, meta_level(m), (unsigned)len, start));
    if (i == 0)
        node_store(n, 3, w);
    if (i == count)
        node_store(n, 4, w);
}

void node_insert_at(struct node *n, unsigned i, const uint8_t *key, size_t len, uint64_t word) {
    uint64_t m = node_meta(n);
    unsigned count = meta_count(m), format = meta_format(m), need = entry_size(len);
    if (format && len == format - 1 && count < NODE_FIXED_MAX) {
        fixed_insert_at(n, m, i, key, len, word);
        return;
    }
    unsigned p = count && !format ? node_prefix_len(n) : 0;
    if (format || (count == 0 && len <= NODE_FIXED_KEY_MAX) ||
        (NODE_HEADER_WORDS + count + 1) * 8 + need > meta_heap(m) ||
        (p && !shares_prefix(n, p, key, len)) || longer_prefix(n, i, count, p, key, len)) {
        rebuild_insert(n, i, key, len, word);
        return;
    }
    if (count == 0)
        node_store(n, 3, 0);
    unsigned heap = meta_heap(m) - need;
    node_store(n, heap / 8, word);
    store_key(n, heap / 8 + 1, key, len);
    for (unsigned j = count; j > i; j--)
        node_store(n, NODE_HEADER_WORDS + j, node_slot(n, j - 1));
    node_store(n, NODE_HEADER_WORDS + i, slot_make(head_after(key, len, p), heap, len));
    node_store(n, 1, meta_make(count + 1, meta_level(m), heap, meta_dead(m)));
}

void node_remove_at(struct node *n, unsigned i) {
    uint64_t m = node_meta(n);
    unsigned count = meta_count(m), format = meta_format(m);
    if (format) {
        /* The shorter side closes the gap. */
        unsigned start = meta_start(m);
        if (i < count - 1 - i) {
            fixed_move(n, start, start + i, 1);
            start++;
        } else {
            fixed_move(n, start + i + 1, start + count, -1);
        }
        node_store(n, 1, meta_make_fixed(count - 1, meta_level(m), format - 1, start));
        if (i == 0 || i == count - 1)
            fixed_set_ends(n, start, count - 1);
        return;
    }
    unsigned dead = meta_dead(m) + entry_size(slot_len(node_slot(n, i)));
    for (unsigned j = i; j + 1 < count; j++)
        node_store(n, NODE_HEADER_WORDS + j, node_slot(n, j + 1));
    if (count == 1)
        node_store(n, 1, meta_make(0, meta_level(m), NODE_SIZE, 0));
    else
        node_store(n, 1, meta_make(count - 1, meta_level(m), meta_heap(m), dead));
}

void node_set_entry_word(struct node *n, unsigned i, uint64_t word) {
    uint64_t m = node_meta(n);
    if (meta_format(m))
        node_store(n, fixed_entry_word(m, i) + 1, word);
    else
        node_store(n, slot_off(node_slot(n, i)) / 8, word);
}

/* A key s with a < s <= b (a < b): b cut one byte past their common prefix (the
 * shortest such key: short separators make slotted inner nodes wide), then padded
 * with zeros up to 8 bytes where b is that long. The padded key is still > a (it
 * begins with the cut) and <= b (b's next bytes are >= 0), takes no more room (key
 * bytes are kept in whole words), and gives keys of one length up to 8 separators
 * of that length: inner nodes the fixed format. */
static size_t separator(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                        uint8_t *out) {
    size_t common = 0;
    while (common < alen && common < blen && a[common] == b[common])
        common++;
    size_t len = common + 1 <= blen ? common + 1 : blen;
    memcpy(out, b, len);
    size_t padded = blen < NODE_FIXED_KEY_MAX ? blen : NODE_FIXED_KEY_MAX;
    if (len < padded) {
        memset(out + len, 0, padded - len);
        len = padded;
    }
    return len;
}

/* Whether parent (NULL: a new root) takes a separator of sep_len bytes; if not,
 * *need says how long it was. */
static bool parent_takes(const struct node *parent, size_t sep_len, size_t *need) {
    if (!parent || node_has_room(parent, sep_len))
        return true;
    *need = sep_len;
    return false;
}

/* Halves of about equal bytes (in the slotted format, the larger). */
static unsigned balanced_split_point(const struct entry *e, unsigned total) {
    unsigned bytes = 0, all = 0;
    for (unsigned i = 0; i < total; i++)
        all += 8 + entry_size(e[i].len);
    unsigned m = 0;
    while (m < total - 1 && bytes + 8 + entry_size(e[m].len) <= all / 2)
        bytes += 8 + entry_size(e[m++].len);
    return m ? m : 1;
}

static unsigned split_point(const struct entry *e, unsigned total, unsigned pos) {
    unsigned m;
    if (pos == total - 1)
        m = total - 1; /* appending: keep the left node full (ascending inserts) */
    else if (pos == 0)
        m = 1; /* prepending: keep the right node full (descending inserts) */
    else
        return balanced_split_point(e, total);
    /* A key of another length than a full fixed-format leaf's cannot always stay
     * beside it. */
    if (entries_fit(e, m) && entries_fit(&e[m], total - m))
        return m;
    return balanced_split_point(e, total);
}

/* ---- splits and redistributions of fixed-format leaves, word by word --------------
 * A leaf of keys of one length that takes one more of that length splits (or
 * shares its entries with a sibling of the same format) into fixed-format leaves
 * again: its pairs are gathered and written out as words, without the byte images
 * of the general path (a random insert's share of splits and redistributions, 2M
 * u64rand keys: about 190 instructions of 1,620 through images). */

/* An entry of a fixed-format node: its key word and its value (or child). */
struct pair {
    uint64_t key, word;
};

/* Whether an insert of a key of len bytes keeps a node of meta m in the fixed
 * format. */
static bool fixed_takes(uint64_t m, size_t len) {
    return meta_format(m) && len == meta_format(m) - 1;
}

/* n's pairs (locked: as they are) to out; returns their count. */
static unsigned fixed_gather(const struct node *n, struct pair *out) {
    uint64_t m = node_meta(n);
    unsigned start = meta_start(m), count = meta_fixed_count(m);
    for (unsigned i = 0; i < count; i++)
        out[i] = (struct pair){node_load(n, fixed_word(start + i)),
                               node_load(n, fixed_word(start + i) + 1)};
    return count;
}

/* Rebuild leaf n (locked, or not yet shared) with count pairs of keys of len
 * bytes, in the middle of its places (room on both sides), as build_fixed does. */
static void build_fixed_leaf(struct node *n, const struct pair *p, unsigned count, size_t len) {
    unsigned start = (NODE_FIXED_MAX - count) / 2;
    for (unsigned i = 0; i < count; i++) {
        node_store(n, fixed_word(start + i), p[i].key);
        node_store(n, fixed_word(start + i) + 1, p[i].word);
    }
    node_store(n, 1, meta_make_fixed(count, 0, (unsigned)len, start));
    node_store(n, 2, 0);
    node_store(n, 5, 0);
    fixed_set_ends(n, start, count);
}

/* The separator between the keys of pairs a < b, of len bytes (separator()). */
static size_t pair_separator(const struct pair *a, const struct pair *b, size_t len, uint8_t *sep) {
    uint8_t ab[8], bb[8];
    uint64_t x = larch__be64(a->key), y = larch__be64(b->key);
    memcpy(ab, &x, 8);
    memcpy(bb, &y, 8);
    return separator(ab, len, bb, len, sep);
}

/* left's pairs with (key, value) inserted at pos, to out; returns their count. */
static unsigned fixed_gather_insert(const struct node *left, unsigned pos, const uint8_t *key,
                                    size_t len, uint64_t value, struct pair *out) {
    unsigned count = fixed_gather(left, out);
    memmove(&out[pos + 1], &out[pos], (count - pos) * sizeof out[0]);
    out[pos] = (struct pair){larch__load_be64(key, len), value};
    return count + 1;
}

/* The total pairs p split at m: the separator to sep and, if the parent takes it,
 * p[0, m) into left and p[m, total) into right; its length, or 0 (nothing
 * written, *need set). */
static size_t fixed_write_halves(struct node *left, struct node *right, const struct pair *p,
                                 unsigned total, unsigned m, size_t len, uint8_t *sep,
                                 const struct node *parent, size_t *need) {
    size_t sep_len = pair_separator(&p[m - 1], &p[m], len, sep);
    if (!parent_takes(parent, sep_len, need))
        return 0;
    build_fixed_leaf(right, &p[m], total - m, len);
    build_fixed_leaf(left, p, m, len);
    return sep_len;
}

/* node_split_leaf_insert for a fixed-format leaf taking a key of its length: the
 * split point of split_point (entries of one size: the middle, or the end for
 * ascending and descending inserts). */
static size_t fixed_split_leaf_insert(struct node *left, struct node *right, unsigned pos,
                                      const uint8_t *key, size_t len, uint64_t value, uint8_t *sep,
                                      const struct node *parent, size_t *need) {
    struct pair p[NODE_FIXED_MAX + 1];
    unsigned total = fixed_gather_insert(left, pos, key, len, value, p);
    unsigned m = pos == total - 1 ? total - 1 : pos == 0 ? 1 : total / 2;
    return fixed_write_halves(left, right, p, total, m, len, sep, parent, need);
}

size_t node_split_leaf_insert(struct node *left, struct node *right, unsigned pos,
                              const uint8_t *key, size_t len, uint64_t value, uint8_t *sep,
                              const struct node *parent, size_t *need) {
    if (key && fixed_takes(node_meta(left), len))
        return fixed_split_leaf_insert(left, right, pos, key, len, value, sep, parent, need);
    struct image img;
    struct entry e[NODE_SLOTS_MAX + 1];
    snapshot(left, &img);
    unsigned count = image_entries(&img, e), total = count, m;
    if (key) {
        memmove(&e[pos + 1], &e[pos], (count - pos) * sizeof e[0]);
        e[pos] = (struct entry){key, len, value};
        total++;
        m = split_point(e, total, pos);
    } else {
        m = balanced_split_point(e, total);
    }
    size_t sep_len = separator(e[m - 1].key, e[m - 1].len, e[m].key, e[m].len, sep);
    if (!parent_takes(parent, sep_len, need))
        return 0;
    build(right, 0, &e[m], total - m, 0);
    build(left, 0, e, m, 0);
    return sep_len;
}

/* Whether entries, built into one leaf, leave it at most REDISTRIBUTE_FILL full:
 * room for the next inserts on both sides of a redistribution. */
#define REDISTRIBUTE_FILL (CAPACITY * 7 / 8)

static bool fit_with_room(const struct entry *e, unsigned count) {
    if (format_for(e, count))
        return count * 16 <= REDISTRIBUTE_FILL;
    unsigned bytes = 0;
    for (unsigned i = 0; i < count; i++)
        bytes += 8 + entry_size(e[i].len);
    return bytes <= REDISTRIBUTE_FILL;
}

/* node_redistribute_insert for fixed-format leaves of one format taking a key of
 * their length: entries of one size, so the balanced point is the middle. */
static size_t fixed_redistribute_insert(struct node *left, struct node *right, unsigned pos,
                                        const uint8_t *key, size_t len, uint64_t value,
                                        uint8_t *sep, const struct node *parent, size_t *need) {
    struct pair p[2 * NODE_FIXED_MAX + 1];
    unsigned left_total = fixed_gather_insert(left, pos, key, len, value, p);
    unsigned total = left_total + fixed_gather(right, &p[left_total]), m = total / 2;
    if (m >= left_total || m * 16 > REDISTRIBUTE_FILL || (total - m) * 16 > REDISTRIBUTE_FILL)
        return 0;
    return fixed_write_halves(left, right, p, total, m, len, sep, parent, need);
}

size_t node_redistribute_insert(struct node *left, struct node *right, unsigned pos,
                                const uint8_t *key, size_t len, uint64_t value, uint8_t *sep,
                                const struct node *parent, size_t *need) {
    uint64_t lm = node_meta(left);
    if (fixed_takes(lm, len) && meta_format(node_meta(right)) == meta_format(lm))
        return fixed_redistribute_insert(left, right, pos, key, len, value, sep, parent, need);
    struct image limg, rimg;
    struct entry e[2 * NODE_SLOTS_MAX + 1];
    snapshot(left, &limg);
    snapshot(right, &rimg);
    unsigned count = image_entries(&limg, e);
    memmove(&e[pos + 1], &e[pos], (count - pos) * sizeof e[0]);
    e[pos] = (struct entry){key, len, value};
    unsigned left_total = count + 1, total = left_total + image_entries(&rimg, &e[left_total]);
    unsigned m = balanced_split_point(e, total);
    if (m >= left_total || !fit_with_room(e, m) || !fit_with_room(&e[m], total - m))
        return 0;
    size_t sep_len = separator(e[m - 1].key, e[m - 1].len, e[m].key, e[m].len, sep);
    /* The old separator stays counted: room for the new one beside it is more
     * than enough. */
    if (!parent_takes(parent, sep_len, need))
        return 0;
    build(right, 0, &e[m], total - m, 0);
    build(left, 0, e, m, 0);
    return sep_len;
}

size_t node_split_inner(struct node *left, struct node *right, uint8_t *sep,
                        const struct node *parent, size_t *need) {
    struct image img;
    struct entry e[NODE_SLOTS_MAX];
    snapshot(left, &img);
    unsigned count = image_entries(&img, e), level = meta_level(img.w[1]);
    unsigned m = count / 2;
    if (!parent_takes(parent, e[m].len, need))
        return 0;
    memcpy(sep, e[m].key, e[m].len);
    build(right, level, &e[m + 1], count - m - 1, img.w[2]);
    build(left, level, e, m, e[m].word);
    return e[m].len;
}

/* The entries of left, the separator (inner nodes) and right, in order. */
static unsigned merged_entries(struct image *limg, struct image *rimg, const uint8_t *sep,
                               size_t sep_len, struct entry *e) {
    unsigned n = image_entries(limg, e);
    if (meta_level(limg->w[1]) > 0)
        e[n++] = (struct entry){sep, sep_len, limg->w[2]};
    return n + image_entries(rimg, &e[n]);
}

bool node_can_merge(const struct node *left, const struct node *right, size_t sep_len) {
    uint64_t lm = node_meta(left), rm = node_meta(right);
    unsigned level = meta_level(lm), format = meta_format(lm);
    unsigned count = meta_count(lm) + meta_count(rm) + (level > 0);
    if (format && format == meta_format(rm) && (level == 0 || sep_len == format - 1))
        return count <= NODE_FIXED_MAX;
    unsigned need = slotted_bytes(lm) + slotted_bytes(rm);
    if (level > 0)
        need += 8 + entry_size(sep_len);
    if (need <= CAPACITY)
        return true;
    if (count > NODE_FIXED_MAX)
        return false;
    /* Nodes whose keys all have one short length merge into the fixed format. */
    struct image limg, rimg;
    struct entry e[2 * NODE_SLOTS_MAX + 1];
    snapshot(left, &limg);
    snapshot(right, &rimg);
    /* Only the lengths count: the separator's bytes are not needed. */
    return entries_fit(e, merged_entries(&limg, &rimg, NULL, sep_len, e));
}

void node_merge(struct node *left, struct node *right, const uint8_t *sep, size_t sep_len) {
    struct image limg, rimg;
    struct entry e[2 * NODE_SLOTS_MAX + 1];
    snapshot(left, &limg);
    snapshot(right, &rimg);
    unsigned n = merged_entries(&limg, &rimg, sep, sep_len, e);
    build(left, meta_level(limg.w[1]), e, n, rimg.w[2]);
}
