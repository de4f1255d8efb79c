/* The B+ tree node layout (see node.h): searches that tolerate torn reads, in-place
 * inserts and removals by the lock holder, and splits and merges that rebuild whole
 * nodes from a private image and publish it word by word. */
#include "btree/node.h"

#include <string.h>

#include "common/alloc.h"
#include "common/key.h"

#define CAPACITY (NODE_SIZE - NODE_HEADER_WORDS * 8)

static uint64_t slot_make(uint32_t head, unsigned off, size_t len) {
    return (uint64_t)head << 32 | (uint64_t)off << 16 | (uint64_t)len;
}

void node_init(struct node *n, unsigned level) {
    vlock_init(&n->lock);
    node_store(n, 1, meta_make(0, level, NODE_SIZE, 0));
    node_store(n, 2, 0);
    node_store(n, 3, 0);
}

/* Page-aligned: a node is one page, one TLB entry, instead of straddling two
 * (lookups over 2M random keys measured 0.81 -> 1.11 Mops/s). */
struct node *node_new(unsigned level) {
    struct node *n = larch__aligned_alloc(4096, sizeof(struct node));
    if (n)
        node_init(n, level);
    return n;
}

void node_free(void *n) {
    larch__free(n);
}

/* Compare the key of slot s, whose head equals k's, with k. */
static int key_cmp_tail(const struct node *n, uint64_t s, const struct search_key *k) {
    if (!slot_sane(s))
        return 1; /* torn: any answer, the caller's validation fails */
    size_t len = slot_len(s), common = len < k->len ? len : k->len;
    unsigned word = slot_off(s) / 8 + 1;
    for (size_t done = 0; done < common; done += 8, word++) {
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

/* Most comparisons are decided by the 4-byte heads in the slots alone; only equal
 * heads read the key bytes in the heap. */
static inline int slot_cmp(const struct node *n, uint64_t s, const struct search_key *k) {
    uint32_t head = slot_head(s);
    if (head != k->head)
        return head < k->head ? -1 : 1;
    return key_cmp_tail(n, s, k);
}

int node_key_cmp(const struct node *n, unsigned i, const struct search_key *k) {
    return slot_cmp(n, node_slot(n, i), k);
}

unsigned node_lower_bound(const struct node *n, const struct search_key *k, bool *equal) {
    unsigned lo = 0, hi = node_count(n);
    bool eq = false;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        int c = slot_cmp(n, node_slot(n, mid), k);
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

unsigned node_upper_bound(const struct node *n, const struct search_key *k) {
    unsigned lo = 0, hi = node_count(n);
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (slot_cmp(n, node_slot(n, mid), k) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

unsigned node_used(const struct node *n) {
    uint64_t m = node_meta(n);
    return meta_count(m) * 8 + (NODE_SIZE - meta_heap(m) - meta_dead(m));
}

bool node_has_room(const struct node *n, size_t len) {
    return node_used(n) + 8 + entry_size(len) <= CAPACITY;
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

/* Copy the node's words to a private image, so that keys can be read as bytes. */
static void snapshot(const struct node *n, uint64_t img[NODE_WORDS]) {
    img[0] = 0;
    for (unsigned i = 1; i < NODE_WORDS; i++)
        img[i] = node_load(n, i);
}

static unsigned image_entries(const uint64_t img[NODE_WORDS], struct entry *out) {
    unsigned count = meta_count(img[1]);
    for (unsigned i = 0; i < count; i++) {
        uint64_t s = img[NODE_HEADER_WORDS + i];
        out[i] = (struct entry){(const uint8_t *)&img[slot_off(s) / 8 + 1], slot_len(s),
                                img[slot_off(s) / 8]};
    }
    return count;
}

/* Rebuild n (locked, or not yet shared) with the given entries, heap compacted. */
static void build(struct node *n, unsigned level, const struct entry *e, unsigned count,
                  uint64_t upper) {
    uint64_t img[NODE_WORDS];
    unsigned heap = NODE_SIZE;
    for (unsigned i = 0; i < count; i++) {
        heap -= entry_size(e[i].len);
        img[heap / 8] = e[i].word;
        size_t words = (e[i].len + 7) / 8;
        if (words) {
            img[heap / 8 + words] = 0; /* zero the padding of the last word */
            memcpy(&img[heap / 8 + 1], e[i].key, e[i].len);
        }
        img[NODE_HEADER_WORDS + i] = slot_make(larch__key_head(e[i].key, e[i].len), heap, e[i].len);
    }
    img[1] = meta_make(count, level, heap, 0);
    img[2] = upper;
    img[3] = 0;
    for (unsigned i = 1; i < NODE_HEADER_WORDS + count; i++)
        node_store(n, i, img[i]);
    for (unsigned i = heap / 8; i < NODE_WORDS; i++)
        node_store(n, i, img[i]);
}

static void compact(struct node *n) {
    uint64_t img[NODE_WORDS];
    struct entry e[NODE_SLOTS_MAX];
    snapshot(n, img);
    unsigned count = image_entries(img, e);
    build(n, meta_level(img[1]), e, count, img[2]);
}

void node_insert_at(struct node *n, unsigned i, const uint8_t *key, size_t len, uint64_t word) {
    uint64_t m = node_meta(n);
    unsigned count = meta_count(m), need = entry_size(len);
    if ((NODE_HEADER_WORDS + count + 1) * 8 + need > meta_heap(m)) {
        compact(n);
        m = node_meta(n);
    }
    unsigned heap = meta_heap(m) - need;
    node_store(n, heap / 8, word);
    store_key(n, heap / 8 + 1, key, len);
    for (unsigned j = count; j > i; j--)
        node_store(n, NODE_HEADER_WORDS + j, node_slot(n, j - 1));
    node_store(n, NODE_HEADER_WORDS + i, slot_make(larch__key_head(key, len), heap, len));
    node_store(n, 1, meta_make(count + 1, meta_level(m), heap, meta_dead(m)));
}

void node_remove_at(struct node *n, unsigned i) {
    uint64_t m = node_meta(n);
    unsigned count = meta_count(m);
    unsigned dead = meta_dead(m) + entry_size(slot_len(node_slot(n, i)));
    for (unsigned j = i; j + 1 < count; j++)
        node_store(n, NODE_HEADER_WORDS + j, node_slot(n, j + 1));
    if (count == 1)
        node_store(n, 1, meta_make(0, meta_level(m), NODE_SIZE, 0));
    else
        node_store(n, 1, meta_make(count - 1, meta_level(m), meta_heap(m), dead));
}

void node_set_entry_word(struct node *n, unsigned i, uint64_t word) {
    node_store(n, slot_off(node_slot(n, i)) / 8, word);
}

/* The shortest key s with a < s <= b (a < b): b cut one byte past their common
 * prefix. Short separators make inner nodes wide. */
static size_t separator(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                        uint8_t *out) {
    size_t common = 0;
    while (common < alen && common < blen && a[common] == b[common])
        common++;
    size_t len = common + 1 <= blen ? common + 1 : blen;
    memcpy(out, b, len);
    return len;
}

static unsigned split_point(const struct entry *e, unsigned total, unsigned pos) {
    if (pos == total - 1)
        return total - 1; /* appending: keep the left node full (ascending inserts) */
    if (pos == 0)
        return 1; /* prepending: keep the right node full (descending inserts) */
    unsigned bytes = 0, all = 0;
    for (unsigned i = 0; i < total; i++)
        all += 8 + entry_size(e[i].len);
    unsigned m = 0;
    while (m < total - 1 && bytes + 8 + entry_size(e[m].len) <= all / 2)
        bytes += 8 + entry_size(e[m++].len);
    return m ? m : 1;
}

size_t node_split_leaf_insert(struct node *left, struct node *right, unsigned pos,
                              const uint8_t *key, size_t len, uint64_t value, uint8_t *sep) {
    uint64_t img[NODE_WORDS];
    struct entry e[NODE_SLOTS_MAX + 1];
    snapshot(left, img);
    unsigned count = image_entries(img, e), total = count, m;
    if (key) {
        memmove(&e[pos + 1], &e[pos], (count - pos) * sizeof e[0]);
        e[pos] = (struct entry){key, len, value};
        total++;
        m = split_point(e, total, pos);
    } else {
        m = split_point(e, total, total / 2);
    }
    size_t sep_len = separator(e[m - 1].key, e[m - 1].len, e[m].key, e[m].len, sep);
    build(right, 0, &e[m], total - m, 0);
    build(left, 0, e, m, 0);
    return sep_len;
}

size_t node_split_inner(struct node *left, struct node *right, uint8_t *sep) {
    uint64_t img[NODE_WORDS];
    struct entry e[NODE_SLOTS_MAX];
    snapshot(left, img);
    unsigned count = image_entries(img, e), level = meta_level(img[1]);
    unsigned m = count / 2;
    memcpy(sep, e[m].key, e[m].len);
    build(right, level, &e[m + 1], count - m - 1, img[2]);
    build(left, level, e, m, e[m].word);
    return e[m].len;
}

bool node_can_merge(const struct node *left, const struct node *right, size_t sep_len) {
    unsigned need = node_used(left) + node_used(right);
    if (!node_is_leaf(left))
        need += 8 + entry_size(sep_len);
    return need <= CAPACITY;
}

void node_merge(struct node *left, struct node *right, const uint8_t *sep, size_t sep_len) {
    uint64_t limg[NODE_WORDS], rimg[NODE_WORDS];
    struct entry e[2 * NODE_SLOTS_MAX + 1];
    snapshot(left, limg);
    snapshot(right, rimg);
    unsigned n = image_entries(limg, e), level = meta_level(limg[1]);
    if (level > 0)
        e[n++] = (struct entry){sep, sep_len, limg[2]};
    n += image_entries(rimg, &e[n]);
    build(left, level, e, n, rimg[2]);
}
