/* Allocation failure at every allocation point of the memtable: new, put, del and
 * iter_new, each walked by making the k-th allocation of the call fail (and every
 * later one) for k = 0, 1, 2, ... until the call gets through. A failed call
 * returns LARCH_ENOMEM (NULL from a constructor) and leaves every version as it
 * was; LeakSanitizer, in the sanitizer build, proves nothing leaks. (The trees'
 * walks are tests/index/test_alloc_fail.c.) Built once include/larch/memtable.h
 * exists. */
#include <larch/memtable.h>
#include <string.h>

#include "common/alloc.h"
#include "harness.h"

/* ---- what the memtable should hold ----------------------------------------------- */

struct version {
    unsigned id;
    uint64_t seq;
    int tombstone;
    size_t vlen;
};

enum { VERSIONS_MAX = 4096 };
static struct version expected[VERSIONS_MAX];
static size_t nexpected;

/* Key `id`: two bytes of id, then one in three 400 bytes long, the others short. */
static size_t key_of(unsigned id, unsigned char *out) {
    size_t len = id % 3 == 0 ? 400 : 2 + id % 5;
    memset(out, 'm', len);
    out[0] = (unsigned char)(id >> 8);
    out[1] = (unsigned char)id;
    return len;
}

/* The value of a version: vlen bytes derived from (id, seq). */
static void value_of(unsigned id, uint64_t seq, size_t vlen, unsigned char *out) {
    for (size_t i = 0; i < vlen; i++)
        out[i] = (unsigned char)(id * 31 + seq * 7 + i);
}

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

/* Key ascending, then seq descending: the order of LARCH_ITER_ALL_VERSIONS. */
static int version_order(const void *a, const void *b) {
    const struct version *x = a, *y = b;
    unsigned char kx[512], ky[512];
    size_t lx = key_of(x->id, kx), ly = key_of(y->id, ky);
    int c = key_cmp(kx, lx, ky, ly);
    return c ? c : (x->seq < y->seq) - (x->seq > y->seq);
}

static int has_version(unsigned id, uint64_t seq) {
    for (size_t i = 0; i < nexpected; i++)
        if (expected[i].id == id && expected[i].seq == seq)
            return 1;
    return 0;
}

/* Every version, in order, with its value; len agrees. */
static int holds_expected(larch_memtable *m) {
    if (larch_memtable_len(m) != nexpected)
        return 0;
    qsort(expected, nexpected, sizeof expected[0], version_order);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    if (!it)
        return 0;
    int ok = 1;
    size_t i = 0;
    for (larch_memtable_iter_seek_first(it); ok && larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), i++) {
        if (i >= nexpected) {
            ok = 0;
            break;
        }
        const struct version *v = &expected[i];
        unsigned char key[512], val[256];
        size_t klen = key_of(v->id, key), got_klen = 0, got_vlen = 0;
        const void *got_key = larch_memtable_iter_key(it, &got_klen);
        const void *got_val = larch_memtable_iter_value(it, &got_vlen);
        value_of(v->id, v->seq, v->vlen, val);
        ok = got_key && key_cmp(got_key, got_klen, key, klen) == 0 &&
             larch_memtable_iter_seq(it) == v->seq &&
             !larch_memtable_iter_is_tombstone(it) == !v->tombstone &&
             (v->tombstone
                  ? got_val == NULL
                  : got_vlen == v->vlen && (v->vlen == 0 || memcmp(got_val, val, v->vlen) == 0));
    }
    ok = ok && i == nexpected && larch_memtable_iter_status(it) == LARCH_OK;
    larch_memtable_iter_free(it);
    return ok;
}

/* ---- the walks ------------------------------------------------------------------- */

static long calls, failures;

/* Every failure point of one put (or del) of (id, seq). Returns 0 after a failure. */
static int walk_write(larch_memtable *m, unsigned id, uint64_t seq, size_t vlen, int del) {
    unsigned char key[512], val[256];
    size_t klen = key_of(id, key);
    value_of(id, seq, vlen, val);
    int exists = has_version(id, seq);
    calls++;
    for (long k = 0; k < 1000; k++) {
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        int rc = del ? larch_memtable_del(m, key, klen, seq)
                     : larch_memtable_put(m, key, klen, seq, val, vlen);
        larch__alloc_fail_at(-1, 0);
        long made = (long)(larch__alloc_count() - start);
        if (rc == LARCH_ENOMEM) {
            failures++;
            CHECK(made > k);
            if (!holds_expected(m)) {
                fprintf(stderr,
                        "    %s of key %u seq %llu: LARCH_ENOMEM at allocation %ld "
                        "changed the memtable\n",
                        del ? "del" : "put", id, (unsigned long long)seq, k);
                CHECK(!"a failed write changes nothing");
                return 0;
            }
            continue;
        }
        CHECK_EQ(rc, exists ? LARCH_EXISTS : LARCH_OK);
        if (rc == LARCH_OK && nexpected < VERSIONS_MAX)
            expected[nexpected++] = (struct version){id, seq, del, del ? 0 : vlen};
        if (!holds_expected(m)) {
            CHECK(!"the memtable holds what the write left");
            return 0;
        }
        /* A write that got past a failure has no undo (versions are forever): the
         * walk ends at the first call that gets through. */
        return rc == (exists ? LARCH_EXISTS : LARCH_OK);
    }
    CHECK(!"a write that keeps allocating");
    return 0;
}

static void a_failed_memtable_new_returns_null(void) {
    long nulls = 0;
    for (long k = 0; k < 1000; k++) {
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        larch_memtable *m = larch_memtable_new();
        larch__alloc_fail_at(-1, 0);
        long made = (long)(larch__alloc_count() - start);
        if (!m) {
            CHECK(made > k);
            nulls++;
            continue;
        }
        CHECK_EQ(larch_memtable_len(m), 0);
        CHECK_EQ(larch_memtable_put(m, "k", 1, 1, "v", 1), LARCH_OK);
        larch_memtable_free(m);
        if (made <= k)
            break;
    }
    fprintf(stderr, "    %ld failure points in larch_memtable_new\n", nulls);
}

static void a_failed_put_or_del_changes_nothing_at_every_allocation_point(void) {
    larch_memtable *m = larch_memtable_new();
    REQUIRE(m != NULL);
    nexpected = 0;
    calls = failures = 0;
    uint64_t rng = 7;
    int n = under_sanitizer() ? 400 : 1200;
    for (int i = 0; i < n; i++) {
        unsigned id = (unsigned)(test_rand(&rng) % 150);
        uint64_t seq = test_rand(&rng) % 12; /* repeats: some writes find (key, seq) */
        size_t vlen = test_rand(&rng) % 4 == 0 ? 0 : test_rand(&rng) % 200;
        if (!walk_write(m, id, seq, vlen, test_rand(&rng) % 4 == 0))
            break;
    }
    fprintf(stderr, "    %ld writes walked, %ld failed with LARCH_ENOMEM, %zu versions\n", calls,
            failures, nexpected);
    CHECK(failures > 0); /* a memtable that grows needs memory */
    larch_memtable_free(m);
}

static void a_failed_iter_new_returns_null(void) {
    larch_memtable *m = larch_memtable_new();
    REQUIRE(m != NULL);
    CHECK_EQ(larch_memtable_put(m, "a", 1, 1, "x", 1), LARCH_OK);
    long nulls = 0;
    for (long k = 0; k < 1000; k++) {
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, 0);
        larch__alloc_fail_at(-1, 0);
        long made = (long)(larch__alloc_count() - start);
        if (!it) {
            CHECK(made > k);
            nulls++;
            continue;
        }
        larch_memtable_iter_seek_first(it);
        CHECK(larch_memtable_iter_valid(it));
        larch_memtable_iter_free(it);
        if (made <= k)
            break;
    }
    fprintf(stderr, "    %ld failure points in larch_memtable_iter_new\n", nulls);
    larch_memtable_free(m);
}

int main(void) {
    RUN(a_failed_memtable_new_returns_null);
    RUN(a_failed_put_or_del_changes_nothing_at_every_allocation_point);
    RUN(a_failed_iter_new_returns_null);
    larch_epoch_barrier();
    return harness_finish();
}
