/* Large indexes: hundreds of thousands of keys inserted in ascending, descending
 * and random order, then deleted in the same, the reverse or a random order, so
 * that the tree grows several levels and comes all the way back down. At regular
 * checkpoints check() passes, len() is exact and height() moves one way only (up
 * while inserting, down while deleting), ending at 1 when the index is empty. */
#include <string.h>

#include "harness.h"
#include "index_test.h"

/* The i-th key of a sequence (i < n); returns its length. */
typedef size_t (*key_fn)(uint64_t i, uint64_t n, unsigned char *out);

static uint64_t scramble(uint64_t i) {
    return i * 0x9E3779B97F4A7C15ULL; /* odd multiplier: distinct for distinct i */
}

static size_t ascending(uint64_t i, uint64_t n, unsigned char *out) {
    (void)n;
    return key_u64(out, i);
}

static size_t descending(uint64_t i, uint64_t n, unsigned char *out) {
    return key_u64(out, n - 1 - i);
}

static size_t random_u64(uint64_t i, uint64_t n, unsigned char *out) {
    (void)n;
    return key_u64(out, scramble(i));
}

/* E-mail-like text: shared prefixes, varied lengths. */
static size_t text(uint64_t i, uint64_t n, unsigned char *out) {
    (void)n;
    uint64_t h = scramble(i);
    return (size_t)sprintf((char *)out, "%s%llu@%s.example", h % 3 ? "user." : "",
                           (unsigned long long)i, h % 5 ? "mail" : "corp.internal");
}

/* Keys of 100 to 1000 bytes behind a long shared prefix: few fit in a node. */
static size_t long_keys(uint64_t i, uint64_t n, unsigned char *out) {
    (void)n;
    size_t len = 100 + scramble(i) % 900;
    memset(out, 'L', len);
    key_u64(out + 64, scramble(i));
    return len;
}

enum order { SAME, REVERSE, RANDOM };

struct shape {
    const char *name;
    key_fn key;
    uint64_t n;
    enum order delete_order;
};

static uint64_t *permutation(uint64_t n, enum order order) {
    uint64_t *p = malloc(n * sizeof *p);
    if (!p)
        abort();
    for (uint64_t i = 0; i < n; i++)
        p[i] = order == REVERSE ? n - 1 - i : i;
    if (order == RANDOM) {
        uint64_t rng = 42;
        for (uint64_t i = n - 1; i > 0; i--) {
            uint64_t j = test_rand(&rng) % (i + 1), x = p[i];
            p[i] = p[j];
            p[j] = x;
        }
    }
    return p;
}

/* Returns 0 (after a CHECK) if a checkpoint fails. */
static int checkpoint(void *t, size_t expected_len, int *height, int growing, const char *what,
                      uint64_t done) {
    int ok = 1;
    if (IX->check(t, stderr) != LARCH_OK) {
        fprintf(stderr, "    %s: check() failed after %llu operations\n", what,
                (unsigned long long)done);
        ok = 0;
    }
    size_t len = IX->len(t);
    if (len != expected_len) {
        fprintf(stderr, "    %s: len() %zu, expected %zu\n", what, len, expected_len);
        ok = 0;
    }
    int h = IX->height(t);
    if (h < 1 || (growing ? h < *height : h > *height)) {
        fprintf(stderr, "    %s: height went from %d to %d while %s\n", what, *height, h,
                growing ? "inserting" : "deleting");
        ok = 0;
    }
    *height = h;
    CHECK(ok);
    return ok;
}

/* Inserts the n keys of s in order, with checkpoints; 0 on failure. */
static int grow(void *t, const struct shape *s, uint64_t n, int *height) {
    static unsigned char key[LARCH_KEY_MAX];
    for (uint64_t i = 0; i < n; i++) {
        size_t len = s->key(i, n, key);
        int rc = IX->insert(t, key, len, i, NULL);
        if (rc != LARCH_OK) {
            CHECK_EQ(rc, LARCH_OK);
            fprintf(stderr, "    %s: insert %llu\n", s->name, (unsigned long long)i);
            return 0;
        }
        if ((i + 1) % (n / 10) == 0 && !checkpoint(t, i + 1, height, 1, s->name, i + 1))
            return 0;
    }
    return 1;
}

/* Deletes them in s's delete order, with checkpoints; 0 on failure. */
static int shrink(void *t, const struct shape *s, uint64_t n, int *height) {
    static unsigned char key[LARCH_KEY_MAX];
    uint64_t *order = permutation(n, s->delete_order);
    int ok = 1;
    for (uint64_t j = 0; ok && j < n; j++) {
        uint64_t i = order[j], v = 0;
        size_t len = s->key(i, n, key);
        int rc = IX->del(t, key, len, &v);
        if (rc != LARCH_OK || v != i) {
            CHECK_EQ(rc, LARCH_OK);
            CHECK_EQ(v, i);
            ok = 0;
        } else if ((j + 1) % (n / 10) == 0) {
            ok = checkpoint(t, n - j - 1, height, 0, s->name, n + j + 1);
        }
    }
    free(order);
    return ok;
}

static void grow_and_shrink(const struct shape *s) {
    uint64_t n = s->n / (under_sanitizer() ? 10 : 1);
    void *t = IX->new_();
    REQUIRE(t != NULL);
    static unsigned char key[LARCH_KEY_MAX];
    int height = 1;
    if (grow(t, s, n, &height)) {
        int top = IX->height(t);
        fprintf(stderr, "    %s: %llu keys, height %d\n", s->name, (unsigned long long)n, top);
        if (IX->has_levels)
            CHECK(top >= 2);
        /* Everything is there, in order, with its value. */
        struct dump expected = {0};
        for (uint64_t i = 0; i < n; i++)
            dump_add(&expected, key, s->key(i, n, key), i);
        dump_sort_unique(&expected);
        CHECK(index_matches(IX, t, &expected, s->name));
        dump_free(&expected);
        if (shrink(t, s, n, &height)) {
            CHECK_EQ(IX->len(t), 0);
            CHECK_EQ(IX->height(t), 1);
            CHECK_EQ(IX->check(t, stderr), LARCH_OK);
            /* The emptied index works as new. */
            CHECK_EQ(IX->put(t, key, s->key(0, n, key), 1, NULL), LARCH_OK);
            CHECK_EQ(IX->get(t, key, s->key(0, n, key), NULL), LARCH_OK);
        }
    }
    IX->free_(t);
}

static void ascending_inserts_then_ascending_deletes(void) {
    grow_and_shrink(&(struct shape){"ascending", ascending, 200000, SAME});
}

static void ascending_inserts_then_descending_deletes(void) {
    grow_and_shrink(&(struct shape){"ascending, deleted in reverse", ascending, 200000, REVERSE});
}

static void descending_inserts_then_random_deletes(void) {
    grow_and_shrink(&(struct shape){"descending", descending, 200000, RANDOM});
}

static void random_inserts_then_deletes_in_insertion_order(void) {
    grow_and_shrink(&(struct shape){"random", random_u64, 200000, SAME});
}

static void random_inserts_then_random_deletes(void) {
    grow_and_shrink(&(struct shape){"random, deleted at random", random_u64, 200000, RANDOM});
}

static void text_keys_then_random_deletes(void) {
    grow_and_shrink(&(struct shape){"text", text, 200000, RANDOM});
}

static void long_keys_then_reverse_deletes(void) {
    grow_and_shrink(&(struct shape){"long keys", long_keys, 30000, REVERSE});
}

/* Half the keys out and back in, twice, at full size: nodes merge and split again
 * in the middle of a deep tree. */
static void deleting_and_reinserting_every_other_key_keeps_the_index_exact(void) {
    uint64_t n = under_sanitizer() ? 20000 : 200000;
    void *t = IX->new_();
    REQUIRE(t != NULL);
    unsigned char key[8];
    for (uint64_t i = 0; i < n; i++)
        IX->put(t, key, random_u64(i, n, key), i, NULL);
    for (int round = 0; round < 2; round++) {
        for (uint64_t i = (uint64_t)round; i < n; i += 2)
            CHECK_EQ(IX->del(t, key, random_u64(i, n, key), NULL), LARCH_OK);
        CHECK_EQ(IX->len(t), n / 2);
        CHECK_EQ(IX->check(t, stderr), LARCH_OK);
        for (uint64_t i = (uint64_t)round; i < n; i += 2)
            CHECK_EQ(IX->insert(t, key, random_u64(i, n, key), i + n, NULL), LARCH_OK);
        CHECK_EQ(IX->len(t), n);
        CHECK_EQ(IX->check(t, stderr), LARCH_OK);
    }
    struct dump expected = {0};
    for (uint64_t i = 0; i < n; i++)
        dump_add(&expected, key, random_u64(i, n, key), i + n);
    dump_sort_unique(&expected);
    CHECK(index_matches(IX, t, &expected, "after two rounds"));
    dump_free(&expected);
    IX->free_(t);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(ascending_inserts_then_ascending_deletes);
        RUN(ascending_inserts_then_descending_deletes);
        RUN(descending_inserts_then_random_deletes);
        RUN(random_inserts_then_deletes_in_insertion_order);
        RUN(random_inserts_then_random_deletes);
        RUN(text_keys_then_random_deletes);
        RUN(long_keys_then_reverse_deletes);
        RUN(deleting_and_reinserting_every_other_key_keeps_the_index_exact);
    }
    return harness_finish();
}
