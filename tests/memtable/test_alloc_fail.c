/* Allocation failure at every allocation point. For each write the walk makes the
 * k-th allocation from the start of the call fail (and every later one), for
 * k = 0, 1, 2, ... until the call completes. Each LARCH_ENOMEM must leave the
 * memtable as it was: the same versions (every one, in flush order), the same
 * len, and no more than one arena block more in bytes (a block allocated for the
 * failed call stays for the next), also once the arena takes huge blocks. The writes go to new keys
 * and to keys already present (the two paths of put), with keys long enough that the index splits
 * often and values large enough, now and then, to take arena blocks of their own.
 * Creating a memtable and an iterator, and seeking, fail cleanly too;
 * LeakSanitizer, in the sanitizer build, proves nothing leaks. */
#include "common/alloc.h"
#include "memtable_test.h"

static uint64_t rng = 2024;

static size_t random_key(unsigned char *key) {
    size_t len = 1 + test_rand(&rng) % 300;
    for (size_t i = 0; i < len; i++)
        key[i] = (unsigned char)(i < 3 ? 'a' + test_rand(&rng) % 3 : test_rand(&rng));
    return len;
}

/* Every version in flush order, and len, as the reference has them. */
static bool unchanged(larch_memtable *m, struct ref *r) {
    return larch_memtable_len(m) == r->n &&
           iteration_matches(m, r, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
}

struct tally {
    long calls, failures, most_points;
};

/* Walks every allocation point of one put (val != NULL) or del. Returns false
 * after a failed CHECK. */
static bool walk(larch_memtable *m, struct ref *r, const unsigned char *key, size_t klen,
                 uint64_t seq, const unsigned char *val, size_t vlen, struct tally *t,
                 bool full_check) {
    t->calls++;
    for (long k = 0;; k++) {
        if (k > 1000) {
            CHECK(!"a write that keeps allocating");
            return false;
        }
        size_t bytes = larch_memtable_bytes(m);
        size_t block_max = ARENA_BLOCK_MAX > ARENA_HUGE_BLOCK ? ARENA_BLOCK_MAX : ARENA_HUGE_BLOCK;
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        int rc = val ? larch_memtable_put(m, key, klen, seq, val, vlen)
                     : larch_memtable_del(m, key, klen, seq);
        larch__alloc_fail_at(-1, 0);
        long allocations = (long)(larch__alloc_count() - start);
        if (rc == LARCH_ENOMEM) {
            t->failures++;
            if (k + 1 > t->most_points)
                t->most_points = k + 1;
            bool same = (!full_check && larch_memtable_len(m) == r->n) || unchanged(m, r);
            if (allocations <= k || !same || larch_memtable_bytes(m) > bytes + block_max + 64) {
                fprintf(stderr, "    LARCH_ENOMEM at allocation %ld of %ld; %s; bytes %zu -> %zu\n",
                        k, allocations, same ? "unchanged" : "CHANGED", bytes,
                        larch_memtable_bytes(m));
                CHECK(!"LARCH_ENOMEM changed nothing");
                return false;
            }
            continue;
        }
        int want = ref_add(r, key, klen, seq, val, vlen);
        if (rc != want) {
            fprintf(stderr, "    returned %d, expected %d\n", rc, want);
            CHECK(rc == want);
            return false;
        }
        return !full_check || unchanged(m, r);
    }
}

static void test_every_write_failure_point(void) {
    larch_memtable *m = mt_new();
    struct ref r = {0};
    REQUIRE(m);
    struct tally t = {0};
    static unsigned char keys[64][LARCH_KEY_MAX], val[3 * ARENA_LARGE];
    size_t klens[64];
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (unsigned char)(i * 31);
    bool ok = true;
    for (int i = 0; i < 4000 && ok; i++) {
        unsigned char key[LARCH_KEY_MAX];
        size_t klen;
        if (i >= 64 && test_rand(&rng) % 3 == 0) { /* a key present already */
            size_t j = test_rand(&rng) % 64;
            klen = klens[j];
            memcpy(key, keys[j], klen);
        } else {
            klen = random_key(key);
            if (i < 64) {
                klens[i] = klen;
                memcpy(keys[i], key, klen);
            }
        }
        size_t vlen =
            test_rand(&rng) % 20 == 0 ? sizeof val - test_rand(&rng) % 100 : test_rand(&rng) % 200;
        uint64_t seq = test_rand(&rng) % 100000;
        bool tomb = test_rand(&rng) % 5 == 0;
        ok = walk(m, &r, key, klen, seq, tomb ? NULL : val, tomb ? 0 : vlen, &t, i % 50 == 0);
    }
    CHECK(unchanged(m, &r));
    fprintf(stderr, "    %ld writes, %ld failed with LARCH_ENOMEM, at most %ld failure points\n",
            t.calls, t.failures, t.most_points);
    /* Arena blocks and index nodes both ran out, now and then in the same write. */
    CHECK(t.failures > 100);
    CHECK(t.most_points >= 2);
    ref_free(&r);
    larch_memtable_free(m);
}

static void test_new_and_iterators_fail_cleanly(void) {
    long points = 0;
    larch_memtable *m = NULL;
    for (long k = 0; !m; k++, points++) {
        larch__alloc_fail_at(k, 1);
        m = mt_new();
        larch__alloc_fail_at(-1, 0);
        REQUIRE(k < 100);
    }
    CHECK(points > 3); /* handle, shards, stripes, index */
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, "v", 1), LARCH_OK);
    larch_memtable_iter *it = NULL;
    for (long k = 0; !it; k++) {
        larch__alloc_fail_at(k, 1);
        it = larch_memtable_iter_new(m, UINT64_MAX, 0);
        larch__alloc_fail_at(-1, 0);
        REQUIRE(k < 100);
    }
    /* A move either works or ends invalid with LARCH_ENOMEM. */
    for (long k = 0; k < 4; k++) {
        larch__alloc_fail_at(k, 1);
        larch_memtable_iter_seek(it, "k", 1);
        larch__alloc_fail_at(-1, 0);
        CHECK(larch_memtable_iter_valid(it) ? larch_memtable_iter_status(it) == LARCH_OK
                                            : larch_memtable_iter_status(it) == LARCH_ENOMEM);
    }
    larch_memtable_iter_seek_first(it);
    CHECK(larch_memtable_iter_valid(it));
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

/* The same with every shard past its first 128 KiB on huge blocks (arena.h). */
static void test_every_write_failure_point_huge_blocks(void) {
    size_t saved = larch__mt_arena_huge_after;
    larch__mt_arena_huge_after = 128 << 10;
    test_every_write_failure_point();
    larch__mt_arena_huge_after = saved;
}

int main(void) {
    FOR_EACH_MEMTABLE_INDEX {
        RUN(test_every_write_failure_point);
        RUN(test_every_write_failure_point_huge_blocks);
        RUN(test_new_and_iterators_fail_cleanly);
    }
    return harness_finish();
}
