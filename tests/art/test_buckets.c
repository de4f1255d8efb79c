/* Leaf buckets: keys of one length of at most 8 bytes below a slot are packed,
 * sorted, in one bucket that grows through its size classes, bursts into an inner
 * node over buckets when full, turns into nodes and leaves when a key of another
 * length arrives, shrinks and goes away as keys are deleted, and gives every
 * byte back; a failed allocation at any point of a rebuild changes nothing. */
#include <larch/art.h>

#include <stdlib.h>
#include <string.h>

#include "art/bucket.h"
#include "art/tree.h"
#include "common/alloc.h"
#include "harness.h"

static uintptr_t root_child(larch_art *t, uint8_t b) {
    return art_slot_load(art_find_child(t->root, b));
}

static struct art_bucket *bucket_at(uintptr_t w) {
    return w && art_is_bucket(w) ? art_bucket_of(art_node_of(w)) : NULL;
}

static void key4(unsigned char *k, unsigned i) {
    k[0] = 'B';
    k[1] = (unsigned char)(i * 151 >> 8); /* spread over a few next bytes */
    k[2] = (unsigned char)(i * 151);
    k[3] = (unsigned char)i;
}

struct collect {
    unsigned char keys[4096][4];
    uint64_t vals[4096];
    long n;
    int bad;
};

static int collect_fn(void *ctx, const void *key, size_t len, uint64_t val) {
    struct collect *c = ctx;
    if (len != 4 || c->n >= 4096) {
        c->bad = 1;
        return 1;
    }
    memcpy(c->keys[c->n], key, 4);
    c->vals[c->n++] = val;
    return 0;
}

static int collect_nothing(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx, (void)key, (void)len, (void)val;
    return 0;
}

static int cmp4(const void *a, const void *b) {
    return memcmp(a, b, 4);
}

/* Every key of keys[0..n) is in t with value index + 1, and a scan and both
 * iterator directions give exactly them in order. */
static void contents_are(larch_art *t, unsigned n) {
    static unsigned char sorted[4096][4];
    for (unsigned i = 0; i < n; i++)
        key4(sorted[i], i);
    qsort(sorted, n, 4, cmp4);
    struct collect *c = calloc(1, sizeof *c);
    REQUIRE(c != NULL);
    CHECK_EQ(larch_art_scan(t, NULL, 0, NULL, 0, collect_fn, c), (long)n);
    CHECK(!c->bad);
    for (unsigned i = 0; i < n && i < (unsigned)c->n; i++)
        CHECK(memcmp(c->keys[i], sorted[i], 4) == 0);
    larch_art_iter *it = larch_art_iter_new(t);
    REQUIRE(it != NULL);
    unsigned i = n;
    for (larch_art_iter_seek_last(it); larch_art_iter_valid(it); larch_art_iter_prev(it)) {
        size_t len;
        const void *k = larch_art_iter_key(it, &len);
        CHECK(i > 0 && len == 4 && memcmp(k, sorted[i - 1], 4) == 0);
        i--;
    }
    CHECK_EQ(i, 0);
    larch_art_iter_free(it);
    for (unsigned j = 0; j < n; j++) {
        unsigned char k[4];
        uint64_t v = 0;
        key4(k, j);
        CHECK_EQ(larch_art_get(t, k, 4, &v), LARCH_OK);
        CHECK_EQ(v, j + 1);
    }
    CHECK_EQ(larch_art_len(t), n);
    CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
    free(c);
}

static void a_bucket_grows_bursts_shrinks_and_goes(void) {
    larch_art *t = larch_art_new();
    REQUIRE(t != NULL);
    unsigned char k[4];
    unsigned last_cap = 0, grew = 0;
    for (unsigned n = 1; n <= ART_BUCKET_MAX; n++) {
        key4(k, n - 1);
        CHECK_EQ(larch_art_put(t, k, 4, n, NULL), LARCH_OK);
        uintptr_t w = root_child(t, 'B');
        if (n == 1) {
            CHECK(w && art_is_leaf(w)); /* a lone key is a leaf */
            continue;
        }
        struct art_bucket *b = bucket_at(w);
        REQUIRE(b != NULL);
        CHECK_EQ(art_count(&b->h), n);
        CHECK(b->cap >= n && b->cap == art_bucket_cap_for(b->cap));
        grew += b->cap != last_cap;
        last_cap = b->cap;
    }
    CHECK(grew > 10);
    CHECK_EQ(last_cap, ART_BUCKET_MAX);
    contents_are(t, ART_BUCKET_MAX);
    /* One more bursts it: an inner node over buckets and leaves. */
    key4(k, ART_BUCKET_MAX);
    CHECK_EQ(larch_art_put(t, k, 4, ART_BUCKET_MAX + 1, NULL), LARCH_OK);
    uintptr_t w = root_child(t, 'B');
    CHECK(w && !art_is_leaf(w) && !art_is_bucket(w));
    contents_are(t, ART_BUCKET_MAX + 1);
    for (unsigned n = ART_BUCKET_MAX + 1; n < 4096; n++) {
        key4(k, n);
        CHECK_EQ(larch_art_put(t, k, 4, n + 1, NULL), LARCH_OK);
    }
    contents_are(t, 4096);
    /* Down again, checking as buckets shrink and go. */
    for (unsigned n = 4096; n > 0; n--) {
        key4(k, n - 1);
        uint64_t old = 0;
        CHECK_EQ(larch_art_del(t, k, 4, &old), LARCH_OK);
        CHECK_EQ(old, n);
        if (n % 512 == 0 || n < 8)
            contents_are(t, n - 1);
    }
    CHECK_EQ(larch_art_height(t), 1);
    CHECK_EQ(art_count(t->root), 0);
    larch_art_free(t);
}

/* A key of another length (shorter, longer, a prefix of bucket keys, longer than 8)
 * turns the bucket into an inner node; every key stays findable. */
static void keys_of_other_lengths_turn_a_bucket_into_nodes(void) {
    const char *others[] = {
        "B", "BA", "B\x01", "B\x02\x03\x04\x05", "B\x02\x03", "B\x01\x02\x03\x04\x05\x06\x07\x08"};
    enum { N = sizeof others / sizeof others[0] };
    for (unsigned o = 0; o < N; o++) {
        larch_art *t = larch_art_new();
        REQUIRE(t != NULL);
        unsigned char k[4];
        for (unsigned i = 0; i < 40; i++) {
            key4(k, i);
            k[1] = (unsigned char)(i % 3); /* 0, 1, 2: some share the others' paths */
            CHECK_EQ(larch_art_put(t, k, 4, i, NULL), LARCH_OK);
        }
        CHECK(bucket_at(root_child(t, 'B')) != NULL);
        size_t olen = strlen(others[o]);
        if (o == N - 1)
            olen = 9;
        CHECK_EQ(larch_art_put(t, others[o], olen, 1000, NULL), LARCH_OK);
        CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
        CHECK_EQ(larch_art_len(t), 41);
        uint64_t v = 0;
        CHECK_EQ(larch_art_get(t, others[o], olen, &v), LARCH_OK);
        CHECK_EQ(v, 1000);
        for (unsigned i = 0; i < 40; i++) {
            key4(k, i);
            k[1] = (unsigned char)(i % 3);
            CHECK_EQ(larch_art_get(t, k, 4, &v), LARCH_OK);
            CHECK_EQ(v, i);
        }
        /* Ordered: a scan sees 41 keys ascending. */
        CHECK_EQ(larch_art_scan(t, NULL, 0, NULL, 0, collect_nothing, NULL), 41);
        for (unsigned i = 0; i < 40; i++) {
            key4(k, i);
            k[1] = (unsigned char)(i % 3);
            CHECK_EQ(larch_art_del(t, k, 4, NULL), LARCH_OK);
        }
        CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
        CHECK_EQ(larch_art_del(t, others[o], olen, NULL), LARCH_OK);
        CHECK_EQ(larch_art_height(t), 1);
        larch_art_free(t);
    }
}

/* The k-th allocation of a put that rebuilds a bucket (grow, burst, another
 * length) fails: LARCH_ENOMEM, and the tree is as before. */
static void a_failed_rebuild_changes_nothing(void) {
    larch_art *t = larch_art_new();
    REQUIRE(t != NULL);
    unsigned char k[4];
    unsigned n = 0, failures = 0;
    for (; n < 600; n++) {
        key4(k, n);
        for (long at = 0;; at++) {
            larch__alloc_fail_at(at, 1);
            int rc = larch_art_put(t, k, 4, n + 1, NULL);
            larch__alloc_fail_at(-1, 0);
            if (rc == LARCH_OK)
                break;
            CHECK_EQ(rc, LARCH_ENOMEM);
            failures++;
            CHECK_EQ(larch_art_len(t), n);
            CHECK_EQ(larch_art_get(t, k, 4, NULL), LARCH_NOTFOUND);
            if (n % 50 == 0)
                contents_are(t, n);
        }
    }
    contents_are(t, n);
    /* A longer key over the full buckets. */
    for (long at = 0;; at++) {
        larch__alloc_fail_at(at, 1);
        int rc = larch_art_put(t, "B\x01\x02\x03\x04", 5, 7, NULL);
        larch__alloc_fail_at(-1, 0);
        if (rc == LARCH_OK)
            break;
        CHECK_EQ(rc, LARCH_ENOMEM);
        contents_are(t, n);
    }
    CHECK(failures > 300); /* every leaf, pair, growth and burst */
    larch_art_free(t);
}

int main(void) {
    RUN(a_bucket_grows_bursts_shrinks_and_goes);
    RUN(keys_of_other_lengths_turn_a_bucket_into_nodes);
    RUN(a_failed_rebuild_changes_nothing);
    return harness_finish();
}
