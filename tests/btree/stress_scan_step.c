/* Scans that step from a finished leaf to its parent's next child, resume inside a
 * leaf, or fall back to a descent or to the locked path, while writers split, merge
 * and redistribute the leaves under them: every scan of [lo, hi) returns keys
 * strictly ascending and inside the bounds, every stable key (inserted first, never
 * touched) there, no key never inserted, and values that name their key. Iterators
 * that turn back and forth (their batches growing while they go one way) keep the
 * same guarantees. Keys are u64s (fixed-format leaves) or long variable-length keys
 * (slotted leaves, a tree of three levels). Readers yield now and then inside
 * their callbacks, so that the tree changes between one batch and the next. */
#define _GNU_SOURCE
#include <larch/btree.h>

#include <pthread.h>
#include <sched.h>

#include "btree/tree.h"
#include "harness.h"

enum { WRITERS = 3, READERS = 2 };

/* Every 8th id is stable, every 8th + 5 never inserted, the rest churned. */
enum kind { STABLE, CHURNED, NEVER };

static enum kind kind_of(uint32_t id) {
    return id % 8 == 0 ? STABLE : id % 8 == 5 ? NEVER : CHURNED;
}

/* ---- keys ------------------------------------------------------------------------ */

enum { FILL = 120, TAIL_MAX = 64, KEY_BUF = 2 + FILL + 2 + TAIL_MAX + 1 };

struct config {
    bool fixed;   /* 8-byte keys, else long variable-length ones */
    uint32_t ids; /* ids 0 .. ids - 1 */
    unsigned attempts;
    long passes;
};

static struct config cfg;
static larch_btree *tree;
static atomic_int readers_left;
/* Bit h: a writer saw the tree h levels high. */
static atomic_uint heights_seen;
/* Writers that finished a burst: readers start once all have, so that they run
 * beside the writers however the threads are scheduled. */
static atomic_int writers_started;

/* Fixed: the big-endian u64 id, so that neighbours share 7 bytes and a separator
 * is often a whole key (a fence equal to the first key of the leaf above it: a
 * backward step over it must exclude it). Variable: the group id / 8 (2
 * bytes), FILL filler bytes, the id (2 bytes) and a tail of 0..63 bytes: keys of a
 * group share 122 bytes or more, so separators between them are long and inner
 * nodes hold few. Both sort by id. */
static size_t key_of(uint32_t id, unsigned char *out) {
    if (cfg.fixed) {
        for (int i = 0; i < 8; i++)
            out[i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
        return 8;
    }
    size_t tail = id * 37 % TAIL_MAX;
    out[0] = (unsigned char)(id >> 11), out[1] = (unsigned char)(id >> 3);
    memset(out + 2, 'f', FILL);
    out[2 + FILL] = (unsigned char)(id >> 8), out[3 + FILL] = (unsigned char)id;
    memset(out + 4 + FILL, 'a' + (int)(id % 26), tail);
    return 4 + FILL + tail;
}

/* A bound just above key id and below key id + 1. */
static size_t key_after(uint32_t id, unsigned char *out) {
    size_t len = key_of(id, out);
    out[len] = 0;
    return len + 1;
}

/* The id of a key, or -1 if key_of gives no such key. */
static long id_of(const unsigned char *key, size_t len) {
    unsigned char expect[KEY_BUF];
    uint32_t id;
    if (cfg.fixed) {
        if (len != 8)
            return -1;
        uint64_t w = 0;
        for (int i = 0; i < 8; i++)
            w = w << 8 | key[i];
        if (w >= cfg.ids)
            return -1;
        id = (uint32_t)w;
    } else {
        if (len < 4 + FILL)
            return -1;
        id = (uint32_t)key[2 + FILL] << 8 | key[3 + FILL];
    }
    if (id >= cfg.ids || key_of(id, expect) != len || memcmp(expect, key, len) != 0)
        return -1;
    return id;
}

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

/* A value names its key: the id above bit 32, a writer's serial below. Stable keys
 * hold their id alone. */
static uint64_t value_of(uint32_t id, uint32_t serial) {
    return (uint64_t)id << 32 | serial;
}

/* Stable ids in [from, to). */
static long stable_in(long from, long to) {
    if (from < 0)
        from = 0;
    if (to > (long)cfg.ids)
        to = cfg.ids;
    if (from >= to)
        return 0;
    return (to - 1) / 8 - (from + 7) / 8 + 1;
}

/* ---- writers ----------------------------------------------------------------------- */

/* Bursts over a window of ids: every churned key of it deleted (its leaves go
 * underfull and merge, inner nodes with them), or every one inserted (leaves
 * split or hand entries to a sibling, the root may grow), and single puts and
 * deletes in between. */
static void *churn(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    uint32_t serial = 0;
    unsigned started = 0;
    unsigned char key[KEY_BUF];
    while (atomic_load_explicit(&readers_left, memory_order_relaxed) > 0) {
        /* A small tree is filled and emptied whole, so that its root splits and
         * collapses. */
        bool whole = cfg.ids <= 512;
        uint32_t width = whole ? cfg.ids : 16 + (uint32_t)(test_rand(&rng) % 240);
        uint32_t from = whole ? 0 : (uint32_t)(test_rand(&rng) % cfg.ids);
        unsigned what = (unsigned)(test_rand(&rng) % 4);
        for (uint32_t id = from; id < from + width && id < cfg.ids; id++) {
            if (kind_of(id) != CHURNED || (what >= 2 && test_rand(&rng) % 4))
                continue;
            size_t len = key_of(id, key);
            if (what == 0 || (what >= 2 && test_rand(&rng) % 2))
                larch_btree_del(tree, key, len, NULL);
            else
                larch_btree_put(tree, key, len, value_of(id, ++serial), NULL);
        }
        if (!started++)
            atomic_fetch_add_explicit(&writers_started, 1, memory_order_relaxed);
        int h = larch_btree_height(tree);
        atomic_fetch_or_explicit(&heights_seen, 1u << (h < 8 ? h : 8), memory_order_relaxed);
    }
    return NULL;
}

/* ---- what a reader checks ---------------------------------------------------------- */

struct reader {
    uint64_t rng;
    long problems, keys, passes;
};

static void problem(struct reader *r, const char *what, long after) {
    if (r->problems++ < 5)
        fprintf(stderr, "  %s (after id %ld)\n", what, after);
}

/* A key handed out: its id, or -1 (and a problem) if it was never inserted or its
 * value names another key. */
static long check_entry(struct reader *r, const void *key, size_t len, uint64_t val, long last) {
    long id = id_of(key, len);
    if (id < 0 || kind_of((uint32_t)id) == NEVER) {
        problem(r, "a key never inserted", last);
        return -1;
    }
    if (val >> 32 != (uint64_t)id || (kind_of((uint32_t)id) == STABLE && val != value_of(id, 0))) {
        problem(r, "a value not stored under its key", id);
        return -1;
    }
    return id;
}

/* Give the writers a turn now and then, so that the tree changes between one
 * batch and the next. */
static void dawdle(struct reader *r) {
    if (test_rand(&r->rng) % 32 == 0)
        sched_yield();
}

struct scan_state {
    struct reader *r;
    const unsigned char *lo, *hi;
    size_t lolen, hilen;
    long last, stable, returned, limit;
    bool broken;
};

static int scan_see(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_state *s = ctx;
    long id = check_entry(s->r, key, len, val, s->last);
    if (id < 0) {
        s->broken = true;
        return 1;
    }
    if ((s->lo && key_cmp(key, len, s->lo, s->lolen) < 0) ||
        (s->hi && key_cmp(key, len, s->hi, s->hilen) >= 0)) {
        problem(s->r, "a key outside [lo, hi)", id);
        s->broken = true;
        return 1;
    }
    if (s->last >= 0 && id <= s->last) {
        problem(s->r, "a key out of order or twice", s->last);
        s->broken = true;
        return 1;
    }
    s->last = id;
    s->stable += kind_of((uint32_t)id) == STABLE;
    s->returned++;
    dawdle(s->r);
    return s->returned == s->limit;
}

/* A bound near id: the key itself or just above it (or none, now and then). */
static size_t pick_bound(struct reader *r, uint32_t id, unsigned char *out, long *first_id) {
    if (test_rand(&r->rng) % 2) {
        *first_id = id;
        return key_of(id, out);
    }
    *first_id = id + 1;
    return key_after(id, out);
}

static void scan_pass(struct reader *r) {
    unsigned char lo[KEY_BUF], hi[KEY_BUF];
    uint32_t a = (uint32_t)(test_rand(&r->rng) % cfg.ids);
    uint32_t b = a + (uint32_t)(test_rand(&r->rng) % (cfg.ids / 2));
    long from = 0, to = cfg.ids; /* ids [from, to) lie in [lo, hi) */
    struct scan_state s = {.r = r, .last = -1, .limit = -1};
    unsigned shape = (unsigned)(test_rand(&r->rng) % 8);
    if (shape != 0) {
        s.lo = lo;
        s.lolen = pick_bound(r, a, lo, &from);
    }
    if (shape != 1 && b < cfg.ids) {
        s.hi = hi;
        s.hilen = pick_bound(r, b, hi, &to);
    }
    if (shape == 2)
        s.limit = 1 + (long)(test_rand(&r->rng) % 200); /* fn stops the scan */
    long n = larch_btree_scan(tree, s.lo, s.lolen, s.hi, s.hilen, scan_see, &s);
    r->keys += s.returned;
    if (s.broken)
        return;
    if (n != s.returned)
        problem(r, "the scan's count differs from its calls", s.last);
    if (s.returned == s.limit)
        to = s.last + 1;
    if (s.stable != stable_in(from, to))
        problem(r, "a stable key skipped", s.last);
}

/* A stable id strictly between ids a and b (either order), or -1. */
static long stable_between(long a, long b) {
    long lo = a < b ? a : b, hi = a < b ? b : a;
    return stable_in(lo + 1, hi) ? (lo + 8) / 8 * 8 : -1;
}

/* An iterator pass: a seek either way, then moves that go on one way for a while
 * (the batches grow) and turn back for a few steps. Each move must land strictly
 * beyond the key it left in its direction with no stable key skipped in between,
 * and an iterator that ends must have had no stable key left that way. */
static void iterate_pass(struct reader *r, larch_btree_iter *it) {
    unsigned char bound[KEY_BUF];
    uint32_t a = (uint32_t)(test_rand(&r->rng) % cfg.ids);
    long first;
    size_t blen = pick_bound(r, a, bound, &first);
    bool forward = test_rand(&r->rng) % 2;
    long at; /* where the iterator stands, in ids: between keys before the first */
    if (forward) {
        larch_btree_iter_seek(it, bound, blen);
        at = first - 1; /* the seek lands on the first key >= bound */
    } else {
        larch_btree_iter_seek_for_prev(it, bound, blen);
        at = (long)a + 1; /* the seek lands on the last key <= bound */
    }
    long moves = 50 + (long)(test_rand(&r->rng) % 300), run = 0;
    bool seeking = true;
    for (long m = 0; m < moves; m++) {
        if (!larch_btree_iter_valid(it)) {
            if (larch_btree_iter_status(it) != LARCH_OK)
                problem(r, "an iterator error", at);
            else if (forward ? stable_in(at + 1, cfg.ids) : stable_in(0, at))
                problem(r, "an iterator ended before a stable key", at);
            return;
        }
        size_t len;
        const void *key = larch_btree_iter_key(it, &len);
        long id = check_entry(r, key, len, larch_btree_iter_value(it), at);
        if (id < 0)
            return;
        bool beyond = forward ? id > at : id < at;
        /* After a seek, at is one past the bound, so a key on it counts. */
        if (!beyond || (!seeking && stable_between(at, id) >= 0) ||
            (seeking && (forward ? stable_in(at + 1, id) : stable_in(id + 1, at)))) {
            problem(r, beyond ? "a move skipped a stable key" : "a move went the wrong way", at);
            return;
        }
        seeking = false;
        at = id;
        r->keys++;
        dawdle(r);
        /* Turn back after a run of 10..73 moves, for 1..3 moves. */
        if (run-- <= 0) {
            bool turn = test_rand(&r->rng) % 3 == 0;
            run = turn ? 1 + (long)(test_rand(&r->rng) % 3) : 10 + (long)(test_rand(&r->rng) % 64);
            if (turn)
                forward = !forward;
        }
        forward ? larch_btree_iter_next(it) : larch_btree_iter_prev(it);
    }
}

static void *read_passes(void *arg) {
    struct reader *r = arg;
    while (atomic_load_explicit(&writers_started, memory_order_relaxed) < WRITERS)
        sched_yield();
    larch_btree_iter *it = larch_btree_iter_new(tree);
    if (!it)
        r->problems++;
    for (long i = 0; it && i < r->passes; i++) {
        if (i % 4 == 3)
            iterate_pass(r, it);
        else
            scan_pass(r);
    }
    larch_btree_iter_free(it);
    atomic_fetch_sub(&readers_left, 1);
    return NULL;
}

/* ---- runs -------------------------------------------------------------------------- */

static void run(void) {
    larch__bt_optimistic_attempts = cfg.attempts;
    tree = larch_btree_new();
    REQUIRE(tree != NULL);
    unsigned char key[KEY_BUF];
    for (uint32_t id = 0; id < cfg.ids; id++) {
        if (kind_of(id) == STABLE)
            larch_btree_put(tree, key, key_of(id, key), value_of(id, 0), NULL);
        else if (kind_of(id) == CHURNED && id % 2)
            larch_btree_put(tree, key, key_of(id, key), value_of(id, 0), NULL);
    }
    atomic_store(&heights_seen, 1u << larch_btree_height(tree));
    unsigned long restarts_before = atomic_load(&tree->restarts);
    atomic_store(&readers_left, READERS);
    atomic_store(&writers_started, 0);
    pthread_t w[WRITERS], rd[READERS];
    struct reader readers[READERS];
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, churn, (void *)(uintptr_t)(77 + i));
    for (int i = 0; i < READERS; i++) {
        readers[i] = (struct reader){.rng = 1000 + (uint64_t)i, .passes = cfg.passes};
        pthread_create(&rd[i], NULL, read_passes, &readers[i]);
    }
    long problems = 0, keys = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(rd[i], NULL);
        problems += readers[i].problems;
        keys += readers[i].keys;
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    unsigned h = atomic_load(&heights_seen);
    fprintf(stderr, "  %ld keys read, heights %d..%d, %lu restarts\n", keys, __builtin_ctz(h),
            31 - __builtin_clz(h), atomic_load(&tree->restarts) - restarts_before);
    CHECK_EQ(problems, 0);
    CHECK(keys > 0);
    CHECK_EQ(larch_btree_check(tree, stderr), LARCH_OK);
    larch_btree_free(tree);
    larch__bt_optimistic_attempts = 16;
}

static long passes(long n) {
    return (under_sanitizer() ? n / 2 : n) * stress_scale();
}

static void u64_scans_step_between_fixed_leaves_that_split_and_merge(void) {
    cfg = (struct config){.fixed = true, .ids = 4096, .attempts = 16, .passes = passes(40)};
    run();
}

static void long_key_scans_step_between_slotted_leaves_of_a_three_level_tree(void) {
    cfg = (struct config){.fixed = false, .ids = 2400, .attempts = 16, .passes = passes(30)};
    run();
}

/* A tree of one or two leaves: the root leaf splits (the root grows) and the two
 * merge again (the root collapses) under the scans. */
static void scans_over_a_root_that_grows_and_collapses(void) {
    cfg = (struct config){.fixed = true, .ids = 320, .attempts = 16, .passes = passes(60)};
    run();
}

/* One failed attempt sends a read to the locked path, in the middle of scans that
 * had been stepping optimistically: what the scan holds afterwards must not lead
 * it back through a stale parent. */
static void scans_that_fall_back_to_the_locked_path_midway(void) {
    cfg = (struct config){.fixed = true, .ids = 4096, .attempts = 1, .passes = passes(60)};
    run();
    cfg = (struct config){.fixed = false, .ids = 2400, .attempts = 1, .passes = passes(40)};
    run();
}

static void scans_on_the_locked_path_only(void) {
    cfg = (struct config){.fixed = true, .ids = 4096, .attempts = 0, .passes = passes(24)};
    run();
    cfg = (struct config){.fixed = false, .ids = 2400, .attempts = 0, .passes = passes(16)};
    run();
}

int main(void) {
    RUN(u64_scans_step_between_fixed_leaves_that_split_and_merge);
    RUN(long_key_scans_step_between_slotted_leaves_of_a_three_level_tree);
    RUN(scans_over_a_root_that_grows_and_collapses);
    RUN(scans_that_fall_back_to_the_locked_path_midway);
    RUN(scans_on_the_locked_path_only);
    return harness_finish();
}
