/* The fixed-format leaf (keys of one length <= 8 bytes stored as big-endian words
 * beside their values): leaves take it and leave it as keys of other lengths come
 * and go, and zero-padded keys of different lengths (which share a word) keep their
 * byte order. Checked against a sorted-array model and through larch_btree_check. */
#include <larch/btree.h>

#include "btree/tree.h"
#include "harness.h"

/* ---- a sorted-array model ------------------------------------------------------ */

enum { MODEL_MAX = 4096, KEY_BYTES = 16 };

struct mkey {
    unsigned char k[KEY_BYTES];
    size_t len;
    uint64_t val;
};

static struct mkey model[MODEL_MAX];
static int model_n;

static int mcmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

/* First model entry >= key; *found if equal. */
static int model_find(const unsigned char *k, size_t len, int *found) {
    int lo = 0, hi = model_n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (mcmp(model[mid].k, model[mid].len, k, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < model_n && mcmp(model[lo].k, model[lo].len, k, len) == 0;
    return lo;
}

static void model_put(const unsigned char *k, size_t len, uint64_t val) {
    int found, i = model_find(k, len, &found);
    if (!found) {
        memmove(&model[i + 1], &model[i], (size_t)(model_n - i) * sizeof model[0]);
        model_n++;
        memcpy(model[i].k, k, len);
        model[i].len = len;
    }
    model[i].val = val;
}

static void model_del(const unsigned char *k, size_t len) {
    int found, i = model_find(k, len, &found);
    if (found) {
        memmove(&model[i], &model[i + 1], (size_t)(model_n - i - 1) * sizeof model[0]);
        model_n--;
    }
}

struct cursor {
    int i;
    long bad;
};

static int compare_entry(void *ctx, const void *key, size_t len, uint64_t val) {
    struct cursor *c = ctx;
    if (c->i >= model_n || mcmp(model[c->i].k, model[c->i].len, key, len) != 0 ||
        model[c->i].val != val)
        c->bad++;
    c->i++;
    return 0;
}

/* The tree holds exactly the model: a full scan, a scan from every model key's
 * neighbourhood, and a get of each key. */
static void same_as_model(larch_btree *t) {
    CHECK_EQ(larch_btree_check(t, stderr), LARCH_OK);
    CHECK_EQ(larch_btree_len(t), model_n);
    struct cursor c = {0, 0};
    CHECK_EQ(larch_btree_scan(t, NULL, 0, NULL, 0, compare_entry, &c), model_n);
    CHECK_EQ(c.bad, 0);
    long bad = 0;
    for (int i = 0; i < model_n; i++) {
        uint64_t v = 0;
        bad += larch_btree_get(t, model[i].k, model[i].len, &v) != LARCH_OK || v != model[i].val;
    }
    CHECK_EQ(bad, 0);
}

static unsigned leaf_format(larch_btree *t) {
    return meta_format(node_meta(tree_root(t)));
}

static size_t be_key(uint64_t n, size_t len, unsigned char *out) {
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(n >> (56 - 8 * i));
    return len;
}

/* ---- tests --------------------------------------------------------------------- */

static void a_leaf_switches_format_with_its_key_lengths(void) {
    larch_btree *t = larch_btree_new();
    REQUIRE(t != NULL);
    model_n = 0;
    unsigned char k[KEY_BYTES];
    for (uint64_t i = 0; i < 100; i++) {
        REQUIRE(larch_btree_put(t, k, be_key(i << 40, 8, k), i, NULL) == LARCH_OK);
        model_put(k, 8, i);
    }
    CHECK_EQ(larch_btree_height(t), 1);
    CHECK_EQ(leaf_format(t), 9); /* fixed, 8-byte keys */
    same_as_model(t);

    /* A 3-byte key (a prefix of 8-byte keys) turns the leaf slotted. */
    REQUIRE(larch_btree_put(t, k, be_key(50ull << 40, 3, k), 1000, NULL) == LARCH_OK);
    model_put(k, 3, 1000);
    CHECK_EQ(leaf_format(t), 0);
    same_as_model(t);
    REQUIRE(larch_btree_del(t, k, 3, NULL) == LARCH_OK);
    model_del(k, 3);
    same_as_model(t);

    /* Filling it until it splits rebuilds both halves in the fixed format. */
    for (uint64_t i = 100; larch_btree_height(t) == 1; i++) {
        REQUIRE(larch_btree_put(t, k, be_key(i << 40, 8, k), i, NULL) == LARCH_OK);
        model_put(k, 8, i);
    }
    same_as_model(t);
    struct node *root = tree_root(t);
    for (unsigned i = 0; i <= node_count(root); i++)
        CHECK_EQ(meta_format(node_meta(node_child(root, i, node_count(root)))), 9);

    /* Deleting every key merges the leaves back into one. */
    while (model_n > 0) {
        REQUIRE(larch_btree_del(t, model[0].k, model[0].len, NULL) == LARCH_OK);
        model_del(model[0].k, model[0].len);
    }
    same_as_model(t);
    CHECK_EQ(larch_btree_height(t), 1);

    /* An empty leaf takes the fixed format of its first key, whatever its length. */
    for (size_t len = 0; len <= 8; len++) {
        REQUIRE(larch_btree_put(t, k, be_key(0x4142434445464748ull, len, k), len, NULL) ==
                LARCH_OK);
        CHECK_EQ(leaf_format(t), len + 1);
        REQUIRE(larch_btree_del(t, k, len, NULL) == LARCH_OK);
    }
    larch_btree_free(t);
}

/* A full fixed-format leaf met by a key of another length: the split must leave
 * each half in a format it fits. */
static void a_full_fixed_leaf_takes_a_key_of_another_length(void) {
    for (int where = 0; where < 3; where++) {
        larch_btree *t = larch_btree_new();
        REQUIRE(t != NULL);
        model_n = 0;
        unsigned char k[KEY_BYTES];
        for (uint64_t i = 0; i < NODE_FIXED_MAX; i++) {
            REQUIRE(larch_btree_put(t, k, be_key((i + 1) << 48, 8, k), i, NULL) == LARCH_OK);
            model_put(k, 8, i);
        }
        CHECK_EQ(larch_btree_height(t), 1);
        uint64_t at = where == 0 ? 0 : where == 1 ? 100ull << 48 : ~0ull;
        memset(k, 0x7f, sizeof k);
        be_key(at, 8, k);
        REQUIRE(larch_btree_put(t, k, KEY_BYTES, 77, NULL) == LARCH_OK);
        model_put(k, KEY_BYTES, 77);
        same_as_model(t);
        larch_btree_free(t);
    }
}

/* Keys from a small alphabet with zeros, of lengths 0..9 and 16: many keys share a
 * zero-padded word and differ only in length. Stored keys mostly take the length
 * of their region (their first byte), so that most leaves are fixed-format with a
 * few intruders; queries (any_len) take any length. */
static size_t random_key(uint64_t *rng, unsigned char *k, bool any_len) {
    static const size_t lens[] = {0, 1, 2, 3, 4, 7, 8, 9, 16};
    static const size_t region_len[] = {8, 3, 8, 1, 16, 8, 7, 8};
    static const unsigned char bytes[] = {0, 0, 1, 0xff};
    unsigned char first = (unsigned char)(test_rand(rng) % 8);
    size_t len = any_len || test_rand(rng) % 256 == 0
                     ? lens[test_rand(rng) % (sizeof lens / sizeof lens[0])]
                     : region_len[first];
    bool dense = test_rand(rng) % 2;
    for (size_t i = 0; i < len; i++)
        k[i] = dense ? bytes[test_rand(rng) % 4] : (unsigned char)test_rand(rng);
    if (len)
        k[0] = first;
    return len;
}

static void random_operations_match_a_model(void) {
    larch_btree *t = larch_btree_new();
    REQUIRE(t != NULL);
    model_n = 0;
    uint64_t rng = 42;
    unsigned char k[KEY_BYTES];
    for (int round = 0; round < 40; round++) {
        /* Grow, then shrink, so leaves split and merge across formats. */
        bool grow = round % 8 < 5;
        for (int op = 0; op < 500; op++) {
            size_t len = random_key(&rng, k, false);
            if (grow || test_rand(&rng) % 4 == 0) {
                if (model_n >= MODEL_MAX - 1)
                    continue;
                uint64_t v = test_rand(&rng);
                larch_btree_put(t, k, len, v, NULL);
                model_put(k, len, v);
            } else {
                int i = model_n ? (int)(test_rand(&rng) % (uint64_t)model_n) : 0;
                if (model_n) {
                    memcpy(k, model[i].k, model[i].len);
                    len = model[i].len;
                }
                int found;
                model_find(k, len, &found);
                CHECK_EQ(larch_btree_del(t, k, len, NULL), found ? LARCH_OK : LARCH_NOTFOUND);
                model_del(k, len);
            }
        }
        same_as_model(t);
        /* Absent keys: get misses, and a scan from one starts at its successor. */
        for (int q = 0; q < 400; q++) {
            size_t len = random_key(&rng, k, true);
            if (q % 2 && model_n) {
                /* A present key cut short or padded with zeros: the same word. */
                const struct mkey *m = &model[test_rand(&rng) % (uint64_t)model_n];
                memcpy(k, m->k, m->len);
                memset(k + m->len, 0, KEY_BYTES - m->len);
                bool shorter = m->len == KEY_BYTES || (m->len && test_rand(&rng) % 2);
                len = shorter ? test_rand(&rng) % m->len
                              : m->len + 1 + test_rand(&rng) % (KEY_BYTES - m->len);
            }
            int found, i = model_find(k, len, &found);
            CHECK_EQ(larch_btree_get(t, k, len, NULL), found ? LARCH_OK : LARCH_NOTFOUND);
            struct cursor c = {i, 0};
            long calls = larch_btree_scan(t, k, len, NULL, 0, compare_entry, &c);
            CHECK_EQ(calls, model_n - i);
            CHECK_EQ(c.bad, 0);
        }
    }
    larch_btree_free(t);
}

int main(void) {
    RUN(a_leaf_switches_format_with_its_key_lengths);
    RUN(a_full_fixed_leaf_takes_a_key_of_another_length);
    RUN(random_operations_match_a_model);
    return harness_finish();
}
