/* The ART handle and what its operations, scans, iterators and check share. */
#ifndef LARCH_ART_TREE_H
#define LARCH_ART_TREE_H

#include <stdatomic.h>

#include <larch/art.h>

#include "art/node.h"
#include "common/compiler.h"
#include "common/stripe.h"

struct larch_art {
    /* A Node256 with no prefix, fixed for the tree's life: it is never replaced,
     * so no operation has to lock the handle. Its end slot holds the empty key. */
    struct art_node *root;
    /* Lines past a leaf's first that a lookup prefetches as soon as it meets the
     * leaf, before it compares the key: 0, or 2 for the memtable's records, whose
     * newest version and its value follow the key (set before any thread uses
     * the tree). */
    unsigned leaf_lines_after;
    /* Optimistic restarts, for tests that must prove the slow paths ran. */
    _Atomic unsigned long restarts;
    struct larch__stripe len[LARCH_STRIPES];
};

static inline void art_count_restart(larch_art *t) {
    /* relaxed: a statistic, ordering nothing. */
    atomic_fetch_add_explicit(&t->restarts, 1, memory_order_relaxed);
}

/* Optimistic attempts an operation makes before it falls back to lock coupling
 * (every node on its path locked in turn), so that writers changing its nodes all
 * the time cannot starve it (16; tests set 0 to run everything on the fallback
 * path; set it before any thread uses a tree). */
extern unsigned larch__art_optimistic_attempts;

#define art_prefix_mismatch larch__art_prefix_mismatch
/* Compare n's prefix with key[depth..): the number of leading prefix bytes that
 * match (the prefix length if all do; fewer if the key differs or ends inside it),
 * and, if order is not NULL, how the prefix stands against the key there: <0, 0
 * (all of it matches), >0 (a greater byte, or the key ends inside it). Bytes past
 * the stored ones come from a leaf below n (art_any_leaf); *torn is set if none
 * could be read (the caller restarts). With `full` false, those bytes are assumed
 * to match (optimistic: a lookup verifies the leaf's whole key anyway). */
uint32_t art_prefix_mismatch(struct art_node *n, const uint8_t *key, size_t len, size_t depth,
                             bool full, int *order, bool *torn);

#define art_prefix_bytes larch__art_prefix_bytes
/* n's whole prefix, copied to out (which holds prefix_len bytes); false if a torn
 * read found no leaf to read it from. */
bool art_prefix_bytes(struct art_node *n, size_t depth, uint8_t *out);

#define art_compact larch__art_compact
/* After a delete left a node on key's path with too few children: shrink it or
 * fold it into its parent, and so on up the path. Best effort (it gives up on
 * allocation failure); the caller is pinned and holds no lock. */
void art_compact(larch_art *t, const uint8_t *key, size_t len);

#define art_retire_node larch__art_retire_node
void art_retire_node(struct art_node *n);
#define art_retire_leaf larch__art_retire_leaf
void art_retire_leaf(struct art_leaf *l);

/* For a tree whose leaves its caller allocates and frees (the memtable's records,
 * built in its arena, laid out as struct art_leaf with the value word set): insert
 * the unpublished leaf if no leaf holds its key (LARCH_OK: the tree links the leaf
 * itself, and never frees or moves it), else set *found to the leaf there
 * (LARCH_EXISTS, found without locking; the caller's leaf stays the caller's). Errors
 * as larch_art_insert (the tree unchanged). Such a tree gets its keys this way only
 * (so no leaf bucket ever forms in it: a bucket would copy the caller's key and value
 * out of its leaf), never deletes, and is freed with larch__art_free_nodes, which
 * frees every node and no leaf. */
int larch__art_insert_leaf(larch_art *t, struct art_leaf *leaf, struct art_leaf **found);
void larch__art_free_nodes(larch_art *t);

/* The value `ahead` entries past the iterator's current one in the batch it
 * holds, or 0 if the batch ends first: a hint for prefetching what the caller
 * will read next (by the time the iterator gets there, the entry may be gone). */
uint64_t larch__art_iter_value_ahead(const larch_art_iter *it, unsigned ahead);

#endif /* LARCH_ART_TREE_H */
