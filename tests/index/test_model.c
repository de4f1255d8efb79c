/* Model-based test: long runs of random operations on the index under test and on
 * the reference index, every result compared (return codes, out-values, what
 * update's fn saw, scans entry by entry, iterator positions), and the whole
 * contents plus check() compared after every batch. Keys come from a fixed
 * universe per run, from tiny alphabets full of prefixes and collisions to
 * thousands of long keys sharing long prefixes.
 *
 * Iterator passes that cross writes are held to the contract, not to the model's
 * exact answer: keys strictly in order, each key one that was present with that
 * value at some moment since the pass began, and no key skipped that stayed
 * present for the whole pass. Without writes in between they must match exactly.
 *
 * A failure prints the seed and step; every run is deterministic. */
#include <string.h>

#include "harness.h"
#include "index_test.h"

/* ---- the key universe ------------------------------------------------------------ */

/* Sorted, distinct keys; a key's id is its position. */
static struct dump universe;

static void universe_tiny(uint64_t *rng) {
    (void)rng;
    /* Every key of length 0..3 over {00, 01, FF}: 40 keys, each a prefix of others. */
    static const unsigned char alphabet[] = {0x00, 0x01, 0xFF};
    unsigned char key[3];
    for (size_t len = 0; len <= 3; len++) {
        size_t count = 1;
        for (size_t i = 0; i < len; i++)
            count *= 3;
        for (size_t c = 0; c < count; c++) {
            size_t x = c;
            for (size_t i = 0; i < len; i++, x /= 3)
                key[i] = alphabet[x % 3];
            dump_add(&universe, key, len, 0);
        }
    }
}

static void universe_prefixes(uint64_t *rng) {
    /* A few hundred short keys over a small alphabet, plus the same behind shared
     * prefixes of 9, 40 and 300 bytes. */
    static const unsigned char alphabet[] = {0x00, 'a', 'b', 0x7F, 0x80, 0xFF};
    unsigned char key[400];
    const size_t prefixes[] = {0, 9, 40, 300};
    for (size_t p = 0; p < 4; p++) {
        memset(key, 'P', prefixes[p]);
        for (int i = 0; i < 150; i++) {
            size_t tail = test_rand(rng) % 7;
            for (size_t j = 0; j < tail; j++)
                key[prefixes[p] + j] = alphabet[test_rand(rng) % sizeof alphabet];
            dump_add(&universe, key, prefixes[p] + tail, 0);
        }
    }
}

static void universe_large(uint64_t *rng) {
    /* Thousands of keys: 8-byte numbers, text with shared prefixes, a few of
     * LARCH_KEY_MAX bytes that differ only near the end. */
    static unsigned char key[LARCH_KEY_MAX];
    for (int i = 0; i < 3000; i++)
        dump_add(&universe, key, key_u64(key, test_rand(rng) % 100000), 0);
    for (int i = 0; i < 1500; i++) {
        int n = snprintf((char *)key, sizeof key, "user/%03d/%s/%llu", (int)(test_rand(rng) % 40),
                         test_rand(rng) % 2 ? "profile" : "settings/notifications",
                         (unsigned long long)(test_rand(rng) % 1000));
        size_t pad = test_rand(rng) % 8 == 0 ? test_rand(rng) % 600 : 0;
        memset(key + n, '.', pad);
        dump_add(&universe, key, (size_t)n + pad, 0);
    }
    memset(key, 'M', sizeof key);
    for (int i = 0; i < 64; i++) {
        key[LARCH_KEY_MAX - 1 - test_rand(rng) % 4] = (unsigned char)test_rand(rng);
        dump_add(&universe, key, LARCH_KEY_MAX - test_rand(rng) % 3, 0);
    }
}

/* ---- what the contract allows an iterator pass across writes to return ---------- */

struct version {
    uint64_t start, val; /* from write number `start` on, until the next version */
    int present;
};

struct history {
    struct version *v;
    size_t n, cap;
};

static struct history *hist; /* one per universe key */
static uint64_t writes;      /* number of writes that changed the index so far */

static void record(size_t id, int present, uint64_t val) {
    struct history *h = &hist[id];
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 4;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        if (!h->v)
            abort();
    }
    h->v[h->n++] = (struct version){++writes, val, present};
}

/* Present with val at some moment from write `since` until now. */
static int held_since(size_t id, uint64_t since, uint64_t val) {
    const struct history *h = &hist[id];
    for (size_t j = h->n; j-- > 0;) {
        if (h->v[j].present && h->v[j].val == val)
            return 1;
        if (h->v[j].start <= since)
            break;
    }
    return 0;
}

/* Present at every moment from write `since` until now. */
static int present_throughout(size_t id, uint64_t since) {
    const struct history *h = &hist[id];
    return h->n && h->v[h->n - 1].present && h->v[h->n - 1].start <= since;
}

/* ---- one run --------------------------------------------------------------------- */

struct run {
    uint64_t seed, rng;
    long step;
    void *t, *m; /* index under test, model */
    void *it, *mit;
    /* The current iterator pass. */
    uint64_t pass_since; /* writes when it began */
    int exact;           /* no write since it began: must match the model */
    size_t *pending;     /* ids passed over while present since pass_since */
    size_t npending, cap_pending;
    int failed;
    long exact_moves, contract_moves, misses_checked;
};

static const struct index_ops *M = &larch_test_ref_ops;

#define EXPECT(r, cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  seed %llu step %ld: ", (unsigned long long)(r)->seed, (r)->step);   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            CHECK(cond);                                                                           \
            (r)->failed = 1;                                                                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static size_t pick(struct run *r) {
    return (size_t)(test_rand(&r->rng) % universe.n);
}

static uint64_t value(struct run *r) {
    switch (test_rand(&r->rng) % 8) {
    case 0:
        return 0;
    case 1:
        return UINT64_MAX;
    default:
        return test_rand(&r->rng) % 1000; /* small: cas often matches */
    }
}

static long id_of(const void *key, size_t len) {
    return dump_find(&universe, key, len);
}

static void after_write(struct run *r, size_t id, int present, uint64_t val) {
    record(id, present, val);
    r->exact = 0;
}

static void op_put(struct run *r, int insert) {
    size_t id = pick(r);
    const struct entry *k = &universe.e[id];
    uint64_t v = value(r), out = 0xA5A5, mout = 0x5A5A;
    int rc =
        insert ? IX->insert(r->t, k->key, k->len, v, &out) : IX->put(r->t, k->key, k->len, v, &out);
    int mrc =
        insert ? M->insert(r->m, k->key, k->len, v, &mout) : M->put(r->m, k->key, k->len, v, &mout);
    EXPECT(r, rc == mrc, "%s of key %zu returned %d, model %d", insert ? "insert" : "put", id, rc,
           mrc);
    EXPECT(r, rc != LARCH_EXISTS || out == mout, "%s of present key %zu gave %llu, model %llu",
           insert ? "insert" : "put", id, (unsigned long long)out, (unsigned long long)mout);
    if (rc == LARCH_OK || (rc == LARCH_EXISTS && !insert))
        after_write(r, id, 1, v);
}

static void op_get(struct run *r) {
    size_t id = pick(r);
    const struct entry *k = &universe.e[id];
    uint64_t v = 1, mv = 2;
    int rc = IX->get(r->t, k->key, k->len, &v), mrc = M->get(r->m, k->key, k->len, &mv);
    EXPECT(r, rc == mrc, "get of key %zu returned %d, model %d", id, rc, mrc);
    EXPECT(r, rc != LARCH_OK || v == mv, "get of key %zu gave %llu, model %llu", id,
           (unsigned long long)v, (unsigned long long)mv);
}

static void op_del(struct run *r) {
    size_t id = pick(r);
    const struct entry *k = &universe.e[id];
    uint64_t v = 1, mv = 2;
    int rc = IX->del(r->t, k->key, k->len, &v), mrc = M->del(r->m, k->key, k->len, &mv);
    EXPECT(r, rc == mrc, "del of key %zu returned %d, model %d", id, rc, mrc);
    EXPECT(r, rc != LARCH_OK || v == mv, "del of key %zu gave %llu, model %llu", id,
           (unsigned long long)v, (unsigned long long)mv);
    if (rc == LARCH_OK)
        after_write(r, id, 0, 0);
}

static void op_cas(struct run *r) {
    size_t id = pick(r);
    const struct entry *k = &universe.e[id];
    uint64_t expected = value(r), desired = value(r), cur = 1, mcur = 2;
    if (test_rand(&r->rng) % 2)
        M->get(r->m, k->key, k->len, &expected); /* usually the current value */
    int rc = IX->cas(r->t, k->key, k->len, expected, desired, &cur);
    int mrc = M->cas(r->m, k->key, k->len, expected, desired, &mcur);
    EXPECT(r, rc == mrc, "cas of key %zu returned %d, model %d", id, rc, mrc);
    EXPECT(r, rc != LARCH_EXISTS || cur == mcur, "cas of key %zu gave %llu, model %llu", id,
           (unsigned long long)cur, (unsigned long long)mcur);
    if (rc == LARCH_OK)
        after_write(r, id, 1, desired);
}

static void op_update(struct run *r) {
    size_t id = pick(r);
    const struct entry *k = &universe.e[id];
    static const int actions[] = {LARCH_UPDATE_KEEP,
                                  LARCH_UPDATE_STORE,
                                  LARCH_UPDATE_STORE,
                                  LARCH_UPDATE_DELETE,
                                  LARCH_UPDATE_DELETE,
                                  3,
                                  -1};
    int action = actions[test_rand(&r->rng) % 7];
    uint64_t store = value(r);
    struct update_call c = {action, 0, -1, store, 0}, mc = c;
    int present = M->get(r->m, k->key, k->len, NULL) == LARCH_OK;
    int rc = IX->update(r->t, k->key, k->len, update_call_fn, &c);
    int mrc = M->update(r->m, k->key, k->len, update_call_fn, &mc);
    EXPECT(r, rc == mrc, "update (action %d) of key %zu returned %d, model %d", action, id, rc,
           mrc);
    EXPECT(r, c.calls == 1, "update's fn ran %d times", c.calls);
    EXPECT(r, c.present == mc.present && c.seen == mc.seen,
           "update's fn saw present %d value %llu, model %d %llu", c.present,
           (unsigned long long)c.seen, mc.present, (unsigned long long)mc.seen);
    if (action == LARCH_UPDATE_STORE)
        after_write(r, id, 1, store);
    else if (action == LARCH_UPDATE_DELETE && present)
        after_write(r, id, 0, 0);
}

/* A bound: a universe key, one cut short or extended, or random bytes (sometimes
 * longer than LARCH_KEY_MAX). */
static size_t bound(struct run *r, unsigned char *out) {
    const struct entry *e = &universe.e[pick(r)];
    memcpy(out, e->key, e->len);
    switch (test_rand(&r->rng) % 5) {
    case 0:
    case 1:
        return e->len;
    case 2:
        return e->len ? test_rand(&r->rng) % e->len : 0;
    case 3:
        out[e->len] = (unsigned char)(test_rand(&r->rng) % 3 ? 0 : 0xFF);
        return e->len + 1;
    default:
        memset(out + e->len, 0xFF, LARCH_KEY_MAX + 1);
        return e->len + LARCH_KEY_MAX + 1;
    }
}

struct limited {
    struct dump got;
    long limit;
};

static int collect_limited(void *ctx, const void *key, size_t len, uint64_t val) {
    struct limited *l = ctx;
    dump_add(&l->got, key, len, val);
    return l->limit && (long)l->got.n >= l->limit;
}

static void op_scan(struct run *r) {
    static unsigned char lo[2 * LARCH_KEY_MAX + 2], hi[2 * LARCH_KEY_MAX + 2];
    size_t lolen = test_rand(&r->rng) % 8 ? bound(r, lo) : 0;
    size_t hilen = bound(r, hi);
    int unbounded = test_rand(&r->rng) % 3 == 0;
    long limit = test_rand(&r->rng) % 2 ? (long)(test_rand(&r->rng) % 20) : 0;
    struct limited a = {.limit = limit}, b = {.limit = limit};
    long n = IX->scan(r->t, lo, lolen, unbounded ? NULL : hi, hilen, collect_limited, &a);
    long mn = M->scan(r->m, lo, lolen, unbounded ? NULL : hi, hilen, collect_limited, &b);
    int same = n == mn && dump_equal(&a.got, &b.got, "model scan");
    dump_free(&a.got);
    dump_free(&b.got);
    EXPECT(r, same, "scan returned %ld, model %ld", n, mn);
}

/* ---- iterator passes ------------------------------------------------------------- */

static void push_pending(struct run *r, size_t id) {
    if (r->npending == r->cap_pending) {
        r->cap_pending = r->cap_pending ? 2 * r->cap_pending : 64;
        r->pending = realloc(r->pending, r->cap_pending * sizeof *r->pending);
        if (!r->pending)
            abort();
    }
    r->pending[r->npending++] = id;
}

/* The pass ends: a key passed over that stayed present the whole pass is a miss. */
static void end_pass(struct run *r) {
    r->misses_checked += (long)r->npending;
    for (size_t i = 0; i < r->npending; i++)
        EXPECT(r, !present_throughout(r->pending[i], r->pass_since),
               "iterator skipped key %zu, present throughout the pass", r->pending[i]);
    r->npending = 0;
}

/* The index's iterator and the model's are on the same entry (or both invalid). */
static void expect_same_position(struct run *r, const char *move) {
    int valid = IX->iter_valid(r->it), mvalid = M->iter_valid(r->mit);
    EXPECT(r, valid == mvalid, "%s: iterator valid %d, model %d", move, valid, mvalid);
    EXPECT(r, IX->iter_status(r->it) == LARCH_OK, "%s: iterator status %d", move,
           IX->iter_status(r->it));
    size_t len = 1, mlen = 2;
    const void *k = IX->iter_key(r->it, &len), *mk = M->iter_key(r->mit, &mlen);
    if (!valid) {
        EXPECT(r, k == NULL && len == 0 && IX->iter_value(r->it) == 0,
               "%s: an invalid iterator answered a key or value", move);
        return;
    }
    EXPECT(r, k != NULL && key_cmp(k, len, mk, mlen) == 0, "%s: iterator on key %ld, model %ld",
           move, id_of(k, len), id_of(mk, mlen));
    EXPECT(r, IX->iter_value(r->it) == M->iter_value(r->mit), "%s: value %llu, model %llu", move,
           (unsigned long long)IX->iter_value(r->it), (unsigned long long)M->iter_value(r->mit));
}

static void op_seek(struct run *r) {
    static unsigned char key[2 * LARCH_KEY_MAX + 2];
    end_pass(r);
    if (r->failed)
        return;
    if (test_rand(&r->rng) % 50 == 0) { /* now and then, a fresh iterator */
        IX->iter_free(r->it);
        r->it = IX->iter_new(r->t);
        EXPECT(r, r->it != NULL, "iter_new failed");
    }
    const char *what;
    size_t len;
    switch (test_rand(&r->rng) % 4) {
    case 0:
        what = "seek_first";
        IX->iter_seek_first(r->it), M->iter_seek_first(r->mit);
        break;
    case 1:
        what = "seek_last";
        IX->iter_seek_last(r->it), M->iter_seek_last(r->mit);
        break;
    case 2:
        what = "seek";
        len = bound(r, key);
        IX->iter_seek(r->it, key, len), M->iter_seek(r->mit, key, len);
        break;
    default:
        what = "seek_for_prev";
        len = bound(r, key);
        IX->iter_seek_for_prev(r->it, key, len), M->iter_seek_for_prev(r->mit, key, len);
        break;
    }
    r->pass_since = writes;
    r->exact = 1;
    expect_same_position(r, what);
}

static void op_move(struct run *r) {
    int forward = test_rand(&r->rng) % 2;
    const char *what = forward ? "next" : "prev";
    if (r->exact) {
        r->exact_moves++;
        if (forward)
            IX->iter_next(r->it), M->iter_next(r->mit);
        else
            IX->iter_prev(r->it), M->iter_prev(r->mit);
        expect_same_position(r, what);
        return;
    }
    /* Writes happened during this pass: hold the move to the contract. */
    r->contract_moves++;
    if (!IX->iter_valid(r->it)) {
        forward ? IX->iter_next(r->it) : IX->iter_prev(r->it);
        EXPECT(r, !IX->iter_valid(r->it), "%s revived an invalid iterator", what);
        return;
    }
    size_t len = 0;
    const void *k = IX->iter_key(r->it, &len);
    long from = id_of(k, len);
    EXPECT(r, from >= 0, "iterator on a key outside the universe");
    forward ? IX->iter_next(r->it) : IX->iter_prev(r->it);
    EXPECT(r, IX->iter_status(r->it) == LARCH_OK, "%s: status %d", what, IX->iter_status(r->it));
    long to = forward ? (long)universe.n : -1;
    if (IX->iter_valid(r->it)) {
        k = IX->iter_key(r->it, &len);
        to = id_of(k, len);
        uint64_t v = IX->iter_value(r->it);
        EXPECT(r, to >= 0, "%s returned a key never inserted", what);
        EXPECT(r, forward ? to > from : to < from, "%s went from key %ld to key %ld", what, from,
               to);
        EXPECT(r, held_since((size_t)to, r->pass_since, v),
               "%s returned key %ld with value %llu, which it did not hold during the pass", what,
               to, (unsigned long long)v);
    } else {
        size_t ignored;
        EXPECT(r, IX->iter_key(r->it, &ignored) == NULL && IX->iter_value(r->it) == 0,
               "an invalid iterator answered a key or value");
    }
    for (long id = forward ? from + 1 : from - 1; id != to; id += forward ? 1 : -1)
        if (present_throughout((size_t)id, r->pass_since))
            push_pending(r, (size_t)id);
}

/* A read-only pass: a seek and a run of moves with no write in between, which must
 * match the model move for move. */
static void op_pass(struct run *r) {
    op_seek(r);
    for (long n = (long)(test_rand(&r->rng) % 40); n > 0 && !r->failed; n--)
        op_move(r);
}

/* ---- batches and runs ------------------------------------------------------------ */

static void compare_all(struct run *r) {
    struct dump expected = {0};
    int ok = dump_scan(M, r->m, &expected) && index_matches(IX, r->t, &expected, "model");
    dump_free(&expected);
    EXPECT(r, ok, "contents differ from the model after a batch");
}

static void run_model(const char *name, void (*make_universe)(uint64_t *), uint64_t seed,
                      long steps) {
    struct run r = {.seed = seed, .rng = seed * 0x9E3779B97F4A7C15ULL + 1};
    make_universe(&r.rng);
    dump_sort_unique(&universe);
    hist = calloc(universe.n, sizeof *hist);
    writes = 0;
    r.t = IX->new_();
    r.m = M->new_();
    REQUIRE(hist && r.t && r.m);
    r.it = IX->iter_new(r.t);
    r.mit = M->iter_new(r.m);
    REQUIRE(r.it && r.mit);
    fprintf(stderr, "  %s universe (%zu keys), seed %llu, %ld steps\n", name, universe.n,
            (unsigned long long)seed, steps);
    const long batch = 500;
    for (r.step = 0; r.step < steps && !r.failed; r.step++) {
        /* Alternate phases that grow and shrink the index, so that nodes split
         * and merge again and again. */
        long phase = universe.n > 2000 ? (long)universe.n : 2000;
        int growing = r.step / phase % 2 == 0;
        unsigned op = (unsigned)(test_rand(&r.rng) % 100);
        if (op < (growing ? 30u : 10u))
            op_put(&r, 0);
        else if (op < (growing ? 40u : 15u))
            op_put(&r, 1);
        else if (op < 45)
            op_del(&r);
        else if (op < 55)
            op_get(&r);
        else if (op < 62)
            op_cas(&r);
        else if (op < 72)
            op_update(&r);
        else if (op < 77)
            op_scan(&r);
        else if (op < 81)
            op_seek(&r);
        else if (op < 83)
            op_pass(&r);
        else
            op_move(&r);
        if (!r.failed && (r.step + 1) % batch == 0)
            compare_all(&r);
    }
    if (!r.failed)
        end_pass(&r);
    if (!r.failed)
        compare_all(&r);
    fprintf(stderr,
            "    iterator moves: %ld matched the model exactly, %ld held to the contract "
            "across writes (%ld keys checked for a miss)\n",
            r.exact_moves, r.contract_moves, r.misses_checked);
    IX->iter_free(r.it);
    M->iter_free(r.mit);
    IX->free_(r.t);
    M->free_(r.m);
    for (size_t i = 0; i < universe.n; i++)
        free(hist[i].v);
    free(hist);
    free(r.pending);
    dump_free(&universe);
}

static long steps(long n) {
    return (under_sanitizer() ? n / 5 : n) * stress_scale();
}

static void random_operations_on_a_tiny_universe_of_prefixes_match_the_model(void) {
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_model("tiny", universe_tiny, seed, steps(20000));
}

static void random_operations_on_keys_with_shared_prefixes_match_the_model(void) {
    for (uint64_t seed = 11; seed <= 13; seed++)
        run_model("prefixes", universe_prefixes, seed, steps(20000));
}

static void random_operations_on_thousands_of_keys_match_the_model(void) {
    for (uint64_t seed = 21; seed <= 22; seed++)
        run_model("large", universe_large, seed, steps(60000));
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(random_operations_on_a_tiny_universe_of_prefixes_match_the_model);
        RUN(random_operations_on_keys_with_shared_prefixes_match_the_model);
        RUN(random_operations_on_thousands_of_keys_match_the_model);
    }
    return harness_finish();
}
