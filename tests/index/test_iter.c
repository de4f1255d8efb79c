/* Iterators, single-threaded: seek, seek_for_prev, seek_first and seek_last on
 * present, absent and beyond-the-end keys; next and prev to both ends and back;
 * what an invalid iterator answers; that the key stays readable until the next
 * move; passes that continue across writes; and that an open iterator blocks
 * neither writers nor reclamation. Expectations come from sorted arrays. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "harness.h"
#include "index_test.h"

#define K(s) (s), (sizeof(s) - 1)

/* The iterator is on a key equal to the 8-byte big-endian number n, with value v. */
static int at_u64(void *it, uint64_t n, uint64_t v) {
    size_t len = 0;
    const unsigned char *k = IX->iter_key(it, &len);
    return IX->iter_valid(it) && k && len == 8 && key_u64_read(k) == n && IX->iter_value(it) == v;
}

/* The iterator is invalid and answers as an invalid iterator must. */
static int invalid(void *it) {
    size_t len = 99;
    return !IX->iter_valid(it) && IX->iter_key(it, &len) == NULL && len == 0 &&
           IX->iter_value(it) == 0;
}

/* Multiples of 10 from 10 to 1000, value n + 1. */
static void *tens(void) {
    void *t = IX->new_();
    if (!t)
        return NULL;
    unsigned char key[8];
    for (uint64_t n = 10; n <= 1000; n += 10)
        if (IX->put(t, key, key_u64(key, n), n + 1, NULL) != LARCH_OK) {
            IX->free_(t);
            return NULL;
        }
    return t;
}

static void a_new_iterator_is_invalid(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_next(it);
    CHECK(invalid(it));
    IX->iter_prev(it);
    CHECK(invalid(it));
    IX->iter_free(it);
    IX->free_(t);
}

static void every_seek_on_an_empty_index_ends_invalid_with_status_ok(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek_first(it);
    CHECK(invalid(it));
    IX->iter_seek_last(it);
    CHECK(invalid(it));
    IX->iter_seek(it, K("a"));
    CHECK(invalid(it));
    IX->iter_seek(it, NULL, 0);
    CHECK(invalid(it));
    IX->iter_seek_for_prev(it, K("\xff\xff"));
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    IX->free_(t);
}

static void seek_lands_on_the_first_key_at_or_after(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    unsigned char key[8];
    IX->iter_seek(it, key, key_u64(key, 500)); /* present */
    CHECK(at_u64(it, 500, 501));
    IX->iter_seek(it, key, key_u64(key, 501)); /* absent */
    CHECK(at_u64(it, 510, 511));
    IX->iter_seek(it, key, key_u64(key, 0)); /* before the first */
    CHECK(at_u64(it, 10, 11));
    IX->iter_seek(it, NULL, 0);
    CHECK(at_u64(it, 10, 11));
    IX->iter_seek(it, key, 3); /* a prefix of every key: 00 00 00 */
    CHECK(at_u64(it, 10, 11));
    IX->iter_seek(it, key, key_u64(key, 1000));
    CHECK(at_u64(it, 1000, 1001));
    IX->iter_seek(it, key, key_u64(key, 1001)); /* beyond the last */
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    IX->free_(t);
}

static void seek_for_prev_lands_on_the_last_key_at_or_before(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    unsigned char key[9];
    IX->iter_seek_for_prev(it, key, key_u64(key, 500));
    CHECK(at_u64(it, 500, 501));
    IX->iter_seek_for_prev(it, key, key_u64(key, 509));
    CHECK(at_u64(it, 500, 501));
    key_u64(key, 500);
    key[8] = 0; /* 500 followed by a zero byte: just after 500 */
    IX->iter_seek_for_prev(it, key, 9);
    CHECK(at_u64(it, 500, 501));
    /* The first 7 bytes of 500 (00..00 01) come before 256 (00..01 00), so the
     * last key at or before them is 250. */
    IX->iter_seek_for_prev(it, key, 7);
    CHECK(at_u64(it, 250, 251));
    IX->iter_seek_for_prev(it, key, key_u64(key, 10000)); /* beyond the last */
    CHECK(at_u64(it, 1000, 1001));
    IX->iter_seek_for_prev(it, key, key_u64(key, 10));
    CHECK(at_u64(it, 10, 11));
    IX->iter_seek_for_prev(it, key, key_u64(key, 9)); /* before the first */
    CHECK(invalid(it));
    IX->iter_seek_for_prev(it, NULL, 0);
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    IX->free_(t);
}

static void next_walks_to_the_end_and_then_stays_invalid(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek_first(it);
    for (uint64_t n = 10; n <= 1000; n += 10) {
        CHECK(at_u64(it, n, n + 1));
        IX->iter_next(it);
    }
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_next(it);
    CHECK(invalid(it));
    IX->iter_prev(it); /* an invalid iterator does not come back from the end */
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    IX->free_(t);
}

static void prev_walks_to_the_start_and_then_stays_invalid(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek_last(it);
    for (uint64_t n = 1000; n >= 10; n -= 10) {
        CHECK(at_u64(it, n, n + 1));
        IX->iter_prev(it);
    }
    CHECK(invalid(it));
    IX->iter_prev(it);
    CHECK(invalid(it));
    IX->iter_next(it);
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    IX->free_(t);
}

static void next_and_prev_retrace_each_other(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    unsigned char key[8];
    IX->iter_seek(it, key, key_u64(key, 505));
    CHECK(at_u64(it, 510, 511));
    IX->iter_prev(it);
    CHECK(at_u64(it, 500, 501));
    IX->iter_prev(it);
    CHECK(at_u64(it, 490, 491));
    IX->iter_next(it);
    CHECK(at_u64(it, 500, 501));
    IX->iter_next(it);
    IX->iter_next(it);
    CHECK(at_u64(it, 520, 521));
    IX->iter_seek_first(it);
    IX->iter_prev(it);
    CHECK(invalid(it));
    IX->iter_seek_last(it);
    IX->iter_next(it);
    CHECK(invalid(it));
    IX->iter_seek_last(it); /* a seek revives an iterator that ran off the end */
    CHECK(at_u64(it, 1000, 1001));
    IX->iter_prev(it);
    CHECK(at_u64(it, 990, 991));
    IX->iter_free(it);
    IX->free_(t);
}

/* The key an iterator hands out is its own copy: it stays readable, unchanged,
 * until the next move, whatever happens to the index meanwhile. */
static void the_key_stays_readable_until_the_next_move_even_if_deleted(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    static unsigned char longest[LARCH_KEY_MAX], copy[LARCH_KEY_MAX];
    memset(longest, 'z', sizeof longest);
    CHECK_EQ(IX->put(t, longest, LARCH_KEY_MAX, 1, NULL), LARCH_OK);
    CHECK_EQ(IX->put(t, K("a"), 2, NULL), LARCH_OK);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    IX->iter_seek_last(it);
    size_t len = 0;
    const unsigned char *k = IX->iter_key(it, &len);
    REQUIRE(k != NULL && len == LARCH_KEY_MAX);
    CHECK_EQ(IX->del(t, longest, LARCH_KEY_MAX, NULL), LARCH_OK);
    /* Churn enough to reuse the memory the key lived in, and let reclamation run. */
    unsigned char key[8];
    for (uint64_t i = 0; i < 3000; i++)
        IX->put(t, key, key_u64(key, i), i, NULL);
    for (uint64_t i = 0; i < 3000; i++)
        IX->del(t, key, key_u64(key, i), NULL);
    larch_epoch_barrier();
    memset(copy, 'z', sizeof copy);
    CHECK(memcmp(k, copy, LARCH_KEY_MAX) == 0);
    size_t len2 = 0;
    const void *again = IX->iter_key(it, &len2);
    CHECK(again && len2 == LARCH_KEY_MAX && memcmp(again, copy, LARCH_KEY_MAX) == 0);
    CHECK_EQ(IX->iter_value(it), 1);
    IX->iter_prev(it);
    size_t alen = 0;
    const void *a = IX->iter_key(it, &alen);
    CHECK(IX->iter_valid(it) && alen == 1 && memcmp(a, "a", 1) == 0);
    IX->iter_free(it);
    IX->free_(t);
}

/* Moves the iterator (next or prev) until it reaches `target` or fails; every key
 * on the way must be in order and one of those deleted during the pass (the pass
 * may or may not return those: they were present when it began). */
static int reach_over_deleted(void *it, int forward, uint64_t target, uint64_t deleted_lo,
                              uint64_t deleted_hi) {
    size_t len = 0;
    const unsigned char *k = IX->iter_key(it, &len);
    uint64_t last = k && len == 8 ? key_u64_read(k) : 0;
    for (;;) {
        if (forward)
            IX->iter_next(it);
        else
            IX->iter_prev(it);
        if (!IX->iter_valid(it))
            return target == UINT64_MAX;
        k = IX->iter_key(it, &len);
        if (!k || len != 8)
            return 0;
        uint64_t n = key_u64_read(k);
        if (forward ? n <= last : n >= last)
            return 0; /* out of order, or the same key twice */
        if (n == target)
            return IX->iter_value(it) == n + 1;
        if (n < deleted_lo || n > deleted_hi || n % 10 || IX->iter_value(it) != n + 1)
            return 0;
        last = n;
    }
}

/* A pass continues from the last key it returned: deleting that key does not lose
 * the iterator's place, and keys present all along are not skipped. */
static void a_pass_continues_past_a_deleted_current_key(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    unsigned char key[8];
    IX->iter_seek(it, key, key_u64(key, 500));
    CHECK(at_u64(it, 500, 501));
    IX->del(t, key, 8, NULL);
    IX->iter_next(it);
    CHECK(at_u64(it, 510, 511));
    /* Going back: 500 was deleted during the pass and may come back; 490 was
     * present throughout and must. */
    IX->del(t, key, key_u64(key, 510), NULL);
    CHECK(reach_over_deleted(it, 0, 490, 500, 500));
    /* Delete the whole neighbourhood ahead: the pass goes on to what remains. */
    for (uint64_t n = 300; n < 490; n += 10)
        IX->del(t, key, key_u64(key, n), NULL);
    CHECK(reach_over_deleted(it, 0, 290, 300, 480));
    for (uint64_t n = 20; n <= 1000; n += 10)
        IX->del(t, key, key_u64(key, n), NULL);
    CHECK(reach_over_deleted(it, 1, UINT64_MAX, 20, 1000));
    CHECK(invalid(it));
    IX->iter_seek_last(it); /* a new pass sees only what is there */
    CHECK(at_u64(it, 10, 11));
    IX->iter_prev(it);
    CHECK(invalid(it));
    IX->iter_free(it);
    IX->free_(t);
}

/* Keys present for the whole pass come out, in order, each once; a key inserted
 * behind the iterator never appears in this pass (the order would break). */
static void a_pass_across_writes_returns_every_key_present_throughout_in_order(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    unsigned char key[8];
    IX->iter_seek_first(it);
    uint64_t expect = 10, prev = 0;
    int steps = 0;
    while (IX->iter_valid(it)) {
        size_t len = 0;
        const unsigned char *k = IX->iter_key(it, &len);
        REQUIRE(len == 8);
        uint64_t n = key_u64_read(k);
        CHECK(steps == 0 || n > prev);
        prev = n;
        if (n % 10 == 0) {
            CHECK_EQ(n, expect);
            expect += 10;
        }
        /* Behind us (never to be returned), and ahead of us (may or may not be). */
        IX->put(t, key, key_u64(key, n - 5), 0, NULL);
        if (n % 10 == 0)
            IX->put(t, key, key_u64(key, n + 5), 0, NULL);
        IX->iter_next(it);
        steps++;
    }
    CHECK_EQ(expect, 1010);
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    IX->free_(t);
}

/* Several hundred long and short keys over many nodes, walked both ways and sought
 * at random, against a sorted array. */
/* n random keys, most of 8 bytes, one in eight up to LARCH_KEY_MAX long, over
 * few byte values (so they share prefixes), sorted. */
static void large_key_set(struct dump *all, int n, uint64_t *rng) {
    unsigned char key[LARCH_KEY_MAX];
    for (int i = 0; i < n; i++) {
        size_t len = test_rand(rng) % 8 == 0 ? test_rand(rng) % LARCH_KEY_MAX : 8;
        for (size_t j = 0; j < len; j++)
            key[j] = (unsigned char)(test_rand(rng) % 3 + (j % 2 ? 0 : 0xFD));
        dump_add(all, key, len, test_rand(rng));
    }
    dump_sort_unique(all);
}

/* The iterator is on entry e. */
static int at_entry(void *it, const struct entry *e) {
    size_t klen = 0;
    const void *k = IX->iter_key(it, &klen);
    return IX->iter_valid(it) && key_cmp(k, klen, e->key, e->len) == 0 &&
           IX->iter_value(it) == e->val;
}

static void a_large_index_walks_and_seeks_like_a_sorted_array(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    uint64_t rng = 77;
    struct dump all = {0};
    unsigned char key[LARCH_KEY_MAX + 8];
    large_key_set(&all, under_sanitizer() ? 3000 : 15000, &rng);
    REQUIRE(index_fill(IX, t, &all));
    CHECK(index_matches(IX, t, &all, "large index"));

    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    int seeks = under_sanitizer() ? 300 : 2000;
    for (int s = 0; s < seeks; s++) {
        const struct entry *e = &all.e[test_rand(&rng) % all.n];
        size_t len = e->len;
        memcpy(key, e->key, len);
        int how = (int)(test_rand(&rng) % 3);
        if (how == 1 && len)
            len--; /* a proper prefix of a key */
        else if (how == 2)
            key[len++] = (unsigned char)test_rand(&rng); /* an extension */
        /* Where seek and seek_for_prev must land, by linear search. */
        long ge = -1, le = -1;
        for (size_t i = 0; i < all.n; i++) {
            int c = key_cmp(all.e[i].key, all.e[i].len, key, len);
            if (c <= 0)
                le = (long)i;
            if (c >= 0 && ge < 0)
                ge = (long)i;
        }
        int forward = test_rand(&rng) % 2;
        long pos = forward ? ge : le;
        if (forward)
            IX->iter_seek(it, key, len);
        else
            IX->iter_seek_for_prev(it, key, len);
        for (int step = 0; step < 20; step++) {
            if (pos < 0 || pos >= (long)all.n) {
                CHECK(invalid(it));
                break;
            }
            if (!at_entry(it, &all.e[pos])) {
                CHECK(!"iterator is on the expected entry");
                fprintf(stderr, "    seek %d, step %d, expected entry %ld\n", s, step, pos);
                s = seeks;
                break;
            }
            int next = test_rand(&rng) % 4 != 0 ? forward : !forward;
            if (next)
                IX->iter_next(it), pos++;
            else
                IX->iter_prev(it), pos--;
        }
    }
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    dump_free(&all);
    IX->free_(t);
}

/* Iterators copy bigger batches the longer they keep moving one way (and small
 * ones again after a turn): long runs each way, turning anywhere, land on the
 * same entries as a sorted array, up to both ends. */
static void long_runs_each_way_land_like_a_sorted_array(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    uint64_t rng = 78;
    struct dump all = {0};
    large_key_set(&all, under_sanitizer() ? 2000 : 6000, &rng);
    REQUIRE(index_fill(IX, t, &all));
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    long pos = (long)(test_rand(&rng) % all.n);
    IX->iter_seek(it, all.e[pos].key, all.e[pos].len);
    bool forward = true, lost = false;
    for (int run = 0; run < 60 && !lost; run++) {
        long length = 1 + (long)(test_rand(&rng) % 400);
        for (long i = 0; i < length; i++) {
            if (!at_entry(it, &all.e[pos])) {
                CHECK(!"iterator is on the expected entry");
                fprintf(stderr, "    run %d, move %ld, expected entry %ld\n", run, i, pos);
                lost = true;
                break;
            }
            if (forward ? pos + 1 == (long)all.n : pos == 0)
                break; /* the end: turn here, the iterator still on it */
            if (forward)
                IX->iter_next(it), pos++;
            else
                IX->iter_prev(it), pos--;
        }
        forward = !forward;
    }
    /* Past either end the iterator ends. */
    IX->iter_seek_last(it);
    IX->iter_next(it);
    CHECK(invalid(it));
    IX->iter_seek_first(it);
    IX->iter_prev(it);
    CHECK(invalid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    dump_free(&all);
    IX->free_(t);
}

static void many_iterators_may_be_open_at_once(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    enum { N = 64 };
    void *its[N];
    for (int i = 0; i < N; i++) {
        its[i] = IX->iter_new(t);
        REQUIRE(its[i] != NULL);
        unsigned char key[8];
        IX->iter_seek(its[i], key, key_u64(key, (uint64_t)i * 15));
    }
    for (int i = 0; i < N; i++) {
        uint64_t n = ((uint64_t)i * 15 + 9) / 10 * 10;
        if (n < 10)
            n = 10;
        if (n <= 1000)
            CHECK(at_u64(its[i], n, n + 1));
        else
            CHECK(invalid(its[i]));
    }
    for (int i = 0; i < N; i++)
        IX->iter_free(its[i]);
    IX->free_(t);
}

/* An iterator may move between threads (one at a time). */
struct handoff {
    void *it;
    int ok;
};

static void *step_twice(void *arg) {
    struct handoff *h = arg;
    IX->iter_next(h->it);
    IX->iter_next(h->it);
    h->ok = at_u64(h->it, 30, 31);
    return NULL;
}

static void an_iterator_may_move_between_threads(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    struct handoff h = {IX->iter_new(t), 0};
    REQUIRE(h.it != NULL);
    IX->iter_seek_first(h.it);
    run_threads(1, step_twice, &h, sizeof h);
    CHECK(h.ok);
    IX->iter_next(h.it);
    CHECK(at_u64(h.it, 40, 41));
    IX->iter_free(h.it);
    IX->free_(t);
}

/* An open, positioned iterator holds no lock and no pin: another thread writes the
 * very keys around it, and a barrier (which waits for every pinned section) returns. */
struct writer_args {
    void *t;
};

static void *rewrite_everything(void *arg) {
    struct writer_args *w = arg;
    unsigned char key[8];
    for (int round = 0; round < 5; round++) {
        for (uint64_t n = 10; n <= 1000; n += 10)
            IX->del(w->t, key, key_u64(key, n), NULL);
        for (uint64_t n = 10; n <= 1000; n += 10)
            IX->put(w->t, key, key_u64(key, n), n + 1, NULL);
    }
    return NULL;
}

static void an_open_iterator_blocks_neither_writers_nor_reclamation(void) {
    void *t = tens();
    REQUIRE(t != NULL);
    void *fwd = IX->iter_new(t), *back = IX->iter_new(t);
    REQUIRE(fwd != NULL && back != NULL);
    unsigned char key[8];
    IX->iter_seek(fwd, key, key_u64(key, 500));
    IX->iter_seek_for_prev(back, key, 8);
    struct writer_args w = {t};
    run_threads(1, rewrite_everything, &w, sizeof w);
    larch_epoch_barrier();
    CHECK(at_u64(fwd, 500, 501));
    CHECK(at_u64(back, 500, 501));
    /* The neighbours were deleted and put back during the pass, so the contract
     * promises no particular one; only order and real entries. */
    IX->iter_next(fwd);
    size_t len = 0;
    const unsigned char *k = IX->iter_key(fwd, &len);
    CHECK(IX->iter_valid(fwd) && len == 8);
    if (k && len == 8) {
        uint64_t n = key_u64_read(k);
        CHECK(n > 500 && n <= 1000 && n % 10 == 0 && IX->iter_value(fwd) == n + 1);
    }
    IX->iter_prev(back);
    k = IX->iter_key(back, &len);
    CHECK(IX->iter_valid(back) && len == 8);
    if (k && len == 8) {
        uint64_t n = key_u64_read(k);
        CHECK(n < 500 && n >= 10 && n % 10 == 0 && IX->iter_value(back) == n + 1);
    }
    IX->iter_free(fwd);
    IX->iter_free(back);
    IX->free_(t);
}

/* The contract's promise about values: if the thread is pinned when a move
 * returns, the value it returned stays protected until that pin ends, even when
 * the iterator copied it before this pin began. Here the values are objects; the
 * keys ahead of the iterator get new objects while it is unpinned, the old ones
 * are retired and a barrier frees them; moves in the next pinned section must
 * hand out only live objects (a stale copy would be freed memory). */
#define LIVE 0x1171AE5A11FE0000ULL
#define DEAD 0xDEADDEADDEADDEADULL

struct object {
    _Atomic uint64_t magic;
    uint64_t id;
};

static uint64_t object_new(uint64_t id) {
    struct object *o = malloc(sizeof *o);
    if (!o)
        abort();
    atomic_init(&o->magic, LIVE);
    o->id = id;
    return (uint64_t)(uintptr_t)o;
}

static void object_free(void *p) {
    struct object *o = p;
    atomic_store_explicit(&o->magic, DEAD, memory_order_relaxed);
    free(o);
}

static int object_live(uint64_t v, uint64_t id) {
    const struct object *o = (const struct object *)(uintptr_t)v;
    return atomic_load_explicit(&o->magic, memory_order_relaxed) == LIVE && o->id == id;
}

static int free_object_value(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx, (void)key, (void)len;
    object_free((void *)(uintptr_t)val);
    return 0;
}

static void a_value_returned_while_pinned_is_live_even_if_copied_before_the_pin(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    unsigned char key[8];
    const uint64_t n = 2000;
    for (uint64_t i = 0; i < n; i++)
        IX->put(t, key, key_u64(key, i), object_new(i), NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    for (int backward = 0; backward < 2; backward++) {
        larch_epoch_pin();
        backward ? IX->iter_seek_last(it) : IX->iter_seek_first(it);
        uint64_t at = backward ? n - 1 : 0;
        CHECK(at_u64(it, at, IX->iter_value(it)) && object_live(IX->iter_value(it), at));
        larch_epoch_unpin();
        long steps = 0, dead = 0;
        for (int round = 0; round < 20 && IX->iter_valid(it); round++) {
            /* Unpinned: replace the objects of the next 100 keys ahead and free
             * the old ones. */
            for (uint64_t d = 1; d <= 100; d++) {
                uint64_t id = backward ? at - d : at + d, old = 0;
                if (id >= n)
                    break;
                if (IX->put(t, key, key_u64(key, id), object_new(id), &old) == LARCH_EXISTS)
                    larch_epoch_retire((void *)(uintptr_t)old, object_free);
            }
            larch_epoch_barrier();
            /* Pinned again: a few moves, every object they hand out alive. */
            larch_epoch_pin();
            for (int m = 0; m < 1 + round % 7 && IX->iter_valid(it); m++) {
                backward ? IX->iter_prev(it) : IX->iter_next(it);
                if (!IX->iter_valid(it))
                    break;
                size_t len = 0;
                const unsigned char *k = IX->iter_key(it, &len);
                at = key_u64_read(k);
                dead += !object_live(IX->iter_value(it), at);
                steps++;
            }
            larch_epoch_unpin();
        }
        CHECK(steps > 20);
        CHECK_EQ(dead, 0);
    }
    IX->iter_free(it);
    IX->scan(t, NULL, 0, NULL, 0, free_object_value, NULL);
    IX->free_(t);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(a_new_iterator_is_invalid);
        RUN(every_seek_on_an_empty_index_ends_invalid_with_status_ok);
        RUN(seek_lands_on_the_first_key_at_or_after);
        RUN(seek_for_prev_lands_on_the_last_key_at_or_before);
        RUN(next_walks_to_the_end_and_then_stays_invalid);
        RUN(prev_walks_to_the_start_and_then_stays_invalid);
        RUN(next_and_prev_retrace_each_other);
        RUN(the_key_stays_readable_until_the_next_move_even_if_deleted);
        RUN(a_pass_continues_past_a_deleted_current_key);
        RUN(a_pass_across_writes_returns_every_key_present_throughout_in_order);
        RUN(a_large_index_walks_and_seeks_like_a_sorted_array);
        RUN(long_runs_each_way_land_like_a_sorted_array);
        RUN(many_iterators_may_be_open_at_once);
        RUN(an_iterator_may_move_between_threads);
        RUN(an_open_iterator_blocks_neither_writers_nor_reclamation);
        RUN(a_value_returned_while_pinned_is_live_even_if_copied_before_the_pin);
    }
    return harness_finish();
}
