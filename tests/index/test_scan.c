/* scan over [lo, hi): exact bounds (present and absent, prefixes and extensions of
 * keys, empty and over-long), hi == NULL for no upper bound, an empty or inverted
 * range, stopping early, the count it returns, and what fn may do. Expectations
 * come from sorted arrays built here, never from another index. */
#include <string.h>

#include "epoch/epoch.h"
#include "harness.h"
#include "index_test.h"

#define K(s) (s), (sizeof(s) - 1)

/* Collects up to `limit` entries (0: no limit), then asks to stop. */
struct collector {
    struct dump got;
    long limit, calls;
    int stop_value, all_pinned;
};

static int collect(void *ctx, const void *key, size_t len, uint64_t val) {
    struct collector *c = ctx;
    c->calls++;
    if (!larch__epoch_pin_generation())
        c->all_pinned = 0;
    dump_add(&c->got, key, len, val);
    return c->limit && c->calls >= c->limit ? c->stop_value : 0;
}

/* Scans [lo, hi) of t and compares with the entries of `all` (sorted) in that range,
 * cut to `limit`. Returns 1 if equal. */
static int scan_is_exact(void *t, const struct dump *all, const void *lo, size_t lolen,
                         const void *hi, size_t hilen, long limit) {
    struct collector c = {.limit = limit, .stop_value = 1, .all_pinned = 1};
    long n = IX->scan(t, lo, lolen, hi, hilen, collect, &c);
    struct dump expected = {0};
    for (size_t i = 0; i < all->n; i++) {
        const struct entry *e = &all->e[i];
        if (key_cmp(e->key, e->len, lo, lolen) < 0)
            continue;
        if (hi && key_cmp(e->key, e->len, hi, hilen) >= 0)
            break;
        if (limit && (long)expected.n == limit)
            break;
        dump_add(&expected, e->key, e->len, e->val);
    }
    int ok = n == (long)expected.n && c.calls == n && c.all_pinned &&
             dump_equal(&c.got, &expected, "scan");
    if (!ok)
        fprintf(stderr, "    scan returned %ld after %ld calls, expected %zu%s\n", n, c.calls,
                expected.n, c.all_pinned ? "" : " (fn ran unpinned)");
    dump_free(&expected);
    dump_free(&c.got);
    return ok;
}

/* Even numbers 0, 2, ..., 198 as 8-byte big-endian keys, value = the number. */
static void *evens(struct dump *all) {
    void *t = IX->new_();
    if (!t)
        return NULL;
    unsigned char key[8];
    for (uint64_t i = 0; i < 200; i += 2)
        dump_add(all, key, key_u64(key, i), i);
    if (!index_fill(IX, t, all)) {
        IX->free_(t);
        return NULL;
    }
    return t;
}

static void scan_includes_lo_and_excludes_hi(void) {
    struct dump all = {0};
    void *t = evens(&all);
    REQUIRE(t != NULL);
    unsigned char lo[8], hi[8];
    key_u64(lo, 10), key_u64(hi, 20);
    CHECK(scan_is_exact(t, &all, lo, 8, hi, 8, 0));
    struct collector c = {0};
    CHECK_EQ(IX->scan(t, lo, 8, hi, 8, collect, &c), 5); /* 10 12 14 16 18 */
    CHECK(c.got.n == 5 && key_u64_read(c.got.e[0].key) == 10 && key_u64_read(c.got.e[4].key) == 18);
    dump_free(&c.got);
    dump_free(&all);
    IX->free_(t);
}

static void scan_from_an_absent_lo_starts_at_the_next_key(void) {
    struct dump all = {0};
    void *t = evens(&all);
    REQUIRE(t != NULL);
    unsigned char lo[8], hi[8];
    for (uint64_t l = 0; l < 205; l++) {
        key_u64(lo, l), key_u64(hi, l + 7);
        CHECK(scan_is_exact(t, &all, lo, 8, hi, 8, 0));
        CHECK(scan_is_exact(t, &all, lo, 8, NULL, 0, 3));
    }
    struct collector c = {0};
    key_u64(lo, 11);
    CHECK_EQ(IX->scan(t, lo, 8, NULL, 0, collect, &c), 94);
    CHECK(c.got.n > 0 && key_u64_read(c.got.e[0].key) == 12);
    dump_free(&c.got);
    dump_free(&all);
    IX->free_(t);
}

static void scan_with_a_null_hi_runs_to_the_last_key(void) {
    struct dump all = {0};
    void *t = evens(&all);
    REQUIRE(t != NULL);
    unsigned char lo[8];
    CHECK(scan_is_exact(t, &all, NULL, 0, NULL, 0, 0));
    CHECK(scan_is_exact(t, &all, lo, key_u64(lo, 150), NULL, 0, 0));
    CHECK(scan_is_exact(t, &all, lo, key_u64(lo, 198), NULL, 0, 0));
    CHECK(scan_is_exact(t, &all, lo, key_u64(lo, 199), NULL, 0, 0));
    dump_free(&all);
    IX->free_(t);
}

static void an_empty_or_inverted_range_visits_nothing(void) {
    struct dump all = {0};
    void *t = evens(&all);
    REQUIRE(t != NULL);
    unsigned char lo[8], hi[8];
    struct collector c = {0};
    CHECK_EQ(IX->scan(t, lo, key_u64(lo, 10), lo, 8, collect, &c), 0); /* lo == hi, present */
    CHECK_EQ(IX->scan(t, lo, key_u64(lo, 11), lo, 8, collect, &c), 0); /* lo == hi, absent */
    key_u64(lo, 50), key_u64(hi, 10);
    CHECK_EQ(IX->scan(t, lo, 8, hi, 8, collect, &c), 0);                   /* hi below lo */
    CHECK_EQ(IX->scan(t, lo, key_u64(lo, 1000), NULL, 0, collect, &c), 0); /* past the end */
    CHECK_EQ(IX->scan(t, NULL, 0, "", 0, collect, &c), 0); /* nothing is below the empty key */
    CHECK_EQ(c.calls, 0);
    void *empty = IX->new_();
    REQUIRE(empty != NULL);
    CHECK_EQ(IX->scan(empty, NULL, 0, NULL, 0, collect, &c), 0);
    CHECK_EQ(c.calls, 0);
    IX->free_(empty);
    dump_free(&all);
    IX->free_(t);
}

static void scan_stops_at_the_first_nonzero_answer_and_counts_that_call(void) {
    struct dump all = {0};
    void *t = evens(&all);
    REQUIRE(t != NULL);
    const int stops[] = {1, -1, 7, 0x100};
    for (long limit = 1; limit <= 100; limit += 11)
        for (size_t s = 0; s < 4; s++) {
            struct collector c = {.limit = limit, .stop_value = stops[s]};
            CHECK_EQ(IX->scan(t, NULL, 0, NULL, 0, collect, &c), limit);
            CHECK_EQ(c.calls, limit);
            dump_free(&c.got);
        }
    /* Stopping at the last key in range still counts it. */
    struct collector c = {.limit = 100, .stop_value = 1};
    CHECK_EQ(IX->scan(t, NULL, 0, NULL, 0, collect, &c), 100);
    dump_free(&c.got);
    dump_free(&all);
    IX->free_(t);
}

/* Bounds that are prefixes or extensions of stored keys, the empty bound, bounds of
 * 0x00 and 0xFF runs. */
static void bounds_that_are_prefixes_or_extensions_of_keys_are_exact(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    static const struct {
        const char *k;
        size_t len;
    } keys[] = {{K("")},    {K("\0")},     {K("a")}, {K("a\0")},  {K("ab")},      {K("ab\0")},
                {K("abc")}, {K("ab\xff")}, {K("b")}, {K("\xff")}, {K("\xff\xff")}};
    struct dump all = {0};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        dump_add(&all, keys[i].k, keys[i].len, i);
    dump_sort_unique(&all);
    REQUIRE(index_fill(IX, t, &all));
    static const struct {
        const char *k;
        size_t len;
    } bounds[] = {{K("")},
                  {K("\0")},
                  {K("\0\0")},
                  {K("a")},
                  {K("a\0")},
                  {K("a\0\0")},
                  {K("a\x01")},
                  {K("ab")},
                  {K("ab\0")},
                  {K("ab\0\0")},
                  {K("abb")},
                  {K("abc")},
                  {K("abc\0")},
                  {K("ab\xfe")},
                  {K("ab\xff")},
                  {K("ab\xff\0")},
                  {K("aa\xff\xff")},
                  {K("b")},
                  {K("b\0")},
                  {K("\xfe")},
                  {K("\xff")},
                  {K("\xff\0")},
                  {K("\xff\xff")},
                  {K("\xff\xff\0")},
                  {K("\xff\xff\xff\xff")}};
    const size_t nb = sizeof bounds / sizeof bounds[0];
    for (size_t i = 0; i < nb; i++) {
        CHECK(scan_is_exact(t, &all, bounds[i].k, bounds[i].len, NULL, 0, 0));
        for (size_t j = 0; j < nb; j++)
            CHECK(
                scan_is_exact(t, &all, bounds[i].k, bounds[i].len, bounds[j].k, bounds[j].len, 0));
    }
    /* Spelled out: [ab, ab\0) is just "ab"; [a\0, ab) holds "a\0"; [ab\0\0, abc]
     * skips "ab\0". */
    struct collector c = {0};
    CHECK_EQ(IX->scan(t, K("ab"), K("ab\0"), collect, &c), 1);
    CHECK(c.got.n == 1 && c.got.e[0].len == 2 && memcmp(c.got.e[0].key, "ab", 2) == 0);
    dump_clear(&c.got);
    CHECK_EQ(IX->scan(t, K("a\0"), K("ab"), collect, &c), 1);
    CHECK(c.got.n == 1 && c.got.e[0].len == 2 && memcmp(c.got.e[0].key, "a\0", 2) == 0);
    dump_clear(&c.got);
    CHECK_EQ(IX->scan(t, K("ab\0\0"), K("abc\0"), collect, &c), 1);
    CHECK(c.got.n == 1 && c.got.e[0].len == 3 && memcmp(c.got.e[0].key, "abc", 3) == 0);
    dump_free(&c.got);
    dump_free(&all);
    IX->free_(t);
}

/* Thousands of random variable-length keys spread over many nodes, and random
 * bounds drawn near them: a key itself, a key cut short, a key with a byte added
 * or bumped, random bytes, long bounds. */
static size_t near_bound(uint64_t *rng, const struct dump *all, unsigned char *out) {
    const struct entry *e = &all->e[test_rand(rng) % all->n];
    size_t len = e->len;
    memcpy(out, e->key, len);
    switch (test_rand(rng) % 6) {
    case 0:
        return len;
    case 1:
        return len ? test_rand(rng) % len : 0;
    case 2:
        out[len] = (unsigned char)test_rand(rng);
        return len + 1;
    case 3:
        if (len)
            out[len - 1] = (unsigned char)(out[len - 1] + 1);
        return len;
    case 4:
        len = test_rand(rng) % 6;
        for (size_t i = 0; i < len; i++)
            out[i] = (unsigned char)test_rand(rng);
        return len;
    default:
        memset(out + len, test_rand(rng) % 2 ? 0xFF : 0x00, LARCH_KEY_MAX);
        return len + LARCH_KEY_MAX;
    }
}

static void random_bounds_over_a_large_index_match_a_sorted_array(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    uint64_t rng = 0x5CA9;
    struct dump all = {0};
    unsigned char key[LARCH_KEY_MAX];
    int n = under_sanitizer() ? 3000 : 20000;
    for (int i = 0; i < n; i++) {
        size_t len = test_rand(&rng) % 4 == 0 ? test_rand(&rng) % 300 : test_rand(&rng) % 12;
        for (size_t j = 0; j < len; j++)
            key[j] = (unsigned char)("\0\1ab\x7f\x80\xfe\xff"[test_rand(&rng) % 8] +
                                     (j < 3 ? 0 : test_rand(&rng) % 3));
        dump_add(&all, key, len, test_rand(&rng));
    }
    dump_sort_unique(&all);
    REQUIRE(index_fill(IX, t, &all));
    static unsigned char lo[2 * LARCH_KEY_MAX + 8], hi[2 * LARCH_KEY_MAX + 8];
    int scans = under_sanitizer() ? 200 : 1000;
    for (int i = 0; i < scans; i++) {
        size_t lolen = near_bound(&rng, &all, lo), hilen = near_bound(&rng, &all, hi);
        long limit = test_rand(&rng) % 3 ? (long)(test_rand(&rng) % 50) : 0;
        int unbounded = test_rand(&rng) % 4 == 0;
        if (!scan_is_exact(t, &all, lo, lolen, unbounded ? NULL : hi, hilen, limit)) {
            CHECK(!"random scan matches");
            break;
        }
    }
    dump_free(&all);
    IX->free_(t);
}

/* fn holds no lock: it may read and write another index, even of the same kind. */
static int copy_into(void *ctx, const void *key, size_t len, uint64_t val) {
    void *other = ctx;
    uint64_t seen = 0;
    return IX->put(other, key, len, val * 2, NULL) != LARCH_OK ||
           IX->get(other, key, len, &seen) != LARCH_OK || seen != val * 2;
}

static void fn_may_write_another_index(void) {
    struct dump all = {0};
    void *t = evens(&all);
    REQUIRE(t != NULL);
    void *other = IX->new_();
    REQUIRE(other != NULL);
    CHECK_EQ(IX->scan(t, NULL, 0, NULL, 0, copy_into, other), 100);
    for (size_t i = 0; i < all.n; i++)
        all.e[i].val *= 2;
    CHECK(index_matches(IX, other, &all, "copied by scan"));
    IX->free_(other);
    dump_free(&all);
    IX->free_(t);
}

/* A scan sees what was there: nothing deleted, everything present, values current. */
static void scan_after_writes_sees_the_current_contents(void) {
    struct dump all = {0};
    void *t = evens(&all);
    REQUIRE(t != NULL);
    unsigned char key[8];
    for (uint64_t i = 0; i < 200; i += 4)
        IX->del(t, key, key_u64(key, i), NULL);
    for (uint64_t i = 1; i < 200; i += 10)
        IX->put(t, key, key_u64(key, i), i + 1000, NULL);
    for (uint64_t i = 2; i < 200; i += 8)
        IX->put(t, key, key_u64(key, i), i + 5000, NULL);
    dump_clear(&all);
    for (uint64_t i = 0; i < 200; i++) {
        key_u64(key, i);
        if (i % 2 == 0 && i % 4 != 0)
            dump_add(&all, key, 8, i % 8 == 2 ? i + 5000 : i);
        else if (i % 10 == 1)
            dump_add(&all, key, 8, i + 1000);
    }
    CHECK(scan_is_exact(t, &all, NULL, 0, NULL, 0, 0));
    unsigned char lo[8], hi[8];
    CHECK(scan_is_exact(t, &all, lo, key_u64(lo, 20), hi, key_u64(hi, 60), 0));
    dump_free(&all);
    IX->free_(t);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(scan_includes_lo_and_excludes_hi);
        RUN(scan_from_an_absent_lo_starts_at_the_next_key);
        RUN(scan_with_a_null_hi_runs_to_the_last_key);
        RUN(an_empty_or_inverted_range_visits_nothing);
        RUN(scan_stops_at_the_first_nonzero_answer_and_counts_that_call);
        RUN(bounds_that_are_prefixes_or_extensions_of_keys_are_exact);
        RUN(random_bounds_over_a_large_index_match_a_sorted_array);
        RUN(fn_may_write_another_index);
        RUN(scan_after_writes_sees_the_current_contents);
    }
    return harness_finish();
}
