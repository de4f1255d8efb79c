/* A census of a B+ tree's inner nodes by format, read through its internals, for
 * the tests of fixed-format inner nodes. Call it only while no writer runs. */
#ifndef LARCH_TESTS_BTREE_CENSUS_H
#define LARCH_TESTS_BTREE_CENSUS_H

#include "btree/tree.h"

struct census {
    unsigned slotted;                       /* slotted inner nodes */
    unsigned fixed[NODE_FIXED_KEY_MAX + 2]; /* fixed-format inner nodes, by format */
    unsigned fullest_fixed;                 /* the most entries in a fixed-format one */
};

static void census_count(const struct node *n, struct census *c) {
    uint64_t m = node_meta(n);
    if (meta_level(m) == 0)
        return;
    unsigned format = meta_format(m), count = meta_count(m);
    if (format) {
        c->fixed[format]++;
        if (count > c->fullest_fixed)
            c->fullest_fixed = count;
    } else {
        c->slotted++;
    }
    for (unsigned i = 0; i <= count; i++)
        census_count(node_child(n, i, count), c);
}

static inline struct census inner_census(larch_btree *t) {
    struct census c = {0};
    census_count(tree_root(t), &c);
    return c;
}

#endif /* LARCH_TESTS_BTREE_CENSUS_H */
