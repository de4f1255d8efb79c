/* The ART's own shapes, beyond the shared index suite: node kinds grow and shrink
 * at their thresholds, keys that end inside other keys' paths, prefixes longer
 * than the bytes a node stores, exact scan boundaries from absent keys, and a tree
 * that gives every node back when its keys go. */
#include <larch/art.h>

#include <stdlib.h>
#include <string.h>

#include "art/tree.h"
#include "harness.h"

/* The inner node that holds the keys "P" + one byte + a tail: the root's child
 * under 'P'. (Keys of 10 bytes: 8 or fewer of one length would go into a leaf
 * bucket, test_buckets.c.) */
static struct art_node *node_under_p(larch_art *t) {
    uintptr_t w = art_slot_load(art_find_child(t->root, 'P'));
    return w && !art_is_leaf(w) ? art_node_of(w) : NULL;
}

static int kind_for(unsigned n) {
    return n <= 4 ? ART_NODE4 : n <= 16 ? ART_NODE16 : n <= 48 ? ART_NODE48 : ART_NODE256;
}

static void a_node_grows_through_every_kind_and_shrinks_back(void) {
    larch_art *t = larch_art_new();
    REQUIRE(t != NULL);
    unsigned char k[10] = "P-tail-10";
    for (unsigned n = 1; n <= 256; n++) {
        k[1] = (unsigned char)(n * 37); /* every byte once, out of order */
        CHECK_EQ(larch_art_put(t, k, sizeof k, n, NULL), LARCH_OK);
        if (n == 1) {
            CHECK(node_under_p(t) == NULL); /* a lone key hangs as a leaf */
            continue;
        }
        struct art_node *node = node_under_p(t);
        REQUIRE(node != NULL);
        CHECK_EQ(node->kind, kind_for(n));
        CHECK_EQ(art_count(node), n);
    }
    CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    /* Down again: a kind shrinks only well below its capacity (37, 12, 3 children
     * left), so that one insert does not undo a shrink. */
    int seen[4] = {0};
    for (unsigned n = 256; n >= 2; n--) {
        k[1] = (unsigned char)(n * 37);
        CHECK_EQ(larch_art_del(t, k, sizeof k, NULL), LARCH_OK);
        struct art_node *node = node_under_p(t);
        if (n == 2) {
            CHECK(node == NULL); /* one key left: folded back into a leaf */
            break;
        }
        REQUIRE(node != NULL);
        unsigned left = n - 1;
        int want = left <= 3    ? ART_NODE4
                   : left <= 12 ? ART_NODE16
                   : left <= 37 ? ART_NODE48
                                : ART_NODE256;
        CHECK_EQ(node->kind, want);
        seen[node->kind] = 1;
    }
    CHECK(seen[0] && seen[1] && seen[2] && seen[3]);
    CHECK_EQ(larch_art_len(t), 1);
    CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    larch_art_free(t);
}

static void keys_ending_inside_other_keys_live_in_end_slots(void) {
    larch_art *t = larch_art_new();
    REQUIRE(t != NULL);
    /* Every prefix of a 12-byte key, including the empty key, and siblings. */
    const char *full = "abcdefghijkl";
    for (size_t len = 0; len <= 12; len++)
        CHECK_EQ(larch_art_put(t, full, len, len, NULL), LARCH_OK);
    CHECK_EQ(larch_art_put(t, "abcX", 4, 100, NULL), LARCH_OK);
    CHECK_EQ(larch_art_put(t, "abcdefgh\0", 9, 101, NULL), LARCH_OK);
    CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    for (size_t len = 0; len <= 12; len++) {
        uint64_t v = 99;
        CHECK_EQ(larch_art_get(t, full, len, &v), LARCH_OK);
        CHECK_EQ(v, len);
    }
    /* Remove the middle ones: the nodes they ended at fold away. */
    for (size_t len = 1; len < 12; len += 2)
        CHECK_EQ(larch_art_del(t, full, len, NULL), LARCH_OK);
    CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    for (size_t len = 0; len <= 12; len++)
        CHECK_EQ(larch_art_get(t, full, len, NULL), len % 2 ? LARCH_NOTFOUND : LARCH_OK);
    CHECK_EQ(larch_art_len(t), 7 + 2);
    larch_art_free(t);
}

/* Keys sharing a 300-byte prefix, then diverging inside it at bytes past the
 * stored ones: the split reads the prefix back from a leaf. */
static void prefixes_longer_than_the_stored_bytes_split_and_fold_exactly(void) {
    larch_art *t = larch_art_new();
    REQUIRE(t != NULL);
    enum { LONG = 300 };
    unsigned char base[LONG + 1];
    for (int i = 0; i < LONG; i++)
        base[i] = (unsigned char)(i * 7 + 1);
    base[LONG] = 0;
    CHECK_EQ(larch_art_put(t, base, LONG, 1, NULL), LARCH_OK);
    base[LONG] = 9;
    CHECK_EQ(larch_art_put(t, base, LONG + 1, 2, NULL), LARCH_OK);
    /* Diverge at positions that fall beyond the stored prefix bytes. */
    const int at[] = {290, 150, 40, 9, 8, 3};
    unsigned char k[LONG + 1];
    for (unsigned i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(k, base, LONG);
        k[at[i]] ^= 0x80;
        CHECK_EQ(larch_art_put(t, k, LONG, 10 + i, NULL), LARCH_OK);
        CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    }
    /* A key that ends inside the long prefix, and one that diverges by length. */
    CHECK_EQ(larch_art_put(t, base, 200, 20, NULL), LARCH_OK);
    CHECK_EQ(larch_art_get(t, base, 199, NULL), LARCH_NOTFOUND);
    CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    uint64_t v;
    CHECK_EQ(larch_art_get(t, base, LONG + 1, &v), LARCH_OK);
    CHECK_EQ(v, 2);
    /* Delete the divergent keys again: nodes fold, prefixes grow back past the
     * stored bytes, and the long keys are still found. */
    for (unsigned i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(k, base, LONG);
        k[at[i]] ^= 0x80;
        CHECK_EQ(larch_art_del(t, k, LONG, NULL), LARCH_OK);
        CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
        CHECK_EQ(larch_art_get(t, base, LONG + 1, &v), LARCH_OK);
        CHECK_EQ(larch_art_get(t, base, 200, &v), LARCH_OK);
    }
    CHECK_EQ(larch_art_len(t), 3);
    larch_art_free(t);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The index of the first of the n sorted keys that is >= v. */
static size_t lower_bound(const uint64_t *keys, size_t n, uint64_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int first_key(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len;
    *(uint64_t *)ctx = val;
    return 1;
}

static void be64(unsigned char *out, uint64_t v) {
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (56 - 8 * i));
}

/* ARTSynchronized's range lookup returns the predecessor for some absent start
 * keys; here every scan and seek from an absent key starts at the first key >= it
 * (and seek_for_prev at the last key <= it). */
static void scans_from_absent_keys_start_exactly_at_the_next_key(void) {
    enum { N = 20000, PROBES = 20000 };
    larch_art *t = larch_art_new();
    larch_art_iter *it = larch_art_iter_new(t);
    REQUIRE(t && it);
    uint64_t *keys = malloc(N * sizeof *keys), rng = 42;
    REQUIRE(keys);
    unsigned char k[8];
    for (size_t i = 0; i < N; i++) {
        keys[i] = test_rand(&rng) & 0xffff0fffffffffffull; /* some shared prefixes */
        be64(k, keys[i]);
        larch_art_put(t, k, 8, keys[i], NULL);
    }
    qsort(keys, N, sizeof *keys, cmp_u64);
    long wrong = 0;
    for (size_t p = 0; p < PROBES; p++) {
        uint64_t probe = test_rand(&rng) & 0xffff0fffffffffffull;
        size_t lo = lower_bound(keys, N, probe);
        be64(k, probe);
        uint64_t got = UINT64_MAX;
        long calls = larch_art_scan(t, k, 8, NULL, 0, first_key, &got);
        wrong += lo < N ? calls != 1 || got != keys[lo] : calls != 0;
        larch_art_iter_seek(it, k, 8);
        wrong += lo < N ? !larch_art_iter_valid(it) || larch_art_iter_value(it) != keys[lo]
                        : larch_art_iter_valid(it);
        /* The last key <= probe. */
        size_t at = lo < N && keys[lo] == probe ? lo + 1 : lo;
        larch_art_iter_seek_for_prev(it, k, 8);
        wrong += at ? !larch_art_iter_valid(it) || larch_art_iter_value(it) != keys[at - 1]
                    : larch_art_iter_valid(it);
        /* Bounds shorter than the keys: a prefix of the probe. */
        size_t plen = 1 + p % 7;
        uint64_t cut = probe >> (8 * (8 - plen)) << (8 * (8 - plen));
        size_t lo2 = lower_bound(keys, N, cut);
        got = UINT64_MAX;
        calls = larch_art_scan(t, k, plen, NULL, 0, first_key, &got);
        wrong += lo2 < N ? calls != 1 || got != keys[lo2] : calls != 0;
    }
    CHECK_EQ(wrong, 0);
    free(keys);
    larch_art_iter_free(it);
    larch_art_free(t);
}

static void deleting_every_key_leaves_only_the_root(void) {
    larch_art *t = larch_art_new();
    REQUIRE(t != NULL);
    uint64_t rng = 7;
    unsigned char k[24];
    for (int round = 0; round < 3; round++) {
        uint64_t seed = rng;
        for (int i = 0; i < 5000; i++) {
            size_t len = test_rand(&rng) % sizeof k;
            for (size_t j = 0; j < len; j++)
                k[j] = (unsigned char)(test_rand(&rng) % 4); /* collide and share prefixes */
            larch_art_put(t, k, len, 1, NULL);
        }
        CHECK(larch_art_height(t) > 1);
        rng = seed;
        for (int i = 0; i < 5000; i++) {
            size_t len = test_rand(&rng) % sizeof k;
            for (size_t j = 0; j < len; j++)
                k[j] = (unsigned char)(test_rand(&rng) % 4);
            larch_art_del(t, k, len, NULL);
        }
        CHECK_EQ(larch_art_len(t), 0);
        CHECK_EQ(larch_art_height(t), 1);
        CHECK_EQ(art_count(t->root), 0);
        CHECK_EQ(atomic_load(&t->root->end), 0);
        CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    }
    larch_art_free(t);
}

int main(void) {
    RUN(a_node_grows_through_every_kind_and_shrinks_back);
    RUN(keys_ending_inside_other_keys_live_in_end_slots);
    RUN(prefixes_longer_than_the_stored_bytes_split_and_fold_exactly);
    RUN(scans_from_absent_keys_start_exactly_at_the_next_key);
    RUN(deleting_every_key_leaves_only_the_root);
    return harness_finish();
}
