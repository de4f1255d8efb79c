/* Child hints (src/btree/node.h): the word by which an inner node points to a
 * child carries the child's start and count when the child is in the fixed
 * format, so that a descent can fetch the line the child's search will guess
 * together with its header. Hints may lag, but writes keep them within
 * HINT_SLACK of the child: checked here, single-threaded, after inserts in random
 * and ascending order, after deletes, and for leaves turned slotted (hint 0),
 * for every child but the first and the upper one of its parent. */
#include <larch/btree.h>

#include "btree/keys.h"
#include "btree/tree.h"
#include "harness.h"

struct hint_census {
    unsigned fixed_children;   /* children in the fixed format */
    unsigned slotted_children; /* children in the slotted format */
    unsigned far;              /* hints HINT_SLACK or more from their child */
};

/* The hints held by the nodes at level `level` (>= 1) for their children, but the
 * first and the upper one, which descents guess nothing for (no separator on
 * one side) and writes leave stale. */
static void census_hints(const struct node *n, unsigned level, struct hint_census *c) {
    uint64_t m = node_meta(n);
    unsigned count = meta_count(m), l = meta_level(m);
    if (l < level)
        return;
    for (unsigned i = 0; i <= count; i++) {
        const struct node *child = node_child(n, i, count);
        if (l > level) {
            census_hints(child, level, c);
            continue;
        }
        if (i == 0 || i == count)
            continue;
        unsigned held = word_hint(node_child_word(n, i, count));
        /* Where a child word has no room for a hint, every hint is 0. */
        unsigned want = NODE_HINT_SHIFT < 64 ? node_hint(child) : 0;
        if (meta_format(node_meta(child)))
            c->fixed_children++;
        else
            c->slotted_children++;
        c->far += hint_drift(held, want) >= HINT_SLACK;
    }
}

static struct hint_census hints_at(larch_btree *t, unsigned level) {
    struct hint_census c = {0, 0, 0};
    census_hints(tree_root(t), level, &c);
    return c;
}

enum { KEYS = 300000 };

/* A tree of KEYS random 8-byte keys (NULL if it could not be built). */
static larch_btree *random_tree(void) {
    larch_btree *t = larch_btree_new();
    unsigned char k[8];
    for (uint64_t i = 0; t && i < KEYS; i++)
        if (larch_btree_put(t, k, be_key(spread(i), 8, k), i, NULL) != LARCH_OK) {
            larch_btree_free(t);
            return NULL;
        }
    return t;
}

static void random_inserts_keep_hints_close(void) {
    larch_btree *t = random_tree();
    REQUIRE(t != NULL);
    REQUIRE(larch_btree_height(t) == 3);
    struct hint_census leaves = hints_at(t, 1), inner = hints_at(t, 2);
    CHECK(leaves.fixed_children > KEYS / 512);
    CHECK_EQ(leaves.far, 0);
    CHECK(inner.fixed_children > 1);
    CHECK_EQ(inner.far, 0);
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    larch_btree_free(t);
}

static void ascending_inserts_keep_hints_close(void) {
    larch_btree *t = larch_btree_new();
    REQUIRE(t != NULL);
    unsigned char k[8];
    for (uint64_t i = 0; i < KEYS; i++)
        REQUIRE(larch_btree_put(t, k, be_key(i << 8, 8, k), i, NULL) == LARCH_OK);
    struct hint_census leaves = hints_at(t, 1), inner = hints_at(t, 2);
    CHECK(leaves.fixed_children > KEYS / 512);
    CHECK_EQ(leaves.far, 0);
    CHECK_EQ(inner.far, 0);
    larch_btree_free(t);
}

/* Deletes shrink leaves and merge them; the leaves' hints follow. */
static void deletes_keep_leaf_hints_close(void) {
    larch_btree *t = random_tree();
    REQUIRE(t != NULL);
    unsigned char k[8];
    for (uint64_t i = 0; i < KEYS; i += 4)
        for (uint64_t j = i; j < i + 3 && j < KEYS; j++)
            REQUIRE(larch_btree_del(t, k, be_key(spread(j), 8, k), NULL) == LARCH_OK);
    struct hint_census leaves = hints_at(t, 1);
    CHECK(leaves.fixed_children > KEYS / 4 / 256);
    CHECK_EQ(leaves.far, 0);
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    larch_btree_free(t);
}

/* A key of another length turns its leaf slotted; the leaf's hint goes to 0, and
 * no descent guesses a line in it. */
static void leaves_turned_slotted_lose_their_hint(void) {
    larch_btree *t = random_tree();
    REQUIRE(t != NULL);
    unsigned char k[9];
    for (uint64_t i = 0; i < KEYS; i += 97) {
        be_key(spread(i), 8, k);
        k[8] = 1;
        REQUIRE(larch_btree_put(t, k, 9, i, NULL) == LARCH_OK);
    }
    struct hint_census leaves = hints_at(t, 1);
    CHECK(leaves.slotted_children > 100);
    CHECK_EQ(leaves.far, 0);
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    larch_btree_free(t);
}

int main(void) {
    RUN(random_inserts_keep_hints_close);
    RUN(ascending_inserts_keep_hints_close);
    RUN(deletes_keep_leaf_hints_close);
    RUN(leaves_turned_slotted_lose_their_hint);
    return harness_finish();
}
