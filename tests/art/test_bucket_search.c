/* Bucket searches (art_bucket_lower_bound) on keys spread unevenly: a search
 * starts from a guess interpolated between the bucket's first and last keys, so
 * keys bunched at one end, spaced exponentially or in clusters put the guess far
 * from the answer. Every search is compared with a linear pass over the bucket's
 * keys, for every size from 1 to ART_BUCKET_MAX and windows at either end. */
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

static unsigned linear_lower_bound(const uint64_t *keys, unsigned n, uint64_t kw) {
    unsigned i = 0;
    while (i < n && keys[i] < kw)
        i++;
    return i;
}

static void search_matches_linear(struct art_bucket *b, const uint64_t *keys, unsigned n,
                                  uint64_t kw) {
    unsigned want = linear_lower_bound(keys, n, kw);
    unsigned got = art_bucket_lower_bound(b, art_bucket_count(b), kw);
    CHECK_EQ(got, want);
}

/* Every key, its neighbours, both ends and random words. */
static void probe(struct art_bucket *b, const uint64_t *keys, unsigned n, uint64_t *rng) {
    for (unsigned i = 0; i < n; i++) {
        search_matches_linear(b, keys, n, keys[i]);
        search_matches_linear(b, keys, n, keys[i] - 1);
        search_matches_linear(b, keys, n, keys[i] + 1);
    }
    search_matches_linear(b, keys, n, 0);
    search_matches_linear(b, keys, n, UINT64_MAX);
    for (int q = 0; q < 64; q++)
        search_matches_linear(b, keys, n, test_rand(rng));
}

static void searches_match_a_linear_pass(void) {
    uint64_t rng = 42, keys[ART_BUCKET_MAX];
    for (int how = 0; how < SPREADS; how++) {
        for (unsigned n = 1; n <= ART_BUCKET_MAX; n++) {
            make_keys((enum spread)how, n, &rng, keys);
            struct art_bucket *b = art_bucket_new(art_bucket_cap_for(n), 8);
            REQUIRE(b != NULL);
            art_bucket_fill(b, n);
            for (unsigned i = 0; i < n; i++)
                art_bucket_fill_entry(b, i, keys[i], i);
            probe(b, keys, n, &rng);
            art_node_free(&b->h);
        }
    }
}

/* Inserts at the front and the back move the window to either end of the pairs,
 * and deletes move it back; first and last follow, and searches stay exact. */
static void first_and_last_follow_inserts_and_deletes(void) {
    uint64_t rng = 7, keys[ART_BUCKET_MAX];
    for (int how = 0; how < SPREADS; how++) {
        make_keys((enum spread)how, ART_BUCKET_MAX, &rng, keys);
        struct art_bucket *b = art_bucket_new(ART_BUCKET_MAX, 8);
        REQUIRE(b != NULL);
        /* Alternately the smallest and the largest key left: front and back. */
        unsigned lo = ART_BUCKET_MAX / 2, hi = ART_BUCKET_MAX / 2;
        for (unsigned i = 0; i < ART_BUCKET_MAX; i++) {
            if (i % 2 && lo > 0) {
                lo--;
                art_bucket_insert(b, 0, keys[lo], lo);
            } else {
                art_bucket_insert(b, hi - lo, keys[hi], hi);
                hi++;
            }
            CHECK_EQ(atomic_load(&b->first), keys[lo]);
            CHECK_EQ(atomic_load(&b->last), keys[hi - 1]);
        }
        probe(b, keys, ART_BUCKET_MAX, &rng);
        for (unsigned i = 0; i < ART_BUCKET_MAX; i++)
            CHECK_EQ(art_bucket_value(b, i), i);
        /* Delete from both ends and from the middle. */
        unsigned n = ART_BUCKET_MAX;
        uint64_t left[ART_BUCKET_MAX];
        memcpy(left, keys, sizeof left);
        while (n > 0) {
            unsigned pos = n % 3 == 0 ? 0 : n % 3 == 1 ? n - 1 : n / 2;
            art_bucket_remove(b, pos);
            memmove(&left[pos], &left[pos + 1], (n - 1 - pos) * sizeof *left);
            n--;
            CHECK_EQ(art_count(&b->h), n);
            CHECK_EQ(atomic_load(&b->first), n ? left[0] : 0);
            CHECK_EQ(atomic_load(&b->last), n ? left[n - 1] : 0);
            if (n % 17 == 0)
                probe(b, left, n, &rng);
        }
        art_node_free(&b->h);
    }
}

int main(void) {
    RUN(searches_match_a_linear_pass);
    RUN(first_and_last_follow_inserts_and_deletes);
    return harness_finish();
}
