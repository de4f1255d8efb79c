/* Bad input, call by call: a NULL handle or a NULL key with a length is LARCH_EINVAL,
 * a key longer than LARCH_KEY_MAX is LARCH_EKEYSIZE, and an error changes nothing.
 * What is not an error: the NULL key of length 0 (the empty key), NULL out-pointers,
 * and seek or scan bounds of any length. */
#include <string.h>

#include "harness.h"
#include "index_test.h"

#define K(s) (s), (sizeof(s) - 1)

static unsigned char long_key[LARCH_KEY_MAX + 1024];

/* An index of a few hundred keys, one of them the first LARCH_KEY_MAX bytes of
 * long_key, so that a call that truncated an over-long key would find it. */
static void *populated(struct dump *expected) {
    void *t = IX->new_();
    if (!t)
        return NULL;
    memset(long_key, 'L', sizeof long_key);
    dump_add(expected, long_key, LARCH_KEY_MAX, 4242);
    dump_add(expected, "", 0, 7);
    for (uint64_t i = 0; i < 300; i++) {
        unsigned char key[8];
        dump_add(expected, key, key_u64(key, i * 7919), i);
    }
    dump_sort_unique(expected);
    if (!index_fill(IX, t, expected)) {
        IX->free_(t);
        return NULL;
    }
    return t;
}

static int calls;

static int count_and_store(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)present;
    calls++;
    *val = 1;
    return LARCH_UPDATE_STORE;
}

static int count_and_continue(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx, (void)key, (void)len, (void)val;
    calls++;
    return 0;
}

static void every_call_rejects_a_null_handle(void) {
    uint64_t v = 0;
    calls = 0;
    CHECK_EQ(IX->put(NULL, K("k"), 1, &v), LARCH_EINVAL);
    CHECK_EQ(IX->insert(NULL, K("k"), 1, &v), LARCH_EINVAL);
    CHECK_EQ(IX->get(NULL, K("k"), &v), LARCH_EINVAL);
    CHECK_EQ(IX->del(NULL, K("k"), &v), LARCH_EINVAL);
    CHECK_EQ(IX->cas(NULL, K("k"), 0, 1, &v), LARCH_EINVAL);
    CHECK_EQ(IX->update(NULL, K("k"), count_and_store, NULL), LARCH_EINVAL);
    CHECK_EQ(IX->scan(NULL, NULL, 0, NULL, 0, count_and_continue, NULL), LARCH_EINVAL);
    CHECK_EQ(IX->check(NULL, NULL), LARCH_EINVAL);
    CHECK_EQ(IX->height(NULL), LARCH_EINVAL);
    CHECK_EQ(IX->len(NULL), 0);
    CHECK(IX->iter_new(NULL) == NULL);
    CHECK_EQ(calls, 0);
}

static void every_call_rejects_a_null_key_with_a_nonzero_length(void) {
    struct dump expected = {0};
    void *t = populated(&expected);
    REQUIRE(t != NULL);
    uint64_t v = 0;
    calls = 0;
    /* (Lengths within LARCH_KEY_MAX: which error a NULL over-long key gets is not
     * specified.) */
    const size_t lens[] = {1, 8, LARCH_KEY_MAX};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        CHECK_EQ(IX->put(t, NULL, len, 1, &v), LARCH_EINVAL);
        CHECK_EQ(IX->insert(t, NULL, len, 1, &v), LARCH_EINVAL);
        CHECK_EQ(IX->get(t, NULL, len, &v), LARCH_EINVAL);
        CHECK_EQ(IX->del(t, NULL, len, &v), LARCH_EINVAL);
        CHECK_EQ(IX->cas(t, NULL, len, 7, 1, &v), LARCH_EINVAL);
        CHECK_EQ(IX->update(t, NULL, len, count_and_store, NULL), LARCH_EINVAL);
        CHECK_EQ(IX->scan(t, NULL, len, NULL, 0, count_and_continue, NULL), LARCH_EINVAL);
    }
    CHECK_EQ(calls, 0);
    CHECK(index_matches(IX, t, &expected, "after NULL keys"));
    dump_free(&expected);
    IX->free_(t);
}

static void every_call_rejects_a_key_longer_than_LARCH_KEY_MAX(void) {
    struct dump expected = {0};
    void *t = populated(&expected);
    REQUIRE(t != NULL);
    const size_t lens[] = {LARCH_KEY_MAX + 1, LARCH_KEY_MAX + 8, sizeof long_key};
    calls = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint64_t v = 0;
        size_t len = lens[i];
        CHECK_EQ(IX->put(t, long_key, len, 1, &v), LARCH_EKEYSIZE);
        CHECK_EQ(IX->insert(t, long_key, len, 1, &v), LARCH_EKEYSIZE);
        CHECK_EQ(IX->get(t, long_key, len, &v), LARCH_EKEYSIZE);
        CHECK_EQ(IX->del(t, long_key, len, &v), LARCH_EKEYSIZE);
        CHECK_EQ(IX->cas(t, long_key, len, 4242, 1, &v), LARCH_EKEYSIZE);
        CHECK_EQ(IX->update(t, long_key, len, count_and_store, NULL), LARCH_EKEYSIZE);
    }
    CHECK_EQ(calls, 0);
    CHECK(index_matches(IX, t, &expected, "after over-long keys"));
    /* The key of exactly LARCH_KEY_MAX bytes is still there, untouched. */
    uint64_t v = 0;
    CHECK_EQ(IX->get(t, long_key, LARCH_KEY_MAX, &v), LARCH_OK);
    CHECK_EQ(v, 4242);
    dump_free(&expected);
    IX->free_(t);
}

static void update_and_scan_reject_a_null_callback(void) {
    struct dump expected = {0};
    void *t = populated(&expected);
    REQUIRE(t != NULL);
    CHECK_EQ(IX->update(t, K("k"), NULL, NULL), LARCH_EINVAL);
    CHECK_EQ(IX->update(t, NULL, 0, NULL, NULL), LARCH_EINVAL);
    CHECK_EQ(IX->scan(t, NULL, 0, NULL, 0, NULL, NULL), LARCH_EINVAL);
    CHECK(index_matches(IX, t, &expected, "after NULL callbacks"));
    dump_free(&expected);
    IX->free_(t);
}

/* NULL with length 0 is the empty key on every call, and out-pointers may be NULL. */
static void a_null_key_of_length_zero_is_the_empty_key_everywhere(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    calls = 0;
    CHECK_EQ(IX->insert(t, NULL, 0, 5, NULL), LARCH_OK);
    CHECK_EQ(IX->insert(t, NULL, 0, 6, NULL), LARCH_EXISTS);
    CHECK_EQ(IX->put(t, NULL, 0, 7, NULL), LARCH_EXISTS);
    CHECK_EQ(IX->get(t, NULL, 0, NULL), LARCH_OK);
    CHECK_EQ(IX->cas(t, NULL, 0, 7, 8, NULL), LARCH_OK);
    CHECK_EQ(IX->cas(t, NULL, 0, 7, 9, NULL), LARCH_EXISTS);
    CHECK_EQ(IX->update(t, NULL, 0, count_and_store, NULL), LARCH_OK);
    CHECK_EQ(calls, 1);
    CHECK_EQ(IX->scan(t, NULL, 0, NULL, 0, count_and_continue, NULL), 1);
    CHECK_EQ(calls, 2);
    uint64_t v = 0;
    CHECK_EQ(IX->get(t, "", 0, &v), LARCH_OK);
    CHECK_EQ(v, 1);
    CHECK_EQ(IX->del(t, NULL, 0, NULL), LARCH_OK);
    CHECK_EQ(IX->len(t), 0);
    IX->free_(t);
}

static void seek_and_scan_bounds_longer_than_LARCH_KEY_MAX_are_not_errors(void) {
    struct dump expected = {0};
    void *t = populated(&expected);
    REQUIRE(t != NULL);
    /* long_key is 'L' repeated; its first LARCH_KEY_MAX bytes are a key, which
     * comes before every longer bound made of the same byte. */
    long n = IX->scan(t, long_key, sizeof long_key, NULL, 0, count_and_continue, NULL);
    CHECK_EQ(n, 0); /* 'L' keys sort last: nothing after the longest one */
    struct dump got = {0};
    n = IX->scan(t, NULL, 0, long_key, sizeof long_key, scan_collect, &got);
    CHECK_EQ(n, (long)expected.n); /* every key is below the long bound */
    CHECK(dump_equal(&got, &expected, "scan below a long bound"));
    dump_clear(&got);
    n = IX->scan(t, long_key, LARCH_KEY_MAX, long_key, LARCH_KEY_MAX + 1, scan_collect, &got);
    CHECK_EQ(n, 1);
    CHECK(got.n == 1 && got.e[0].len == LARCH_KEY_MAX && got.e[0].val == 4242);

    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek(it, long_key, sizeof long_key);
    CHECK(!IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_seek_for_prev(it, long_key, sizeof long_key);
    CHECK(IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    size_t len = 0;
    const void *k = IX->iter_key(it, &len);
    CHECK_EQ(len, LARCH_KEY_MAX);
    CHECK(k && memcmp(k, long_key, LARCH_KEY_MAX) == 0);
    CHECK_EQ(IX->iter_value(it), 4242);
    IX->iter_seek(it, long_key, LARCH_KEY_MAX + 1);
    CHECK(!IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    CHECK(index_matches(IX, t, &expected, "after long bounds"));
    dump_free(&got);
    dump_free(&expected);
    IX->free_(t);
}

/* A seek has no return value: a NULL key with a length ends it invalid, and the
 * iterator's status says why. The next good seek works again. */
static void a_seek_to_a_null_key_with_a_length_ends_invalid_with_einval(void) {
    struct dump expected = {0};
    void *t = populated(&expected);
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek_first(it);
    CHECK(IX->iter_valid(it));
    IX->iter_seek(it, NULL, 3);
    CHECK(!IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_EINVAL);
    size_t len = 5;
    CHECK(IX->iter_key(it, &len) == NULL);
    CHECK_EQ(len, 0);
    IX->iter_seek_first(it);
    CHECK(IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_seek_for_prev(it, NULL, 3);
    CHECK(!IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_EINVAL);
    IX->iter_seek_last(it);
    CHECK(IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    CHECK(index_matches(IX, t, &expected, "after bad seeks"));
    dump_free(&expected);
    IX->free_(t);
}

/* An iterator is a handle like the index: a NULL one is refused, not followed. */
static void a_null_iterator_is_refused_by_every_iterator_call(void) {
    IX->iter_seek(NULL, K("k"));
    IX->iter_seek_for_prev(NULL, K("k"));
    IX->iter_seek_first(NULL);
    IX->iter_seek_last(NULL);
    IX->iter_next(NULL);
    IX->iter_prev(NULL);
    CHECK_EQ(IX->iter_valid(NULL), 0);
    size_t len = 5;
    CHECK(IX->iter_key(NULL, &len) == NULL);
    CHECK_EQ(len, 0);
    CHECK_EQ(IX->iter_value(NULL), 0);
    CHECK_EQ(IX->iter_status(NULL), LARCH_EINVAL);
    IX->iter_free(NULL);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(every_call_rejects_a_null_handle);
        RUN(every_call_rejects_a_null_key_with_a_nonzero_length);
        RUN(every_call_rejects_a_key_longer_than_LARCH_KEY_MAX);
        RUN(update_and_scan_reject_a_null_callback);
        RUN(a_null_key_of_length_zero_is_the_empty_key_everywhere);
        RUN(seek_and_scan_bounds_longer_than_LARCH_KEY_MAX_are_not_errors);
        RUN(a_seek_to_a_null_key_with_a_length_ends_invalid_with_einval);
        RUN(a_null_iterator_is_refused_by_every_iterator_call);
    }
    return harness_finish();
}
