/* The B+ tree handle and the optimistic descent shared by the operations, the scans
 * and the iterators of src/btree/. */
#ifndef LARCH_BTREE_TREE_H
#define LARCH_BTREE_TREE_H

#include <stdatomic.h>

#include <larch/btree.h>

#include "btree/node.h"
#include "common/compiler.h"
#include "common/isearch.h"
#include "common/key.h"
#include "common/stripe.h"

/* A node below a quarter full tries to merge with a sibling; merged nodes stay
 * under three quarters full, so that a merge is not undone by the next insert. */
#define NODE_CAPACITY (NODE_SIZE - NODE_HEADER_WORDS * 8)
#define MERGE_BELOW (NODE_CAPACITY / 4)
#define MERGE_UP_TO (NODE_CAPACITY * 3 / 4)

struct larch_btree {
    /* Changes only under the lock of the node it points to (root split or
     * collapse); loaded with acquire, since it publishes a node built with relaxed
     * stores. */
    _Atomic(struct node *) root;
    /* Optimistic restarts, for tests that must prove the slow paths ran. */
    _Atomic unsigned long restarts;
    /* The key count, striped so that writers on different threads do not share a
     * line (common/stripe.h). */
    struct larch__stripe len[LARCH_STRIPES];
};

static inline struct node *tree_root(larch_btree *t) {
    /* acquire: pairs with the release stores in grow_root/collapse_root; the new
     * root's contents are visible. */
    return atomic_load_explicit(&t->root, memory_order_acquire);
}

static inline void tree_count_restart(larch_btree *t) {
    atomic_fetch_add_explicit(&t->restarts, 1, memory_order_relaxed);
}

static inline void search_key_init(struct search_key *k, const void *key, size_t len) {
    k->bytes = key;
    k->len = len;
    k->word = larch__load_be64(key, len);
    k->head = (uint32_t)(k->word >> 32);
}

/* The inner node above a leaf reached by a descent, as it was read: the leaf is
 * its child pos (count: its entry count then, so pos == count is the upper child).
 * node NULL: the leaf is the root. */
struct leaf_parent {
    struct node *node;
    uint64_t version;
    unsigned pos, count;
    uint64_t word; /* the leaf's word there as read: its address and hint */
};

/* How far a child's hint may drift (start and count together, in pairs) before a
 * write refreshes it: a guess from a hint that close lands within a line or so of
 * the child's own (4 pairs a line), inside what tree_child prefetches, and a
 * random insert refreshes its leaf's hint about once in three. */
#define HINT_SLACK 4

static inline unsigned hint_distance(unsigned x, unsigned y) {
    return x > y ? x - y : y - x;
}
static inline unsigned hint_drift(unsigned a, unsigned b) {
    return hint_distance(hint_start(a), hint_start(b)) +
           hint_distance(hint_count(a), hint_count(b));
}

/* Child pos of inner node n (count entries), read optimistically, on the way to k
 * (NULL: to the last leaf); *word receives the child's word. Where n is in the
 * fixed format and the child's hint (node.h) says the child is too, the line the
 * child's search will guess is prefetched with those either side, from the
 * separators around the child, before the caller's read of the child's header
 * has to wait: the search finds its lines arriving instead of asking for them
 * only once the header is in. The addresses are computed as integers: torn reads
 * may prefetch any line, which cannot fault. */
static inline struct node *tree_child(const struct node *n, unsigned pos, unsigned count,
                                      const struct search_key *k, uint64_t *word) {
    uint64_t m = node_meta(n);
    if (!meta_format(m) || pos >= count) {
        *word = node_child_word(n, pos, count);
        return child_at(*word);
    }
    unsigned at = fixed_entry_word(m, pos); /* the separator above the child */
    uint64_t w = node_load(n, at + 1);
    unsigned hint = word_hint(w), entries = hint_count(hint);
    *word = w;
    if (!k || pos == 0 || entries < FIXED_GUESS_MIN)
        return child_at(w);
    /* The child's keys lie in [lo, hi), as its first and last do, which its own
     * guess (larch__isearch_guess) interpolates between; halved, the differences
     * convert to double as signed integers, in one instruction. */
    uint64_t hi = node_load(n, at), lo = node_load(n, at - 2), span = hi - lo;
    uint64_t into = k->word - lo < span ? k->word - lo : span;
    double f = (double)(int64_t)(into >> 1) / (double)(int64_t)(span >> 1 | 1);
    unsigned place = hint_start(hint) + (unsigned)(f * (double)(entries - 1) + 0.5);
    uintptr_t line = child_pair_addr(w, place);
    __builtin_prefetch((const void *)line);
    __builtin_prefetch((const void *)(line - 64));
    __builtin_prefetch((const void *)(line + 64));
    return child_at(w);
}

#define tree_descend_to_leaf larch__bt_descend_to_leaf
/* Optimistic descent, the caller pinned, to the leaf that holds k, or with `below`
 * the leaf that holds the keys just below k (k NULL: the last leaf). Returns the
 * leaf and its version, or NULL if the caller must restart. If upper/lower are not
 * NULL, copies the tightest separators on the path: the keys of the leaf are in
 * [lower, upper) (*has_upper / *has_lower false: unbounded). If parent is not
 * NULL, it receives the leaf's parent. */
struct node *tree_descend_to_leaf(larch_btree *t, const struct search_key *k, bool below,
                                  uint64_t *version, uint8_t *upper, size_t *upper_len,
                                  bool *has_upper, uint8_t *lower, size_t *lower_len,
                                  bool *has_lower, struct leaf_parent *parent);

#define tree_lock_leaf larch__bt_lock_leaf
/* Optimistic attempts a reader makes before it falls back to tree_lock_leaf, so
 * that writers changing its leaf all the time cannot starve it (16; tests set 0 to
 * run every read on the fallback path; set it before any thread uses a tree). */
extern unsigned larch__bt_optimistic_attempts;
#define TREE_OPTIMISTIC_ATTEMPTS larch__bt_optimistic_attempts
/* The same descent with lock coupling: every node on the path locked in turn from
 * the root down, so it never restarts. Returns the leaf locked; the caller releases
 * it with vlock_unlock_unchanged. */
struct node *tree_lock_leaf(larch_btree *t, const struct search_key *k, bool below, uint8_t *upper,
                            size_t *upper_len, bool *has_upper, uint8_t *lower, size_t *lower_len,
                            bool *has_lower);

/* The value `ahead` entries past the iterator's current one in the batch it
 * holds, or 0 if the batch ends first: a hint for prefetching what the caller
 * will read next (by the time the iterator gets there, the entry may be gone). */
uint64_t larch__bt_iter_value_ahead(const larch_btree_iter *it, unsigned ahead);

#define tree_rebalance larch__bt_rebalance
/* After a delete left the leaf of k underfull: merge it (and, in turn, its
 * ancestors) with siblings. The caller is pinned. */
void tree_rebalance(larch_btree *t, const struct search_key *k);

#endif /* LARCH_BTREE_TREE_H */
