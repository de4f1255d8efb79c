/* The point calls of the ordered-index contract, one behaviour per test: what put,
 * insert, get, del and cas return and store through their out-pointers, and that
 * every key shape is an ordinary key (the empty key, keys that are prefixes of one
 * another, bytes 0x00 and 0xFF, LARCH_KEY_MAX-long keys). Runs on every index. */
#include <string.h>

#include "harness.h"
#include "index_test.h"

/* A string literal as a key: its bytes without the terminating NUL (it may hold \0). */
#define K(s) (s), (sizeof(s) - 1)

static void a_new_index_is_empty(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    CHECK_EQ(IX->len(t), 0);
    CHECK_EQ(IX->height(t), 1);
    CHECK_EQ(IX->check(t, NULL), LARCH_OK);
    CHECK_EQ(IX->check(t, stderr), LARCH_OK);
    CHECK_EQ(IX->get(t, NULL, 0, NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->get(t, K("a"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->del(t, K("a"), NULL), LARCH_NOTFOUND);
    struct dump d = {0};
    CHECK(index_matches(IX, t, &d, "new index"));
    IX->free_(t);
}

static void free_of_null_is_a_no_op(void) {
    IX->free_(NULL);
    IX->iter_free(NULL);
}

static void put_inserts_an_absent_key_then_replaces_and_hands_back_the_old_value(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    uint64_t old = 77, v = 0;
    CHECK_EQ(IX->put(t, K("k"), 1, &old), LARCH_OK);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 1);
    CHECK_EQ(IX->put(t, K("k"), 2, &old), LARCH_EXISTS);
    CHECK_EQ(old, 1);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 2);
    CHECK_EQ(IX->put(t, K("k"), 3, NULL), LARCH_EXISTS);
    CHECK_EQ(IX->put(t, K("l"), 4, NULL), LARCH_OK);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 3);
    CHECK_EQ(IX->len(t), 2);
    IX->free_(t);
}

static void insert_adds_only_absent_keys_and_reports_the_present_value(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    uint64_t cur = 0, v = 0;
    CHECK_EQ(IX->insert(t, K("k"), 10, &cur), LARCH_OK);
    CHECK_EQ(IX->insert(t, K("k"), 20, &cur), LARCH_EXISTS);
    CHECK_EQ(cur, 10);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 10);
    CHECK_EQ(IX->insert(t, K("k"), 30, NULL), LARCH_EXISTS);
    CHECK_EQ(IX->insert(t, K("j"), 40, NULL), LARCH_OK);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 10);
    CHECK_EQ(IX->get(t, K("j"), &v), LARCH_OK);
    CHECK_EQ(v, 40);
    CHECK_EQ(IX->len(t), 2);
    IX->free_(t);
}

static void get_finds_present_keys_and_accepts_a_null_out_pointer(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    CHECK_EQ(IX->put(t, K("present"), 5, NULL), LARCH_OK);
    uint64_t v = 0;
    CHECK_EQ(IX->get(t, K("present"), &v), LARCH_OK);
    CHECK_EQ(v, 5);
    CHECK_EQ(IX->get(t, K("present"), NULL), LARCH_OK);
    CHECK_EQ(IX->get(t, K("absent"), &v), LARCH_NOTFOUND);
    CHECK_EQ(IX->get(t, K("absent"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->get(t, K("presen"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->get(t, K("presentt"), NULL), LARCH_NOTFOUND);
    IX->free_(t);
}

static void del_removes_a_key_and_hands_back_its_value(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    CHECK_EQ(IX->put(t, K("a"), 1, NULL), LARCH_OK);
    CHECK_EQ(IX->put(t, K("b"), 2, NULL), LARCH_OK);
    uint64_t old = 0;
    CHECK_EQ(IX->del(t, K("a"), &old), LARCH_OK);
    CHECK_EQ(old, 1);
    CHECK_EQ(IX->get(t, K("a"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->del(t, K("a"), &old), LARCH_NOTFOUND);
    CHECK_EQ(IX->del(t, K("b"), NULL), LARCH_OK);
    CHECK_EQ(IX->del(t, K("b"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->len(t), 0);
    /* A deleted key can come back. */
    CHECK_EQ(IX->insert(t, K("a"), 3, NULL), LARCH_OK);
    CHECK_EQ(IX->get(t, K("a"), &old), LARCH_OK);
    CHECK_EQ(old, 3);
    IX->free_(t);
}

static void cas_swaps_only_the_expected_value(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    uint64_t cur = 0, v = 0;
    CHECK_EQ(IX->cas(t, K("k"), 0, 1, &cur), LARCH_NOTFOUND);
    CHECK_EQ(IX->get(t, K("k"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->len(t), 0);
    CHECK_EQ(IX->put(t, K("k"), 10, NULL), LARCH_OK);
    CHECK_EQ(IX->cas(t, K("k"), 10, 11, &cur), LARCH_OK);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 11);
    CHECK_EQ(IX->cas(t, K("k"), 10, 12, &cur), LARCH_EXISTS);
    CHECK_EQ(cur, 11);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 11);
    CHECK_EQ(IX->cas(t, K("k"), 99, 12, NULL), LARCH_EXISTS);
    CHECK_EQ(IX->cas(t, K("k"), 11, 11, NULL), LARCH_OK);
    CHECK_EQ(IX->cas(t, K("k"), 11, 0, NULL), LARCH_OK);
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 0);
    CHECK_EQ(IX->cas(t, K("j"), 11, 0, NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->len(t), 1);
    IX->free_(t);
}

static void values_are_arbitrary_words(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    const uint64_t vals[] = {0, 1, UINT64_MAX, 1ULL << 63, 0xDEADBEEFCAFEF00DULL};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        unsigned char key[8];
        CHECK_EQ(IX->put(t, key, key_u64(key, i), vals[i], NULL), LARCH_OK);
    }
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        unsigned char key[8];
        uint64_t v = ~vals[i], old = ~vals[i];
        CHECK_EQ(IX->get(t, key, key_u64(key, i), &v), LARCH_OK);
        CHECK(v == vals[i]);
        CHECK_EQ(IX->del(t, key, 8, &old), LARCH_OK);
        CHECK(old == vals[i]);
    }
    IX->free_(t);
}

static void the_empty_key_is_a_key_and_comes_first(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    const char empty[1] = {0};
    CHECK_EQ(IX->put(t, K("\0"), 2, NULL), LARCH_OK);
    CHECK_EQ(IX->put(t, NULL, 0, 1, NULL), LARCH_OK);
    /* A non-NULL pointer with length 0 is the same key. */
    uint64_t v = 0;
    CHECK_EQ(IX->get(t, empty, 0, &v), LARCH_OK);
    CHECK_EQ(v, 1);
    CHECK_EQ(IX->put(t, empty, 0, 3, &v), LARCH_EXISTS);
    CHECK_EQ(v, 1);
    CHECK_EQ(IX->len(t), 2);

    struct dump expected = {0};
    dump_add(&expected, "", 0, 3);
    dump_add(&expected, "\0", 1, 2);
    CHECK(index_matches(IX, t, &expected, "empty key first"));

    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek(it, NULL, 0);
    size_t len = 99;
    CHECK(IX->iter_valid(it));
    CHECK(IX->iter_key(it, &len) != NULL);
    CHECK_EQ(len, 0);
    CHECK_EQ(IX->iter_value(it), 3);
    IX->iter_seek_for_prev(it, NULL, 0);
    CHECK(IX->iter_valid(it));
    CHECK_EQ(IX->iter_value(it), 3);
    IX->iter_prev(it);
    CHECK(!IX->iter_valid(it));

    CHECK_EQ(IX->del(t, NULL, 0, &v), LARCH_OK);
    CHECK_EQ(v, 3);
    CHECK_EQ(IX->get(t, NULL, 0, NULL), LARCH_NOTFOUND);
    IX->iter_seek_for_prev(it, NULL, 0);
    CHECK(!IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    dump_free(&expected);
    IX->free_(t);
}

/* The expected order written out by hand, so that no comparison function of ours
 * is trusted: memcmp order, a prefix before the keys it begins. */
static const struct {
    const char *bytes;
    size_t len;
} ordered_keys[] = {
    {K("")},           {K("\0")},     {K("\0\0")},     {K("\0\0\0")},   {K("\0\x01")},
    {K("\x01")},       {K("a")},      {K("a\0")},      {K("ab")},       {K("ab\0")},
    {K("ab\0\0")},     {K("ab\x01")}, {K("abc")},      {K("abcd")},     {K("abcd\xff")},
    {K("abd")},        {K("ab\x7f")}, {K("ab\x80")},   {K("ab\xff")},   {K("ab\xff\0")},
    {K("ab\xff\xff")}, {K("b")},      {K("\x7f")},     {K("\x80")},     {K("\xfe\xff")},
    {K("\xff")},       {K("\xff\0")}, {K("\xff\xfe")}, {K("\xff\xff")}, {K("\xff\xff\xff")},
};
#define NORDERED (sizeof ordered_keys / sizeof ordered_keys[0])

static void keys_that_are_prefixes_of_each_other_are_distinct_and_in_memcmp_order(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    /* Insert in a scrambled order: stride 7 is coprime with the count. */
    _Static_assert(NORDERED % 7 != 0, "stride must visit every key");
    for (size_t j = 0; j < NORDERED; j++) {
        size_t i = j * 7 % NORDERED;
        CHECK_EQ(IX->insert(t, ordered_keys[i].bytes, ordered_keys[i].len, 1000 + i, NULL),
                 LARCH_OK);
    }
    struct dump expected = {0};
    for (size_t i = 0; i < NORDERED; i++) {
        uint64_t v = 0;
        CHECK_EQ(IX->get(t, ordered_keys[i].bytes, ordered_keys[i].len, &v), LARCH_OK);
        CHECK_EQ(v, 1000 + i);
        dump_add(&expected, ordered_keys[i].bytes, ordered_keys[i].len, 1000 + i);
    }
    CHECK(index_matches(IX, t, &expected, "prefix family"));

    /* Deleting a key leaves its prefixes and extensions alone. */
    for (size_t i = 1; i < NORDERED; i += 2)
        CHECK_EQ(IX->del(t, ordered_keys[i].bytes, ordered_keys[i].len, NULL), LARCH_OK);
    dump_clear(&expected);
    for (size_t i = 0; i < NORDERED; i += 2)
        dump_add(&expected, ordered_keys[i].bytes, ordered_keys[i].len, 1000 + i);
    CHECK(index_matches(IX, t, &expected, "prefix family, every other key deleted"));
    dump_free(&expected);
    IX->free_(t);
}

static void runs_of_0x00_and_0xff_bytes_of_every_length_are_distinct_keys(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    unsigned char zeros[64], ones[64];
    memset(zeros, 0x00, sizeof zeros);
    memset(ones, 0xFF, sizeof ones);
    /* Longest first, so that each insert is a prefix of a key already there. */
    for (size_t len = sizeof zeros; len >= 1; len--) {
        CHECK_EQ(IX->put(t, zeros, len, len, NULL), LARCH_OK);
        CHECK_EQ(IX->put(t, ones, len, 1000 + len, NULL), LARCH_OK);
    }
    struct dump expected = {0};
    for (size_t len = 1; len <= sizeof zeros; len++)
        dump_add(&expected, zeros, len, len);
    for (size_t len = 1; len <= sizeof ones; len++)
        dump_add(&expected, ones, len, 1000 + len);
    CHECK(index_matches(IX, t, &expected, "0x00 and 0xFF runs"));
    for (size_t len = 1; len <= sizeof zeros; len++) {
        uint64_t v = 0;
        CHECK_EQ(IX->get(t, zeros, len, &v), LARCH_OK);
        CHECK_EQ(v, len);
        CHECK_EQ(IX->get(t, ones, len, &v), LARCH_OK);
        CHECK_EQ(v, 1000 + len);
    }
    CHECK_EQ(IX->get(t, zeros, 0, NULL), LARCH_NOTFOUND);
    dump_free(&expected);
    IX->free_(t);
}

static void keys_of_LARCH_KEY_MAX_bytes_are_ordinary_keys(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    static unsigned char key[LARCH_KEY_MAX];
    struct dump expected = {0};
    /* Keys that differ only in their last byte, only in their first byte, and a
     * family of prefixes of the longest key. */
    memset(key, 'x', sizeof key);
    for (int b = 0; b < 256; b += 51) {
        key[LARCH_KEY_MAX - 1] = (unsigned char)b;
        CHECK_EQ(IX->put(t, key, LARCH_KEY_MAX, (uint64_t)b, NULL), LARCH_OK);
        dump_add(&expected, key, LARCH_KEY_MAX, (uint64_t)b);
    }
    key[LARCH_KEY_MAX - 1] = 'x';
    for (size_t len = LARCH_KEY_MAX - 1; len >= LARCH_KEY_MAX - 4; len--) {
        CHECK_EQ(IX->put(t, key, len, len, NULL), LARCH_OK);
        dump_add(&expected, key, len, len);
    }
    key[0] = 'w';
    CHECK_EQ(IX->put(t, key, LARCH_KEY_MAX, 1, NULL), LARCH_OK);
    dump_add(&expected, key, LARCH_KEY_MAX, 1);
    key[0] = 'y';
    CHECK_EQ(IX->put(t, key, LARCH_KEY_MAX, 2, NULL), LARCH_OK);
    dump_add(&expected, key, LARCH_KEY_MAX, 2);
    dump_sort_unique(&expected);
    CHECK(index_matches(IX, t, &expected, "LARCH_KEY_MAX keys"));

    for (size_t i = 0; i < expected.n; i++) {
        uint64_t v = ~0ULL;
        CHECK_EQ(IX->get(t, expected.e[i].key, expected.e[i].len, &v), LARCH_OK);
        CHECK(v == expected.e[i].val);
    }
    /* An iterator hands back all LARCH_KEY_MAX bytes. */
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek_last(it);
    size_t len = 0;
    const unsigned char *k = IX->iter_key(it, &len);
    CHECK_EQ(len, LARCH_KEY_MAX);
    CHECK(k && memcmp(k, key, LARCH_KEY_MAX) == 0);
    IX->iter_free(it);

    for (size_t i = 0; i < expected.n; i++)
        CHECK_EQ(IX->del(t, expected.e[i].key, expected.e[i].len, NULL), LARCH_OK);
    CHECK_EQ(IX->len(t), 0);
    CHECK_EQ(IX->check(t, stderr), LARCH_OK);
    dump_free(&expected);
    IX->free_(t);
}

/* Thousands of keys behind a shared prefix longer than any node stores inline,
 * with tails of varied length: prefix truncation and path compression must keep
 * the whole key. */
static void keys_with_long_shared_prefixes_keep_every_byte(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    static unsigned char key[LARCH_KEY_MAX];
    struct dump expected = {0};
    uint64_t rng = 12345;
    const size_t prefixes[] = {0, 9, 17, 100, 500, 1000};
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        for (int i = 0; i < 400; i++) {
            size_t plen = prefixes[p];
            memset(key, 'p' + (int)p, plen);
            size_t tail = test_rand(&rng) % 12;
            if (plen + tail > LARCH_KEY_MAX)
                tail = LARCH_KEY_MAX - plen;
            for (size_t j = 0; j < tail; j++)
                key[plen + j] = (unsigned char)(test_rand(&rng) % 4 * 85);
            uint64_t v = test_rand(&rng);
            IX->put(t, key, plen + tail, v, NULL);
            dump_add(&expected, key, plen + tail, v);
        }
    }
    dump_sort_unique(&expected);
    CHECK(index_matches(IX, t, &expected, "long shared prefixes"));
    for (size_t i = 0; i < expected.n; i++) {
        uint64_t v = 0;
        CHECK_EQ(IX->get(t, expected.e[i].key, expected.e[i].len, &v), LARCH_OK);
        CHECK(v == expected.e[i].val);
        /* The same key one byte longer or shorter is another key. */
        memcpy(key, expected.e[i].key, expected.e[i].len);
        key[expected.e[i].len] = 0x33; /* never a tail byte: those are 0, 85, 170, 255 */
        if (expected.e[i].len < LARCH_KEY_MAX)
            CHECK_EQ(IX->get(t, key, expected.e[i].len + 1, NULL), LARCH_NOTFOUND);
    }
    for (size_t i = 0; i < expected.n; i += 2)
        CHECK_EQ(IX->del(t, expected.e[i].key, expected.e[i].len, NULL), LARCH_OK);
    struct dump rest = {0};
    for (size_t i = 1; i < expected.n; i += 2)
        dump_add(&rest, expected.e[i].key, expected.e[i].len, expected.e[i].val);
    CHECK(index_matches(IX, t, &rest, "long shared prefixes, half deleted"));
    dump_free(&rest);
    dump_free(&expected);
    IX->free_(t);
}

static void len_counts_keys_exactly(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    unsigned char key[8];
    for (uint64_t i = 0; i < 1000; i++)
        IX->put(t, key, key_u64(key, i), i, NULL);
    CHECK_EQ(IX->len(t), 1000);
    for (uint64_t i = 0; i < 1000; i++)
        IX->put(t, key, key_u64(key, i), i + 1, NULL); /* replacing adds nothing */
    for (uint64_t i = 0; i < 1000; i++)
        IX->insert(t, key, key_u64(key, i), i, NULL);
    CHECK_EQ(IX->len(t), 1000);
    for (uint64_t i = 0; i < 1000; i += 3)
        IX->del(t, key, key_u64(key, i), NULL);
    for (uint64_t i = 0; i < 1000; i += 3)
        IX->del(t, key, key_u64(key, i), NULL); /* deleting twice removes nothing more */
    CHECK_EQ(IX->len(t), 1000 - 334);
    for (uint64_t i = 0; i < 1000; i++)
        IX->cas(t, key, key_u64(key, i), i + 1, 0, NULL);
    CHECK_EQ(IX->len(t), 1000 - 334);
    IX->free_(t);
}

static void height_is_one_when_small_grows_with_keys_and_returns_to_one(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    unsigned char key[8];
    CHECK_EQ(IX->height(t), 1);
    IX->put(t, key, key_u64(key, 1), 1, NULL);
    CHECK_EQ(IX->height(t), 1);
    IX->del(t, key, 8, NULL);
    const uint64_t n = 20000;
    for (uint64_t i = 0; i < n; i++)
        IX->put(t, key, key_u64(key, i * 0x9E3779B97F4A7C15ULL), i, NULL);
    int h = IX->height(t);
    if (IX->has_levels)
        CHECK(h > 1);
    else
        CHECK_EQ(h, 1);
    CHECK_EQ(IX->check(t, stderr), LARCH_OK);
    for (uint64_t i = 0; i < n; i++)
        CHECK_EQ(IX->del(t, key, key_u64(key, i * 0x9E3779B97F4A7C15ULL), NULL), LARCH_OK);
    CHECK_EQ(IX->height(t), 1);
    CHECK_EQ(IX->len(t), 0);
    CHECK_EQ(IX->check(t, stderr), LARCH_OK);
    IX->free_(t);
}

static void two_indexes_are_independent(void) {
    void *a = IX->new_(), *b = IX->new_();
    REQUIRE(a != NULL && b != NULL);
    CHECK_EQ(IX->put(a, K("k"), 1, NULL), LARCH_OK);
    CHECK_EQ(IX->put(b, K("k"), 2, NULL), LARCH_OK);
    uint64_t v = 0;
    CHECK_EQ(IX->get(a, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 1);
    CHECK_EQ(IX->del(b, K("k"), NULL), LARCH_OK);
    CHECK_EQ(IX->get(a, K("k"), NULL), LARCH_OK);
    CHECK_EQ(IX->len(a), 1);
    CHECK_EQ(IX->len(b), 0);
    IX->free_(a);
    IX->free_(b);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(a_new_index_is_empty);
        RUN(free_of_null_is_a_no_op);
        RUN(put_inserts_an_absent_key_then_replaces_and_hands_back_the_old_value);
        RUN(insert_adds_only_absent_keys_and_reports_the_present_value);
        RUN(get_finds_present_keys_and_accepts_a_null_out_pointer);
        RUN(del_removes_a_key_and_hands_back_its_value);
        RUN(cas_swaps_only_the_expected_value);
        RUN(values_are_arbitrary_words);
        RUN(the_empty_key_is_a_key_and_comes_first);
        RUN(keys_that_are_prefixes_of_each_other_are_distinct_and_in_memcmp_order);
        RUN(runs_of_0x00_and_0xff_bytes_of_every_length_are_distinct_keys);
        RUN(keys_of_LARCH_KEY_MAX_bytes_are_ordinary_keys);
        RUN(keys_with_long_shared_prefixes_keep_every_byte);
        RUN(len_counts_keys_exactly);
        RUN(height_is_one_when_small_grows_with_keys_and_returns_to_one);
        RUN(two_indexes_are_independent);
    }
    return harness_finish();
}
