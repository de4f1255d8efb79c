/* Bucket searches (art_bucket_find) on keys spread unevenly: a search starts from
 * a guess interpolated between the bucket's first and last keys, so keys bunched
 * at one end, spaced exponentially or in clusters put the guess far from the
 * answer. Every search is compared with a linear pass, for every size from 1 to
 * ART_BUCKET_MAX, in buckets filled evenly and in buckets whose gaps inserts and
 * deletes have moved anywhere; and the gapped layout's invariants are checked
 * after every change. */
#include "art/bucket.h"
#include "harness.h"

enum spread { EVEN, RANDOM, BUNCHED, EXPONENTIAL, CLUSTERED, EXTREMES, SPREADS };

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* n distinct sorted keys spread as `how`. */
static void make_keys(enum spread how, unsigned n, uint64_t *rng, uint64_t *keys) {
    for (unsigned i = 0; i < n; i++) {
        uint64_t r = test_rand(rng);
        switch (how) {
        case EVEN:
            keys[i] = (uint64_t)i * 1000 + 7;
            break;
        case RANDOM:
            keys[i] = r;
            break;
        case BUNCHED: /* all but two at the bottom: the guess is far too high */
            keys[i] = i + 2 >= n ? UINT64_MAX - i : r % 4096;
            break;
        case EXPONENTIAL:
            keys[i] = (uint64_t)1 << (i % 64) | (uint64_t)(i / 64);
            break;
        case CLUSTERED: /* four tight clusters far apart */
            keys[i] = (r % 4) << 62 | (r >> 40) % 512;
            break;
        default: /* 0 and UINT64_MAX among the keys */
            keys[i] = i == 0 ? 0 : i == 1 ? UINT64_MAX : r;
            break;
        }
    }
    qsort(keys, n, sizeof *keys, cmp_u64);
    unsigned d = 0; /* distinct, topped up with fresh ones if needed */
    for (unsigned i = 0; i < n; i++)
        if (d == 0 || keys[i] != keys[d - 1])
            keys[d++] = keys[i];
    while (d < n) {
        keys[d++] = test_rand(rng) | 1;
        qsort(keys, d, sizeof *keys, cmp_u64);
        unsigned e = 0;
        for (unsigned i = 0; i < d; i++)
            if (e == 0 || keys[i] != keys[e - 1])
                keys[e++] = keys[i];
        d = e;
    }
}

/* The bucket's invariants: entries ascend through the slots, each gap holds its
 * next entry's key (ART_GAP_KEY past the last) and no value, the bitmap counts
 * the entries, first and last are the ends; and its entries are keys[0..n). */
static void bucket_holds(struct art_bucket *b, const uint64_t *keys, const uint64_t *vals,
                         unsigned n) {
    CHECK_EQ(art_count(&b->h), n);
    uint64_t next = ART_GAP_KEY;
    unsigned left = n;
    for (int at = (int)b->cap - 1; at >= 0; at--) {
        uint64_t kw = art_bucket_key(b, (unsigned)at);
        if (!art_bucket_is_used(b, (unsigned)at)) {
            CHECK_EQ(kw, next);
            CHECK_EQ(art_bucket_value(b, (unsigned)at), 0);
            continue;
        }
        REQUIRE(left > 0);
        left--;
        CHECK_EQ(kw, keys[left]);
        CHECK_EQ(art_bucket_value(b, (unsigned)at), vals[left]);
        next = kw;
    }
    CHECK_EQ(left, 0);
    CHECK_EQ(atomic_load(&b->first), n ? keys[0] : 0);
    CHECK_EQ(atomic_load(&b->last), n ? keys[n - 1] : 0);
}

/* A find of kw against a linear pass: the entry's slot if present, else cap and
 * the lower bound (the first slot whose key is not below kw). */
static void find_matches_linear(struct art_bucket *b, const uint64_t *keys, const uint64_t *vals,
                                unsigned n, uint64_t kw) {
    unsigned i = 0;
    while (i < n && keys[i] < kw)
        i++;
    bool present = i < n && keys[i] == kw;
    unsigned at, e = art_bucket_find(b, kw, &at);
    CHECK_EQ(art_bucket_get(b, kw), e);
    if (present) {
        REQUIRE(e < b->cap);
        CHECK(art_bucket_is_used(b, e));
        CHECK_EQ(art_bucket_key(b, e), kw);
        CHECK_EQ(art_bucket_value(b, e), vals[i]);
        return;
    }
    CHECK_EQ(e, b->cap);
    unsigned lower = 0;
    while (lower < b->cap && art_bucket_key(b, lower) < kw)
        lower++;
    CHECK_EQ(at, lower);
}

/* Every key, its neighbours, both ends and random words. */
static void probe(struct art_bucket *b, const uint64_t *keys, const uint64_t *vals, unsigned n,
                  uint64_t *rng) {
    bucket_holds(b, keys, vals, n);
    for (unsigned i = 0; i < n; i++) {
        find_matches_linear(b, keys, vals, n, keys[i]);
        find_matches_linear(b, keys, vals, n, keys[i] - 1);
        find_matches_linear(b, keys, vals, n, keys[i] + 1);
    }
    find_matches_linear(b, keys, vals, n, 0);
    find_matches_linear(b, keys, vals, n, UINT64_MAX);
    for (int q = 0; q < 64; q++)
        find_matches_linear(b, keys, vals, n, test_rand(rng));
}

static void searches_match_a_linear_pass(void) {
    uint64_t rng = 42, keys[ART_BUCKET_MAX], vals[ART_BUCKET_MAX];
    for (int how = 0; how < SPREADS; how++) {
        for (unsigned n = 1; n <= ART_BUCKET_MAX; n++) {
            make_keys((enum spread)how, n, &rng, keys);
            struct art_bucket *b = art_bucket_new(art_bucket_cap_for(n), 8);
            REQUIRE(b != NULL);
            struct art_bucket_fill fill;
            art_bucket_fill_begin(&fill, b, n);
            for (unsigned i = 0; i < n; i++) {
                vals[i] = i + 1;
                unsigned at = art_bucket_fill_entry(&fill, keys[i], vals[i]);
                CHECK(at < b->cap);
            }
            art_bucket_fill_end(&fill);
            probe(b, keys, vals, n, &rng);
            art_node_free(&b->h);
        }
    }
}

/* Keys inserted in random order into a bucket of ART_BUCKET_MAX slots until it is
 * full (so inserts meet gaps, then entries to move either way), then deleted in
 * random order: after each change the invariants hold and searches are exact. */
static void inserts_and_deletes_keep_gaps_exact(void) {
    uint64_t rng = 7, keys[ART_BUCKET_MAX], order[ART_BUCKET_MAX];
    for (int how = 0; how < SPREADS; how++) {
        make_keys((enum spread)how, ART_BUCKET_MAX, &rng, order);
        for (unsigned i = ART_BUCKET_MAX; i > 1; i--) { /* shuffle */
            unsigned j = (unsigned)(test_rand(&rng) % i);
            uint64_t x = order[i - 1];
            order[i - 1] = order[j];
            order[j] = x;
        }
        struct art_bucket *b = art_bucket_new(ART_BUCKET_MAX, 8);
        REQUIRE(b != NULL);
        uint64_t vals[ART_BUCKET_MAX];
        unsigned n = 0;
        for (unsigned k = 0; k < ART_BUCKET_MAX; k++) {
            uint64_t kw = order[k];
            unsigned at, i = 0;
            REQUIRE(art_bucket_find(b, kw, &at) == b->cap);
            art_bucket_insert(b, at, kw, kw ^ 0x5a);
            while (i < n && keys[i] < kw)
                i++;
            memmove(&keys[i + 1], &keys[i], (n - i) * sizeof *keys);
            keys[i] = kw;
            n++;
            for (unsigned j = 0; j < n; j++)
                vals[j] = keys[j] ^ 0x5a;
            if (k % 13 == 0 || k + 1 == ART_BUCKET_MAX)
                probe(b, keys, vals, n, &rng);
            else
                bucket_holds(b, keys, vals, n);
        }
        for (unsigned k = 0; k < ART_BUCKET_MAX; k++) {
            uint64_t kw = order[k];
            unsigned at, e = art_bucket_find(b, kw, &at), i = 0;
            REQUIRE(e < b->cap);
            art_bucket_remove(b, e);
            while (keys[i] != kw)
                i++;
            memmove(&keys[i], &keys[i + 1], (n - 1 - i) * sizeof *keys);
            n--;
            for (unsigned j = 0; j < n; j++)
                vals[j] = keys[j] ^ 0x5a;
            if (k % 13 == 0)
                probe(b, keys, vals, n, &rng);
            else
                bucket_holds(b, keys, vals, n);
        }
        art_node_free(&b->h);
    }
}

/* A growth copy with the new key in each place, the source having gaps anywhere. */
static void copies_place_the_new_key(void) {
    uint64_t rng = 9, keys[ART_BUCKET_MAX], vals[ART_BUCKET_MAX];
    for (unsigned n = 1; n < 64; n++) {
        make_keys(RANDOM, n + 1, &rng, keys);
        for (unsigned skip = 0; skip <= n; skip++) {
            struct art_bucket *from = art_bucket_new(art_bucket_cap_for(2 * n), 8);
            REQUIRE(from != NULL);
            for (unsigned i = 0; i <= n; i++) {
                if (i == skip)
                    continue;
                unsigned at;
                REQUIRE(art_bucket_find(from, keys[i], &at) == from->cap);
                art_bucket_insert(from, at, keys[i], keys[i] + 1);
            }
            unsigned at;
            struct art_bucket *to =
                art_bucket_copy_insert(art_bucket_cap_for(n + 1), from, keys[skip], &at);
            REQUIRE(to != NULL);
            CHECK_EQ(art_bucket_key(to, at), keys[skip]);
            art_bucket_set_value(to, at, keys[skip] + 1);
            for (unsigned i = 0; i <= n; i++)
                vals[i] = keys[i] + 1;
            probe(to, keys, vals, n + 1, &rng);
            art_node_free(&from->h);
            art_node_free(&to->h);
        }
    }
}

/* Inserts and deletes interleaved at random, in a bucket of every size class (the
 * small ones searched by halving alone) and for keys of 1, 3 and 8 bytes (words
 * zero-padded on the right), from a universe holding the least and the greatest
 * key of that length: whatever the density, after each change the invariants
 * hold and searches are exact. */
static void interleaved_changes_keep_gaps_exact(void) {
    uint64_t rng = 11, keys[ART_BUCKET_MAX], vals[ART_BUCKET_MAX];
    static const unsigned klens[] = {1, 3, 8};
    for (unsigned kl = 0; kl < 3; kl++) {
        unsigned klen = klens[kl], shift = 64 - 8 * klen;
        for (unsigned n = 1; n <= ART_BUCKET_MAX; n++) {
            unsigned cap = art_bucket_cap_for(n);
            if (n > 1 && cap == art_bucket_cap_for(n - 1))
                continue; /* one pass per size class */
            /* A universe of twice the slots (a byte's worth at most): the ends and
             * random words of klen bytes. */
            unsigned universe = klen == 1 ? 256 : 2 * cap;
            uint64_t words[512];
            for (unsigned i = 0; i < universe; i++) {
                uint64_t w = klen == 1 ? i : test_rand(&rng) >> shift;
                words[i] = (i == 0 ? 0 : i == 1 ? UINT64_MAX >> shift : w) << shift;
            }
            struct art_bucket *b = art_bucket_new(cap, klen);
            REQUIRE(b != NULL);
            unsigned count = 0;
            for (unsigned step = 0; step < 40 * cap; step++) {
                uint64_t kw = words[test_rand(&rng) % universe];
                unsigned at, e = art_bucket_find(b, kw, &at), i = 0;
                while (i < count && keys[i] < kw)
                    i++;
                if (e < b->cap) {
                    REQUIRE(i < count && keys[i] == kw);
                    art_bucket_remove(b, e);
                    memmove(&keys[i], &keys[i + 1], (count - 1 - i) * sizeof *keys);
                    memmove(&vals[i], &vals[i + 1], (count - 1 - i) * sizeof *vals);
                    count--;
                } else if (count < cap) {
                    REQUIRE(i == count || keys[i] != kw);
                    art_bucket_insert(b, at, kw, step + 1);
                    memmove(&keys[i + 1], &keys[i], (count - i) * sizeof *keys);
                    memmove(&vals[i + 1], &vals[i], (count - i) * sizeof *vals);
                    keys[i] = kw;
                    vals[i] = step + 1;
                    count++;
                }
                if (step % 17 == 0)
                    probe(b, keys, vals, count, &rng);
                else
                    bucket_holds(b, keys, vals, count);
            }
            art_node_free(&b->h);
        }
    }
}

int main(void) {
    RUN(searches_match_a_linear_pass);
    RUN(inserts_and_deletes_keep_gaps_exact);
    RUN(copies_place_the_new_key);
    RUN(interleaved_changes_keep_gaps_exact);
    return harness_finish();
}
