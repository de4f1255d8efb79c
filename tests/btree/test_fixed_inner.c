/* Fixed-format inner nodes: keys of one length up to 8 bytes give separators of
 * that length (cut where two keys differ, padded with zeros), which inner nodes
 * keep as integer pairs beside their children; a separator of another length turns
 * one slotted, even when it is too full to be rebuilt slotted (it is split first).
 * Checked by reading every key back and through larch_btree_check. */
#include <larch/btree.h>

#include "btree/census.h"
#include "btree/keys.h"
#include "btree/tree.h"
#include "harness.h"

static void keys_of_one_length_give_fixed_inner_nodes(void) {
    static const size_t lengths[] = {8, 4, 2};
    for (unsigned l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
        size_t len = lengths[l];
        larch_btree *t = larch_btree_new();
        REQUIRE(t != NULL);
        unsigned char k[8];
        uint64_t n = len == 2 ? 65536 : 200000;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t key = len == 2 ? (i * 40503u) & 0xffff : spread(i) >> (64 - 8 * len);
            REQUIRE(larch_btree_put(t, k, be_key(key, len, k), i, NULL) == LARCH_OK);
        }
        CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
        CHECK(larch_btree_height(t) >= 3);
        struct census c = inner_census(t);
        CHECK_EQ(c.slotted, 0);
        CHECK(c.fixed[len + 1] > 1);
        larch_btree_free(t);
    }
}

/* A root of 8-byte separators too full to be rebuilt slotted (more than about 168
 * entries of 24 bytes) meets a 9-byte separator: keys that extend an existing key by
 * one byte split its leaf between two keys that share 8 bytes. The write is refused
 * at the root, made again with room asked for on the way down (the root splits),
 * and the half that takes the separator turns slotted. */
static void a_full_fixed_inner_node_takes_a_longer_separator(void) {
    larch_btree *t = larch_btree_new();
    REQUIRE(t != NULL);
    unsigned char k[9];
    enum { BASE = 40000, EXTENDED = 600 };
    for (uint64_t i = 0; i < BASE; i++)
        REQUIRE(larch_btree_put(t, k, be_key(spread(i), 8, k), i, NULL) == LARCH_OK);
    REQUIRE(larch_btree_height(t) == 2);
    struct census before = inner_census(t);
    REQUIRE(before.fixed[9] == 1);
    REQUIRE(before.fullest_fixed * 24 + 8 + 24 > NODE_CAPACITY);

    /* 8 bytes of key 7, then one byte more: 7 < 7.0 < 7.1 < ... < the next key. */
    for (uint64_t j = 0; j < EXTENDED; j++) {
        be_key(spread(7), 8, k);
        k[8] = (unsigned char)(j % 256);
        if (j >= 256) {
            /* More than 256: extend other keys too. */
            be_key(spread(7 + j / 256), 8, k);
        }
        uint64_t old;
        int rc = larch_btree_put(t, k, 9, BASE + j, &old);
        CHECK(rc == LARCH_OK || rc == LARCH_EXISTS);
    }
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    CHECK_EQ(larch_btree_height(t), 3);
    struct census after = inner_census(t);
    CHECK(after.slotted >= 1);

    long bad = 0;
    for (uint64_t i = 0; i < BASE; i++) {
        uint64_t v = ~0ull;
        bad += larch_btree_get(t, k, be_key(spread(i), 8, k), &v) != LARCH_OK || v != i;
    }
    for (uint64_t j = 0; j < EXTENDED; j++) {
        be_key(spread(j >= 256 ? 7 + j / 256 : 7), 8, k);
        k[8] = (unsigned char)(j % 256);
        uint64_t v = ~0ull;
        bad += larch_btree_get(t, k, 9, &v) != LARCH_OK || v != BASE + j;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(larch_btree_len(t), BASE + EXTENDED);

    /* Deleting the longer keys again merges nodes of both formats. */
    for (uint64_t j = 0; j < EXTENDED; j++) {
        be_key(spread(j >= 256 ? 7 + j / 256 : 7), 8, k);
        k[8] = (unsigned char)(j % 256);
        CHECK_EQ(larch_btree_del(t, k, 9, NULL), LARCH_OK);
    }
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    CHECK_EQ(larch_btree_len(t), BASE);
    /* And deleting everything gives every node but the root leaf back. */
    for (uint64_t i = 0; i < BASE; i++)
        CHECK_EQ(larch_btree_del(t, k, be_key(spread(i), 8, k), NULL), LARCH_OK);
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    CHECK_EQ(larch_btree_height(t), 1);
    larch_btree_free(t);
}

/* A separator is cut to the bytes that tell two keys apart and padded with zeros,
 * never beyond the upper key: keys shorter than 8 bytes and keys that share 8 or
 * more bytes (whose separators cannot be 8 bytes long) mixed with 8-byte keys, all
 * found again, in order. */
static void separators_of_mixed_lengths_keep_the_order(void) {
    larch_btree *t = larch_btree_new();
    REQUIRE(t != NULL);
    unsigned char k[12];
    uint64_t n = 0;
    for (uint64_t i = 0; i < 30000; i++) {
        size_t len = i % 3 == 0 ? 3 : i % 3 == 1 ? 8 : 11;
        be_key(spread(i), 8, k);
        k[8] = k[9] = k[10] = 0; /* 11-byte keys: an 8-byte key and zero bytes */
        if (len == 11)
            be_key(spread(i - 1), 8, k);
        uint64_t old;
        int rc = larch_btree_put(t, k, len, i, &old);
        CHECK(rc == LARCH_OK || rc == LARCH_EXISTS);
        n += rc == LARCH_OK;
    }
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    CHECK_EQ(larch_btree_len(t), n);
    long bad = 0;
    for (uint64_t i = 0; i < 30000; i++) {
        size_t len = i % 3 == 0 ? 3 : i % 3 == 1 ? 8 : 11;
        be_key(spread(len == 11 ? i - 1 : i), 8, k);
        k[8] = k[9] = k[10] = 0;
        uint64_t v;
        bad += larch_btree_get(t, k, len, &v) != LARCH_OK;
    }
    CHECK_EQ(bad, 0);
    larch_btree_free(t);
}

int main(void) {
    RUN(keys_of_one_length_give_fixed_inner_nodes);
    RUN(a_full_fixed_inner_node_takes_a_longer_separator);
    RUN(separators_of_mixed_lengths_keep_the_order);
    return harness_finish();
}
