/* Bucket searches on torn reads: an optimistic reader may see any mix of old and
 * new words before it validates (keys out of order, gaps holding stray keys, a
 * bitmap marking slots past the capacity, first above last, a count past the
 * slots), and every index it derives must stay inside the bucket. Each search and
 * the growth copy run on buckets of every size class filled with such words; the
 * slots they return are checked against the capacity, and ASan (the bucket is
 * allocated to its last slot) catches any read past it. */
#include "art/bucket.h"
#include "harness.h"

/* A word a torn read could give: the ends, the gap key, near misses, or noise. */
static uint64_t torn_word(uint64_t *rng, const uint64_t *pool, unsigned pool_n) {
    uint64_t r = test_rand(rng);
    switch (r % 6) {
    case 0:
        return 0;
    case 1:
        return ART_GAP_KEY;
    case 2:
    case 3:
        return pool[(r >> 8) % pool_n];
    case 4:
        return pool[(r >> 8) % pool_n] + ((r >> 40) & 1 ? 1 : -1);
    default:
        return test_rand(rng);
    }
}

/* Fill every word a reader looks at with torn values. */
static void tear(struct art_bucket *b, uint64_t *rng, const uint64_t *pool, unsigned pool_n) {
    for (unsigned at = 0; at < b->cap; at++) {
        atomic_store(art_bucket_pair(b, at), torn_word(rng, pool, pool_n));
        atomic_store(art_bucket_pair(b, at) + 1, test_rand(rng));
    }
    for (unsigned i = 0; i < ART_BUCKET_USED_WORDS; i++) {
        uint64_t r = test_rand(rng);
        atomic_store(&b->used[i], r % 3 == 0 ? ~(uint64_t)0 : r % 3 == 1 ? 0 : test_rand(rng));
    }
    atomic_store(&b->first, torn_word(rng, pool, pool_n));
    atomic_store(&b->last, torn_word(rng, pool, pool_n));
    atomic_store(&b->h.count, (uint16_t)test_rand(rng));
}

static void searches_stay_inside_a_torn_bucket(void) {
    uint64_t rng = 12345;
    long bad = 0;
    for (unsigned n = 1; n <= ART_BUCKET_MAX; n++) {
        unsigned cap = art_bucket_cap_for(n);
        if (n > 1 && cap == art_bucket_cap_for(n - 1))
            continue; /* one pass per size class */
        struct art_bucket *b = art_bucket_new(cap, 8);
        REQUIRE(b != NULL);
        for (unsigned trial = 0; trial < 400; trial++) {
            uint64_t pool[8];
            for (unsigned i = 0; i < 8; i++)
                pool[i] = test_rand(&rng) >> (i * 8);
            tear(b, &rng, pool, 8);
            bad += art_bucket_count(b) > cap;
            for (unsigned q = 0; q < 16; q++) {
                uint64_t kw = torn_word(&rng, pool, 8);
                unsigned at = cap + 1;
                bad += art_bucket_lower_bound(b, kw) > cap;
                bad += art_bucket_get(b, kw) > cap;
                bad += art_bucket_find(b, kw, &at) > cap || at > cap;
                unsigned from = (unsigned)(test_rand(&rng) % (cap + 2));
                bad +=
                    art_bucket_next(b, from, true) > cap || art_bucket_next(b, from, false) > cap;
                int prev = art_bucket_prev(b, (int)from - 1, q & 1);
                bad += prev < -1 || prev >= (int)cap;
                /* The guess itself, on any words. */
                uint64_t first = torn_word(&rng, pool, 8), last = torn_word(&rng, pool, 8);
                bad += larch__isearch_guess(first, last, cap, kw) >= cap;
            }
            /* A growth copy from the torn bucket (as grow_bucket makes before it
             * validates): it takes at most its capacity, and the new key has a slot. */
            unsigned count = art_bucket_count(b), to_cap = art_bucket_cap_for(count + 1), at = 0;
            struct art_bucket *to =
                art_bucket_copy_insert(to_cap, b, torn_word(&rng, pool, 8), &at);
            REQUIRE(to != NULL);
            bad += art_count(&to->h) > to_cap || at >= to_cap;
            art_node_free(&to->h);
        }
        art_node_free(&b->h);
    }
    CHECK_EQ(bad, 0);
}

/* The guess on the edges: equal first and last, keys at and past the ends, the
 * whole range of words. */
static void the_guess_is_a_slot_on_the_edges(void) {
    static const uint64_t words[] = {0, 1, 2, 1ull << 63, UINT64_MAX - 1, UINT64_MAX};
    long bad = 0;
    for (unsigned count = 1; count <= ART_BUCKET_MAX; count++)
        for (unsigned f = 0; f < 6; f++)
            for (unsigned l = 0; l < 6; l++)
                for (unsigned k = 0; k < 6; k++) {
                    unsigned g = larch__isearch_guess(words[f], words[l], count, words[k]);
                    bad += g >= count;
                    /* In order: at or below first, slot 0; at or above last, the last. */
                    if (words[k] <= words[f])
                        bad += g != 0;
                    else if (words[k] >= words[l])
                        bad += g != count - 1;
                }
    CHECK_EQ(bad, 0);
}

int main(void) {
    RUN(searches_stay_inside_a_torn_bucket);
    RUN(the_guess_is_a_slot_on_the_edges);
    return harness_finish();
}
