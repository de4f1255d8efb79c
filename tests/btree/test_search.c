/* Node searches (node_lower_bound, node_upper_bound) on keys spread unevenly: they
 * start from a guess interpolated between a node's first and last keys, so keys
 * bunched at one end, spaced exponentially or in clusters put the guess far from
 * the answer. Every search is compared with a linear pass over the node's keys, in
 * fixed-format leaves, slotted leaves and inner nodes. */
#include <larch/btree.h>

#include "btree/tree.h"
#include "harness.h"

enum { KEY_BYTES = 24 };

static size_t be_key(uint64_t n, size_t len, unsigned char *out) {
    for (size_t i = 0; i < len && i < 8; i++)
        out[i] = (unsigned char)(n >> (56 - 8 * i));
    for (size_t i = 8; i < len; i++)
        out[i] = (unsigned char)(0x30 + i);
    return len;
}

/* Both searches of n for key, against a linear pass over its keys. */
static void search_matches_linear(const struct node *n, const unsigned char *key, size_t len) {
    unsigned count = node_count(n), lower = count, upper = count;
    uint8_t buf[NODE_KEY_BUF];
    for (unsigned i = count; i-- > 0;) {
        size_t klen = node_key_copy(n, i, buf);
        int c = larch__key_cmp(buf, klen, key, len);
        if (c >= 0)
            lower = i;
        if (c > 0)
            upper = i;
    }
    bool eq_expected = false;
    if (lower < count) {
        size_t klen = node_key_copy(n, lower, buf);
        eq_expected = larch__key_cmp(buf, klen, key, len) == 0;
    }
    struct search_key k;
    search_key_init(&k, key, len);
    bool eq = !eq_expected;
    CHECK_EQ(node_lower_bound(n, &k, &eq), lower);
    CHECK_EQ(eq, eq_expected);
    CHECK_EQ(node_upper_bound(n, &k), upper);
}

/* Probe n with each of its keys, their neighbours (one more or less in the last
 * byte, cut short, extended), and keys outside its range. */
static void probe_node(const struct node *n, uint64_t *rng) {
    unsigned count = node_count(n);
    uint8_t key[NODE_KEY_BUF + 1];
    for (unsigned i = 0; i < count; i++) {
        size_t len = node_key_copy(n, i, key);
        search_matches_linear(n, key, len);
        if (len) {
            search_matches_linear(n, key, len - 1);
            key[len - 1]++;
            search_matches_linear(n, key, len);
            key[len - 1] -= 2;
            search_matches_linear(n, key, len);
            key[len - 1]++;
        }
        key[len] = (uint8_t)test_rand(rng);
        search_matches_linear(n, key, len + 1);
    }
    static const unsigned char ends[2][KEY_BYTES] = {
        {0}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    for (size_t len = 0; len <= 10; len++) {
        search_matches_linear(n, ends[0], len);
        search_matches_linear(n, ends[1], len);
    }
    for (int q = 0; q < 200; q++) {
        size_t len = 1 + test_rand(rng) % 12;
        be_key(test_rand(rng), len, key);
        search_matches_linear(n, key, len);
    }
}

/* Every node of the tree under n. */
static void probe_tree(const struct node *n, uint64_t *rng, unsigned *leaves, unsigned *inner) {
    probe_node(n, rng);
    if (node_is_leaf(n)) {
        (*leaves)++;
        return;
    }
    (*inner)++;
    unsigned count = node_count(n);
    for (unsigned i = 0; i <= count; i++)
        probe_tree(node_child(n, i, count), rng, leaves, inner);
}

/* The i-th of count keys in a distribution that interpolation guesses badly. */
static uint64_t uneven_key(int kind, uint64_t i, uint64_t count, uint64_t *rng) {
    switch (kind) {
    case 0: /* bunched at the bottom, a few keys at the top */
        return i + 1 < count ? i : ~0ull - (test_rand(rng) % 4);
    case 1: /* exponential spacing */
        return (1ull << (i % 64)) + i / 64;
    case 2: /* two tight clusters far apart */
        return i % 2 ? 0x1000 + i : 0xf000000000000000ull + i;
    case 3: /* a few at the bottom, the rest bunched at the top */
        return i < 3 ? i : 0xfffffffffff00000ull + i;
    default: /* evenly spread, dense */
        return i * 3;
    }
}

static void fixed_leaves_find_uneven_keys(void) {
    uint64_t rng = 7;
    for (int kind = 0; kind < 5; kind++) {
        for (uint64_t count = 1; count <= NODE_FIXED_MAX; count += count < 40 ? 1 : 37) {
            larch_btree *t = larch_btree_new();
            REQUIRE(t != NULL);
            unsigned char k[KEY_BYTES];
            for (uint64_t i = 0; i < count; i++)
                larch_btree_put(t, k, be_key(uneven_key(kind, i, count, &rng), 8, k), i, NULL);
            CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
            unsigned leaves = 0, inner = 0;
            larch_epoch_pin();
            CHECK_EQ(meta_format(node_meta(tree_root(t))), 9);
            probe_tree(tree_root(t), &rng, &leaves, &inner);
            larch_epoch_unpin();
            larch_btree_free(t);
        }
    }
}

/* Keys of mixed lengths (slotted leaves) and enough of them for inner nodes,
 * spread unevenly in their heads. */
static void slotted_nodes_find_uneven_keys(void) {
    uint64_t rng = 11;
    for (int kind = 0; kind < 5; kind++) {
        larch_btree *t = larch_btree_new();
        REQUIRE(t != NULL);
        unsigned char k[KEY_BYTES];
        uint64_t count = 6000;
        for (uint64_t i = 0; i < count; i++) {
            size_t len = 9 + test_rand(&rng) % 8;
            larch_btree_put(t, k, be_key(uneven_key(kind, i, count, &rng), len, k), i, NULL);
        }
        CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
        unsigned leaves = 0, inner = 0;
        larch_epoch_pin();
        probe_tree(tree_root(t), &rng, &leaves, &inner);
        larch_epoch_unpin();
        CHECK(inner > 0);
        CHECK(leaves > inner);
        larch_btree_free(t);
    }
}

/* A fixed-format leaf keeps its first and last keys in its header; check() sees a
 * wrong one, or a header word that should be zero and is not. */
static void check_verifies_a_fixed_leafs_ends(void) {
    larch_btree *t = larch_btree_new();
    REQUIRE(t != NULL);
    unsigned char k[KEY_BYTES];
    for (uint64_t i = 0; i < 100; i++)
        REQUIRE(larch_btree_put(t, k, be_key(i * 1000 + 5, 8, k), i, NULL) == LARCH_OK);
    /* Inserts and deletes at both ends move them. */
    REQUIRE(larch_btree_put(t, k, be_key(1, 8, k), 1, NULL) == LARCH_OK);
    REQUIRE(larch_btree_put(t, k, be_key(1ull << 60, 8, k), 1, NULL) == LARCH_OK);
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    REQUIRE(larch_btree_del(t, k, be_key(1, 8, k), NULL) == LARCH_OK);
    REQUIRE(larch_btree_del(t, k, be_key(1ull << 60, 8, k), NULL) == LARCH_OK);
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    struct node *leaf = tree_root(t);
    REQUIRE(meta_format(node_meta(leaf)) == 9);
    CHECK_EQ(node_load(leaf, 3), 5);
    CHECK_EQ(node_load(leaf, 4), 99 * 1000 + 5);
    /* Words 2 (no upper child in a leaf) and 5 are zero. */
    for (unsigned word = 2; word <= 5; word++) {
        uint64_t saved = node_load(leaf, word);
        node_store(leaf, word, saved + 1);
        CHECK_EQ(larch_btree_check(t, NULL), LARCH_ECORRUPT);
        node_store(leaf, word, saved);
        CHECK_EQ(larch_btree_check(t, NULL), LARCH_OK);
    }
    /* Emptied, the leaf holds zeros there. */
    for (uint64_t i = 0; i < 100; i++)
        REQUIRE(larch_btree_del(t, k, be_key(i * 1000 + 5, 8, k), NULL) == LARCH_OK);
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    larch_btree_free(t);
}

int main(void) {
    RUN(fixed_leaves_find_uneven_keys);
    RUN(slotted_nodes_find_uneven_keys);
    RUN(check_verifies_a_fixed_leafs_ends);
    return harness_finish();
}
