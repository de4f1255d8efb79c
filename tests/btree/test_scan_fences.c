/* Scans and iterators at every separator of a three-level tree: a bound equal to a
 * leaf's fence (the scan must stop there, or go on into the next leaf), a fence
 * that is the parent's upper bound (the scan's step to the parent's next child
 * cannot take it), and moves either way across each fence. Every answer is
 * compared with a sorted array of the keys. Both leaf formats: dense u64 keys
 * (fixed, separators often whole keys) and long variable-length keys (slotted). */
#include <larch/btree.h>

#include "btree/tree.h"
#include "harness.h"

enum { FILL = 100, KEY_BUF = 2 + FILL + 2 + 8 };

static bool fixed;
static larch_btree *tree;
static unsigned char (*keys)[KEY_BUF];
static size_t *lens, nkeys;

/* Keys of ids 2, 4, 6, ... (the odd ids fall between keys). */
static size_t key_of(uint32_t id, unsigned char *out) {
    if (fixed) {
        for (int i = 0; i < 8; i++)
            out[i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
        return 8;
    }
    size_t tail = id % 7;
    out[0] = (unsigned char)(id >> 11), out[1] = (unsigned char)(id >> 3);
    memset(out + 2, 'f', FILL);
    out[2 + FILL] = (unsigned char)(id >> 8), out[3 + FILL] = (unsigned char)id;
    memset(out + 4 + FILL, 't', tail);
    return 4 + FILL + tail;
}

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

/* Index of the first key >= b. */
static size_t lower_bound(const unsigned char *b, size_t blen) {
    size_t lo = 0, hi = nkeys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (key_cmp(keys[mid], lens[mid], b, blen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t value_at(size_t i) {
    return i * 3 + 1;
}

/* ---- the separators of the tree ---------------------------------------------------- */

static unsigned char (*seps)[NODE_KEY_BUF];
static size_t *sep_lens, nseps, sep_cap;

static void collect(const struct node *n) {
    if (node_is_leaf(n))
        return;
    unsigned count = node_count(n);
    for (unsigned i = 0; i <= count; i++) {
        if (i < count && nseps < sep_cap) {
            sep_lens[nseps] = node_key_copy(n, i, seps[nseps]);
            nseps++;
        }
        collect(node_child(n, i, count));
    }
}

/* ---- checks ---------------------------------------------------------------------------- */

struct expect {
    size_t next, end; /* the keys [next, end) are due, in order */
    long calls, limit;
    bool bad;
};

static int see(void *ctx, const void *key, size_t len, uint64_t val) {
    struct expect *e = ctx;
    if (e->next >= e->end || key_cmp(key, len, keys[e->next], lens[e->next]) != 0 ||
        val != value_at(e->next))
        e->bad = true;
    e->next++;
    return ++e->calls == e->limit || e->bad;
}

/* Scan [lo, hi) (hi NULL: no bound), stopping after limit keys (-1: none). */
static void scan_matches(const unsigned char *lo, size_t lolen, const unsigned char *hi,
                         size_t hilen, long limit) {
    size_t from = lower_bound(lo, lolen), to = hi ? lower_bound(hi, hilen) : nkeys;
    if (to < from)
        to = from;
    if (limit >= 0 && to - from > (size_t)limit)
        to = from + (size_t)limit;
    struct expect e = {.next = from, .end = to, .limit = limit};
    long n = larch_btree_scan(tree, lo, lolen, hi, hilen, see, &e);
    CHECK(!e.bad);
    CHECK_EQ(e.next, to);
    CHECK_EQ(n, (long)(to - from));
}

/* The iterator is on key i (i == nkeys or (size_t)-1: it ended). */
static bool iter_at(larch_btree_iter *it, size_t i) {
    if (i >= nkeys)
        return !larch_btree_iter_valid(it);
    size_t len;
    const unsigned char *k = larch_btree_iter_key(it, &len);
    return k && key_cmp(k, len, keys[i], lens[i]) == 0 && larch_btree_iter_value(it) == value_at(i);
}

/* A failed check, once: a pass that went wrong stops there. */
static bool held(bool ok) {
    CHECK(ok);
    return ok;
}

/* From a seek to bound b: forward over `steps` keys, back over twice as many, and
 * forward again, crossing the fence both ways with batches of growing size. */
static void iterate_across(larch_btree_iter *it, const unsigned char *b, size_t blen,
                           size_t steps) {
    size_t i = lower_bound(b, blen);
    larch_btree_iter_seek(it, b, blen);
    if (!held(iter_at(it, i)))
        return;
    for (size_t s = 0; s < steps && i < nkeys; s++) {
        larch_btree_iter_next(it);
        if (!held(iter_at(it, ++i)))
            return;
    }
    if (i >= nkeys)
        return;
    for (size_t s = 0; s < 2 * steps && i != (size_t)-1; s++) {
        larch_btree_iter_prev(it);
        if (!held(iter_at(it, --i)))
            return;
    }
    if (i == (size_t)-1)
        return;
    for (size_t s = 0; s < steps; s++) {
        larch_btree_iter_next(it);
        if (!held(iter_at(it, ++i)))
            return;
    }
    /* seek_for_prev lands on the last key <= b. */
    size_t j = lower_bound(b, blen);
    if (j < nkeys && key_cmp(keys[j], lens[j], b, blen) == 0)
        j++;
    larch_btree_iter_seek_for_prev(it, b, blen);
    CHECK(iter_at(it, j - 1));
}

static void every_fence(uint32_t ids) {
    tree = larch_btree_new();
    REQUIRE(tree != NULL);
    nkeys = ids / 2;
    keys = calloc(nkeys, sizeof *keys);
    lens = calloc(nkeys, sizeof *lens);
    sep_cap = nkeys;
    seps = calloc(sep_cap, sizeof *seps);
    sep_lens = calloc(sep_cap, sizeof *sep_lens);
    REQUIRE(keys && lens && seps && sep_lens);
    /* Inserted in a scattered order, so leaves split everywhere. */
    for (size_t i = 0; i < nkeys; i++)
        lens[i] = key_of((uint32_t)(2 * i + 2), keys[i]);
    for (size_t n = 0; n < nkeys; n++) {
        size_t i = n * 7919 % nkeys;
        REQUIRE(larch_btree_put(tree, keys[i], lens[i], value_at(i), NULL) == LARCH_OK);
    }
    CHECK(larch_btree_height(tree) >= 3);
    nseps = 0;
    collect(tree_root(tree));
    CHECK(nseps > 10);
    fprintf(stderr, "  %zu keys, %zu separators, height %d\n", nkeys, nseps,
            larch_btree_height(tree));
    larch_btree_iter *it = larch_btree_iter_new(tree);
    REQUIRE(it != NULL);
    for (size_t s = 0; s < nseps; s++) {
        const unsigned char *sep = seps[s];
        size_t len = sep_lens[s], at = lower_bound(sep, len);
        size_t back = at > 300 ? at - 300 : 0;
        /* Up to the fence, from it, across it, and between two fences. */
        scan_matches(keys[back], lens[back], sep, len, -1);
        scan_matches(sep, len, NULL, 0, 400);
        scan_matches(keys[back], lens[back], NULL, 0, 700);
        if (s + 1 < nseps && key_cmp(sep, len, seps[s + 1], sep_lens[s + 1]) < 0)
            scan_matches(sep, len, seps[s + 1], sep_lens[s + 1], -1);
        /* A bound just above the fence. */
        unsigned char above[NODE_KEY_BUF + 1];
        memcpy(above, sep, len);
        above[len] = 0;
        scan_matches(keys[back], lens[back], above, len + 1, -1);
        iterate_across(it, sep, len, 150);
        iterate_across(it, above, len + 1, 70);
    }
    larch_btree_iter_free(it);
    /* Whole scans: nothing skipped, nothing twice. */
    scan_matches((const unsigned char *)"", 0, NULL, 0, -1);
    larch_btree_free(tree);
    free(keys);
    free(lens);
    free(seps);
    free(sep_lens);
}

static void u64_scans_and_iterators_at_every_fence(void) {
    fixed = true;
    every_fence(2 * 60000);
}

static void long_key_scans_and_iterators_at_every_fence(void) {
    fixed = false;
    every_fence(2 * 3000);
}

int main(void) {
    RUN(u64_scans_and_iterators_at_every_fence);
    RUN(long_key_scans_and_iterators_at_every_fence);
    return harness_finish();
}
