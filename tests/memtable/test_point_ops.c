/* The memtable's point operations as a specification: versions by seq, snapshot
 * reads, tombstones against empty values, duplicate (key, seq), keys that are
 * prefixes of each other, bad input, len and bytes. */
#include "memtable_test.h"

/* get at snapshot returns rc, and for a value exactly the bytes want. */
static void expect_get(larch_memtable *m, const char *key, uint64_t snapshot, int rc,
                       const char *want, uint64_t want_seq) {
    const void *val = (const void *)1;
    size_t vlen = 77;
    uint64_t seq = 77;
    CHECK_EQ(larch_memtable_get(m, key, strlen(key), snapshot, &val, &vlen, &seq), rc);
    if (rc == LARCH_OK) {
        CHECK(val != NULL);
        CHECK_EQ(vlen, strlen(want));
        CHECK(val && vlen == strlen(want) && !memcmp(val, want, vlen));
    } else {
        CHECK(val == NULL);
        CHECK_EQ(vlen, 0);
    }
    CHECK_EQ(seq, rc == LARCH_NOTFOUND ? 0 : want_seq);
}

static int put(larch_memtable *m, const char *key, uint64_t seq, const char *val) {
    return larch_memtable_put(m, key, strlen(key), seq, val, strlen(val));
}

static void test_versions_by_snapshot(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    CHECK_EQ(put(m, "k", 10, "ten"), LARCH_OK);
    CHECK_EQ(put(m, "k", 30, "thirty"), LARCH_OK);
    CHECK_EQ(put(m, "k", 20, "twenty"), LARCH_OK); /* out of order */
    CHECK_EQ(larch_memtable_del(m, "k", 1, 40), LARCH_OK);
    CHECK_EQ(put(m, "k", 50, "fifty"), LARCH_OK);
    expect_get(m, "k", 9, LARCH_NOTFOUND, NULL, 0);
    expect_get(m, "k", 10, LARCH_OK, "ten", 10);
    expect_get(m, "k", 19, LARCH_OK, "ten", 10);
    expect_get(m, "k", 20, LARCH_OK, "twenty", 20);
    expect_get(m, "k", 29, LARCH_OK, "twenty", 20);
    expect_get(m, "k", 30, LARCH_OK, "thirty", 30);
    expect_get(m, "k", 40, LARCH_DELETED, NULL, 40);
    expect_get(m, "k", 49, LARCH_DELETED, NULL, 40);
    expect_get(m, "k", 50, LARCH_OK, "fifty", 50);
    expect_get(m, "k", UINT64_MAX, LARCH_OK, "fifty", 50);
    expect_get(m, "other", UINT64_MAX, LARCH_NOTFOUND, NULL, 0);
    CHECK_EQ(larch_memtable_len(m), 5);
    larch_memtable_free(m);
}

static void test_duplicate_seq_refused(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    CHECK_EQ(put(m, "k", 7, "first"), LARCH_OK);
    CHECK_EQ(put(m, "k", 7, "second"), LARCH_EXISTS);
    CHECK_EQ(larch_memtable_del(m, "k", 1, 7), LARCH_EXISTS);
    CHECK_EQ(larch_memtable_del(m, "d", 1, 3), LARCH_OK);
    CHECK_EQ(larch_memtable_del(m, "d", 1, 3), LARCH_EXISTS);
    CHECK_EQ(put(m, "d", 3, "value"), LARCH_EXISTS);
    expect_get(m, "k", 7, LARCH_OK, "first", 7);
    expect_get(m, "d", 3, LARCH_DELETED, NULL, 3);
    /* The same seq under another key is another version. */
    CHECK_EQ(put(m, "j", 7, "other key"), LARCH_OK);
    CHECK_EQ(larch_memtable_len(m), 3);
    larch_memtable_free(m);
}

static void test_empty_value_is_not_a_tombstone(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    CHECK_EQ(larch_memtable_put(m, "e", 1, 5, NULL, 0), LARCH_OK);
    CHECK_EQ(larch_memtable_put(m, "f", 1, 5, "x", 0), LARCH_OK);
    CHECK_EQ(larch_memtable_del(m, "g", 1, 5), LARCH_OK);
    const void *val;
    size_t vlen = 9;
    uint64_t seq;
    CHECK_EQ(larch_memtable_get(m, "e", 1, 5, &val, &vlen, &seq), LARCH_OK);
    CHECK(val != NULL); /* never NULL for a value, even of length 0 */
    CHECK_EQ(vlen, 0);
    CHECK_EQ(larch_memtable_get(m, "f", 1, 5, &val, &vlen, &seq), LARCH_OK);
    CHECK(val != NULL);
    CHECK_EQ(larch_memtable_get(m, "g", 1, 5, &val, &vlen, &seq), LARCH_DELETED);
    CHECK(val == NULL);
    /* A put over a tombstone revives the key; a tombstone over an empty value hides it. */
    CHECK_EQ(larch_memtable_put(m, "g", 1, 6, NULL, 0), LARCH_OK);
    CHECK_EQ(larch_memtable_get(m, "g", 1, 6, &val, &vlen, &seq), LARCH_OK);
    CHECK(val != NULL);
    CHECK_EQ(larch_memtable_del(m, "e", 1, 6), LARCH_OK);
    CHECK_EQ(larch_memtable_get(m, "e", 1, 6, &val, &vlen, &seq), LARCH_DELETED);
    CHECK_EQ(larch_memtable_get(m, "e", 1, 5, &val, &vlen, &seq), LARCH_OK);
    larch_memtable_free(m);
}

static void test_prefix_keys_keep_their_versions(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    /* "", "a", "a\0", "a\0\0", "ab": each a prefix of the next few. */
    static const struct {
        const char *key;
        size_t len;
    } keys[] = {{"", 0}, {"a", 1}, {"a\0", 2}, {"a\0\0", 3}, {"ab", 2}};
    for (uint64_t seq = 1; seq <= 3; seq++)
        for (size_t i = 0; i < 5; i++) {
            unsigned char val[2] = {(unsigned char)i, (unsigned char)seq};
            CHECK_EQ(larch_memtable_put(m, keys[i].key, keys[i].len, seq * 10 + i, val, 2),
                     LARCH_OK);
        }
    for (size_t i = 0; i < 5; i++)
        for (uint64_t seq = 1; seq <= 3; seq++) {
            const void *val;
            size_t vlen;
            uint64_t got;
            CHECK_EQ(
                larch_memtable_get(m, keys[i].key, keys[i].len, seq * 10 + 9, &val, &vlen, &got),
                LARCH_OK);
            CHECK_EQ(got, seq * 10 + i);
            CHECK(vlen == 2 && ((const unsigned char *)val)[0] == i &&
                  ((const unsigned char *)val)[1] == seq);
        }
    /* A key between them that was never written. */
    CHECK_EQ(larch_memtable_get(m, "a\0\0\0", 4, UINT64_MAX, NULL, NULL, NULL), LARCH_NOTFOUND);
    CHECK_EQ(larch_memtable_get(m, "aa", 2, UINT64_MAX, NULL, NULL, NULL), LARCH_NOTFOUND);
    CHECK_EQ(larch_memtable_len(m), 15);
    larch_memtable_free(m);
}

static void test_extreme_seqs_and_keys(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    static unsigned char big[LARCH_KEY_MAX];
    memset(big, 0xFF, sizeof big);
    CHECK_EQ(larch_memtable_put(m, big, LARCH_KEY_MAX, 0, "zero", 4), LARCH_OK);
    CHECK_EQ(larch_memtable_put(m, big, LARCH_KEY_MAX, UINT64_MAX, "max", 3), LARCH_OK);
    uint64_t seq;
    const void *val;
    size_t vlen;
    CHECK_EQ(larch_memtable_get(m, big, LARCH_KEY_MAX, 0, &val, &vlen, &seq), LARCH_OK);
    CHECK(seq == 0 && vlen == 4 && !memcmp(val, "zero", 4));
    CHECK_EQ(larch_memtable_get(m, big, LARCH_KEY_MAX, UINT64_MAX - 1, &val, &vlen, &seq),
             LARCH_OK);
    CHECK_EQ(seq, 0);
    CHECK_EQ(larch_memtable_get(m, big, LARCH_KEY_MAX, UINT64_MAX, &val, &vlen, &seq), LARCH_OK);
    CHECK(seq == UINT64_MAX && vlen == 3 && !memcmp(val, "max", 3));
    /* Large values take blocks of their own and read back whole. */
    size_t n = 200000;
    unsigned char *v = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (unsigned char)(i * 7);
    CHECK_EQ(larch_memtable_put(m, "large", 5, 1, v, n), LARCH_OK);
    CHECK_EQ(larch_memtable_get(m, "large", 5, 1, &val, &vlen, &seq), LARCH_OK);
    CHECK(vlen == n && !memcmp(val, v, n));
    free(v);
    larch_memtable_free(m);
}

static void test_bad_input(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    static unsigned char big[LARCH_KEY_MAX + 1];
    const void *val = (const void *)1;
    size_t vlen = 5;
    CHECK_EQ(larch_memtable_put(NULL, "k", 1, 1, "v", 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_put(m, NULL, 1, 1, "v", 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, NULL, 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_put(m, big, LARCH_KEY_MAX + 1, 1, "v", 1), LARCH_EKEYSIZE);
    CHECK_EQ(larch_memtable_put(m, "k", 1, 1, "v", (size_t)UINT32_MAX), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_del(NULL, "k", 1, 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_del(m, NULL, 3, 1), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_del(m, big, LARCH_KEY_MAX + 1, 1), LARCH_EKEYSIZE);
    CHECK_EQ(larch_memtable_get(NULL, "k", 1, 1, &val, &vlen, NULL), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_get(m, NULL, 1, 1, &val, &vlen, NULL), LARCH_EINVAL);
    CHECK_EQ(larch_memtable_get(m, big, LARCH_KEY_MAX + 1, 1, &val, &vlen, NULL), LARCH_EKEYSIZE);
    CHECK(val == (const void *)1 && vlen == 5); /* errors leave the outs alone */
    CHECK_EQ(larch_memtable_len(m), 0);
    CHECK_EQ(larch_memtable_len(NULL), 0);
    CHECK_EQ(larch_memtable_bytes(NULL), 0);
    /* The empty key, NULL, is a key. */
    CHECK_EQ(larch_memtable_put(m, NULL, 0, 1, NULL, 0), LARCH_OK);
    CHECK_EQ(larch_memtable_get(m, NULL, 0, 1, &val, &vlen, NULL), LARCH_OK);
    CHECK_EQ(larch_memtable_len(m), 1);
    larch_memtable_free(m);
    larch_memtable_free(NULL);
}

static void test_pointers_live_until_free(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    const void *first;
    size_t vlen;
    CHECK_EQ(put(m, "key-0", 1, "value-0"), LARCH_OK);
    CHECK_EQ(larch_memtable_get(m, "key-0", 5, 1, &first, &vlen, NULL), LARCH_OK);
    char key[32], val[32];
    for (int i = 1; i < 20000; i++) { /* many blocks and index splits later */
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(val, sizeof val, "value-%d", i);
        CHECK_EQ(put(m, key, (uint64_t)i, val), LARCH_OK);
    }
    CHECK(vlen == 7 && !memcmp(first, "value-0", 7));
    const void *again;
    CHECK_EQ(larch_memtable_get(m, "key-0", 5, 1, &again, &vlen, NULL), LARCH_OK);
    CHECK(again == first);
    larch_memtable_free(m);
}

static void test_len_and_bytes(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    size_t empty = larch_memtable_bytes(m);
    CHECK(empty > 0);
    unsigned char key[16], val[100];
    memset(val, 'v', sizeof val);
    for (uint64_t i = 0; i < 10000; i++) {
        memset(key, 0, sizeof key);
        memcpy(key, &i, sizeof i);
        CHECK_EQ(larch_memtable_put(m, key, sizeof key, i, val, sizeof val), LARCH_OK);
    }
    CHECK_EQ(larch_memtable_len(m), 10000);
    size_t full = larch_memtable_bytes(m);
    /* At least the raw bytes, and not wildly more (arena blocks are whole). */
    CHECK(full >= empty + 10000 * (16 + 100));
    CHECK(full <= empty + 10000 * (16 + 100) * 3);
    /* Refused writes count nothing. */
    CHECK_EQ(larch_memtable_put(m, key, sizeof key, 9999, val, sizeof val), LARCH_EXISTS);
    CHECK_EQ(larch_memtable_len(m), 10000);
    larch_memtable_free(m);
}

/* Past larch__mt_arena_huge_after bytes a shard takes 2 MiB blocks mapped on their
 * own: every version in them reads back, they are counted in bytes, and they go
 * with the memtable. */
static void test_huge_blocks(void) {
    size_t saved = larch__mt_arena_huge_after;
    larch__mt_arena_huge_after = 64 << 10;
    larch_memtable *m = mt_new();
    REQUIRE(m);
    unsigned char key[16], val[300];
    const uint64_t n = 20000; /* about 6 MiB */
    for (uint64_t i = 0; i < n; i++) {
        memset(key, 'k', sizeof key);
        memcpy(key, &i, sizeof i);
        memset(val, (int)i, sizeof val);
        CHECK_EQ(larch_memtable_put(m, key, sizeof key, i + 1, val, sizeof val), LARCH_OK);
    }
    size_t mapped = memtable_mapped_bytes(m);
    CHECK(mapped >= 2 * ARENA_HUGE_BLOCK && mapped % ARENA_HUGE_BLOCK == 0);
    CHECK(larch_memtable_bytes(m) >= mapped && larch_memtable_bytes(m) >= n * (16 + 300));
    for (uint64_t i = 0; i < n; i++) {
        memset(key, 'k', sizeof key);
        memcpy(key, &i, sizeof i);
        memset(val, (int)i, sizeof val);
        const void *v;
        size_t vlen;
        uint64_t seq;
        if (larch_memtable_get(m, key, sizeof key, UINT64_MAX, &v, &vlen, &seq) != LARCH_OK ||
            vlen != sizeof val || memcmp(v, val, vlen) || seq != i + 1) {
            CHECK(!"a version in a huge block reads back");
            break;
        }
    }
    larch_memtable_free(m);
    larch__mt_arena_huge_after = saved;
}

/* Short keys of one length that share their first bytes (which the ART alone would
 * pack into leaf buckets): each keeps one record, so versions added after the
 * first are found by every read. */
static void test_short_keys_of_one_length(void) {
    larch_memtable *m = mt_new();
    REQUIRE(m);
    char key[8], val[16];
    for (int seq = 1; seq <= 2; seq++)
        for (int i = 0; i < 1000; i++) {
            snprintf(key, sizeof key, "%04d", i);
            snprintf(val, sizeof val, "v%d-%d", seq, i);
            CHECK_EQ(put(m, key, (uint64_t)seq, val), LARCH_OK);
        }
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "%04d", i);
        snprintf(val, sizeof val, "v1-%d", i);
        expect_get(m, key, 1, LARCH_OK, val, 1);
        snprintf(val, sizeof val, "v2-%d", i);
        expect_get(m, key, UINT64_MAX, LARCH_OK, val, 2);
    }
    CHECK_EQ(larch_memtable_len(m), 2000);
    larch_memtable_free(m);
}

static void test_public_constructors(void) {
    larch_memtable *a = larch_memtable_new(), *b = larch_memtable_new_btree(),
                   *c = larch_memtable_new_art();
    REQUIRE(a && b && c);
    CHECK_EQ(put(a, "k", 1, "a"), LARCH_OK);
    CHECK_EQ(put(b, "k", 1, "b"), LARCH_OK);
    CHECK_EQ(put(c, "k", 1, "c"), LARCH_OK);
    expect_get(a, "k", 1, LARCH_OK, "a", 1);
    expect_get(b, "k", 1, LARCH_OK, "b", 1);
    expect_get(c, "k", 1, LARCH_OK, "c", 1);
    larch_memtable_free(a);
    larch_memtable_free(b);
    larch_memtable_free(c);
}

int main(void) {
    RUN(test_public_constructors);
    FOR_EACH_MEMTABLE_INDEX {
        RUN(test_versions_by_snapshot);
        RUN(test_duplicate_seq_refused);
        RUN(test_empty_value_is_not_a_tombstone);
        RUN(test_prefix_keys_keep_their_versions);
        RUN(test_extreme_seqs_and_keys);
        RUN(test_bad_input);
        RUN(test_pointers_live_until_free);
        RUN(test_len_and_bytes);
        RUN(test_huge_blocks);
        RUN(test_short_keys_of_one_length);
    }
    return harness_finish();
}
