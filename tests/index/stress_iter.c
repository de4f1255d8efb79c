/* Iterator and scan guarantees under concurrent writers, in both directions: within
 * a pass keys come strictly in order (so none twice), every key present for the
 * whole pass is returned, a key never inserted never is, and every value is one
 * that was stored under that key. Keys come in three kinds, interleaved in key
 * order: stable (inserted before, never touched), churned (put, deleted, updated,
 * cas'd by the writers all along) and never inserted. */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "harness.h"
#include "index_test.h"

enum { NKEYS = 4000, WRITERS = 3 };

static void *tree;
static atomic_int readers_left;

enum kind { STABLE, CHURNED, NEVER };

static enum kind kind_of(uint32_t id) {
    return id % 4 == 0 ? STABLE : id % 4 == 3 ? NEVER : CHURNED;
}

/* Key `id`: 2 big-endian bytes, then a tail of 0..199 bytes, so keys sort by id and
 * nodes hold few of them. */
static size_t key_of(uint32_t id, unsigned char *out) {
    size_t tail = id * 53 % 200;
    out[0] = (unsigned char)(id >> 8), out[1] = (unsigned char)id;
    memset(out + 2, 'a' + (int)(id % 26), tail);
    return 2 + tail;
}

/* The id of a key, or -1 if no key_of gives it. */
static long id_of(const unsigned char *key, size_t len) {
    if (len < 2)
        return -1;
    uint32_t id = (uint32_t)key[0] << 8 | key[1];
    unsigned char expect[2 + 200];
    if (id >= NKEYS || key_of(id, expect) != len || memcmp(expect, key, len) != 0)
        return -1;
    return id;
}

/* Values carry their key's id: a value read under another key was never stored
 * there. Stable keys hold exactly their id. */
static uint64_t value_of(uint32_t id, uint64_t serial) {
    return (uint64_t)id << 40 | serial;
}

/* ---- writers --------------------------------------------------------------------- */

static int bump(void *ctx, uint64_t *val, int present) {
    uint64_t *serial = ctx;
    (void)present;
    *val = (*val & ~((1ULL << 40) - 1)) | *serial;
    return present ? LARCH_UPDATE_STORE : LARCH_UPDATE_KEEP;
}

static void *churn(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg, serial = 0;
    unsigned char key[2 + 200];
    while (atomic_load_explicit(&readers_left, memory_order_relaxed) > 0) {
        uint32_t id = (uint32_t)(test_rand(&rng) % NKEYS);
        if (kind_of(id) != CHURNED)
            continue;
        size_t len = key_of(id, key);
        uint64_t v = value_of(id, ++serial & 0xFFFFFFFFFF), cur = 0;
        switch (test_rand(&rng) % 6) {
        case 0:
        case 1:
            IX->put(tree, key, len, v, NULL);
            break;
        case 2:
            IX->insert(tree, key, len, v, NULL);
            break;
        case 3:
        case 4:
            IX->del(tree, key, len, NULL);
            break;
        default:
            if (test_rand(&rng) % 2) {
                IX->update(tree, key, len, bump, &serial);
            } else if (IX->get(tree, key, len, &cur) == LARCH_OK) {
                IX->cas(tree, key, len, cur, v, NULL);
            }
            break;
        }
    }
    return NULL;
}

/* ---- what a pass must see -------------------------------------------------------- */

struct pass {
    int forward;
    long last;     /* id of the last key returned, -1 before the first */
    long stable;   /* stable keys returned */
    long returned; /* keys returned */
    const char *problem;
};

/* One key of a pass; returns 0 and sets problem on a broken guarantee. */
static int see(struct pass *p, const void *key, size_t len, uint64_t val) {
    long id = id_of(key, len);
    if (id < 0 || kind_of((uint32_t)id) == NEVER)
        p->problem = "a key never inserted";
    else if (p->last >= 0 && (p->forward ? id <= p->last : id >= p->last))
        p->problem = "a key out of order (or twice)";
    else if (val >> 40 != (uint64_t)id)
        p->problem = "a value never stored under this key";
    else if (kind_of((uint32_t)id) == STABLE && val != value_of((uint32_t)id, 0))
        p->problem = "a stable key with another value";
    else {
        p->last = id;
        p->stable += kind_of((uint32_t)id) == STABLE;
        p->returned++;
        return 1;
    }
    return 0;
}

/* Stable ids in [from, to]. */
static long stable_between(long from, long to) {
    if (from > to)
        return 0;
    return to / 4 - (from + 3) / 4 + 1;
}

/* The pass covered [from, to] of the id space: every stable key there came out. */
static void expect_all_stable(struct pass *p, long from, long to) {
    if (!p->problem && p->stable != stable_between(from, to))
        p->problem = "a key present throughout the pass was skipped";
}

/* ---- readers --------------------------------------------------------------------- */

struct reader {
    int style;
    long passes, problems, keys;
    uint64_t rng;
};

static void report(struct reader *r, struct pass *p, const char *what) {
    if (p->problem && r->problems++ < 5)
        fprintf(stderr, "  %s pass: %s (after id %ld)\n", what, p->problem, p->last);
}

static void iterate_pass(struct reader *r, void *it) {
    unsigned char bound[2 + 200 + 1];
    int forward = r->style == 0 || (r->style == 2 && test_rand(&r->rng) % 2);
    struct pass p = {.forward = forward, .last = -1};
    long from, limit = LONG_MAX;
    if (r->style < 2) { /* whole passes */
        from = forward ? 0 : NKEYS - 1;
        forward ? IX->iter_seek_first(it) : IX->iter_seek_last(it);
    } else { /* from a random bound, which may be a key or fall between keys */
        uint32_t id = (uint32_t)(test_rand(&r->rng) % NKEYS);
        size_t len = key_of(id, bound);
        int between = test_rand(&r->rng) % 2;
        if (between)
            bound[len++] = 0; /* just after key id */
        from = forward ? (long)id + between : (long)id;
        limit = (long)(test_rand(&r->rng) % 200);
        forward ? IX->iter_seek(it, bound, len) : IX->iter_seek_for_prev(it, bound, len);
    }
    long n = 0;
    while (IX->iter_valid(it) && n++ < limit) {
        size_t len = 0;
        const void *key = IX->iter_key(it, &len);
        if (!see(&p, key, len, IX->iter_value(it)))
            break;
        forward ? IX->iter_next(it) : IX->iter_prev(it);
    }
    if (!p.problem && IX->iter_status(it) != LARCH_OK)
        p.problem = "an iterator error";
    int ended = !IX->iter_valid(it);
    if (!ended && p.returned == 0)
        return; /* stopped before the first key: covered nothing */
    if (forward)
        expect_all_stable(&p, from, ended ? NKEYS - 1 : p.last);
    else
        expect_all_stable(&p, ended ? 0 : p.last, from);
    r->keys += p.returned;
    report(r, &p, forward ? "forward" : "backward");
}

struct scan_state {
    struct pass p;
    long limit;
};

static int scan_see(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_state *s = ctx;
    return !see(&s->p, key, len, val) || s->p.returned == s->limit;
}

static void scan_pass(struct reader *r) {
    unsigned char lo[2 + 200], hi[2 + 200];
    uint32_t a = (uint32_t)(test_rand(&r->rng) % NKEYS), b = (uint32_t)(test_rand(&r->rng) % NKEYS);
    if (a > b) {
        uint32_t x = a;
        a = b;
        b = x;
    }
    struct scan_state s = {.p = {.forward = 1, .last = -1}, .limit = -1};
    long n = IX->scan(tree, lo, key_of(a, lo), hi, key_of(b, hi), scan_see, &s);
    if (!s.p.problem && n != s.p.returned)
        s.p.problem = "scan's count differs from its calls";
    /* [a, b): every stable key from a up to (not including) b. */
    expect_all_stable(&s.p, a, (long)b - 1);
    r->keys += s.p.returned;
    report(r, &s.p, "scan");
}

static void *read_passes(void *arg) {
    struct reader *r = arg;
    void *it = IX->iter_new(tree);
    if (!it) {
        r->problems++;
        atomic_fetch_sub(&readers_left, 1);
        return NULL;
    }
    for (long i = 0; i < r->passes; i++) {
        if (r->style == 3)
            scan_pass(r);
        else
            iterate_pass(r, it);
    }
    IX->iter_free(it);
    atomic_fetch_sub(&readers_left, 1);
    return NULL;
}

static void spawn_writer(pthread_t *th, uint64_t seed) {
    pthread_create(th, NULL, churn, (void *)(uintptr_t)seed);
}

static void run_readers(struct reader *readers, int n) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    unsigned char key[2 + 200];
    for (uint32_t id = 0; id < NKEYS; id++) {
        if (kind_of(id) == STABLE)
            IX->put(tree, key, key_of(id, key), value_of(id, 0), NULL);
        else if (kind_of(id) == CHURNED && id % 3 == 0)
            IX->put(tree, key, key_of(id, key), value_of(id, 1), NULL);
    }
    atomic_store(&readers_left, n);
    pthread_t w[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        spawn_writer(&w[i], 1234 + (uint64_t)i);
    run_threads(n, read_passes, readers, sizeof readers[0]);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    long problems = 0, keys = 0, passes = 0;
    for (int i = 0; i < n; i++) {
        problems += readers[i].problems;
        keys += readers[i].keys;
        passes += readers[i].passes;
    }
    fprintf(stderr, "  %ld passes returned %ld keys while %d writers churned\n", passes, keys,
            WRITERS);
    CHECK_EQ(problems, 0);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->free_(tree);
}

static long passes(long n) {
    return (under_sanitizer() ? n / 5 : n) * stress_scale();
}

static void whole_passes_forward_under_churn_keep_every_guarantee(void) {
    struct reader r[2] = {{.style = 0, .passes = passes(100), .rng = 1},
                          {.style = 0, .passes = passes(100), .rng = 2}};
    run_readers(r, 2);
}

static void whole_passes_backward_under_churn_keep_every_guarantee(void) {
    struct reader r[2] = {{.style = 1, .passes = passes(100), .rng = 3},
                          {.style = 1, .passes = passes(100), .rng = 4}};
    run_readers(r, 2);
}

static void short_passes_from_random_seeks_both_ways_keep_every_guarantee(void) {
    struct reader r[2] = {{.style = 2, .passes = passes(3000), .rng = 5},
                          {.style = 2, .passes = passes(3000), .rng = 6}};
    run_readers(r, 2);
}

static void scans_under_churn_keep_every_guarantee(void) {
    struct reader r[2] = {{.style = 3, .passes = passes(400), .rng = 7},
                          {.style = 3, .passes = passes(400), .rng = 8}};
    run_readers(r, 2);
}

/* A pass that dawdles, yielding every few steps, for a whole pass, while writers
 * churn: the iterator's place survives whatever happens to the nodes around it. */
static void *slow_pass(void *arg) {
    struct reader *r = arg;
    void *it = IX->iter_new(tree);
    for (long i = 0; it && i < r->passes; i++) {
        int forward = (int)(i % 2 == 0);
        struct pass p = {.forward = forward, .last = -1};
        forward ? IX->iter_seek_first(it) : IX->iter_seek_last(it);
        while (IX->iter_valid(it)) {
            size_t len = 0;
            const void *key = IX->iter_key(it, &len);
            if (!see(&p, key, len, IX->iter_value(it)))
                break;
            if (p.returned % 16 == 0)
                sched_yield();
            forward ? IX->iter_next(it) : IX->iter_prev(it);
        }
        expect_all_stable(&p, 0, NKEYS - 1);
        r->keys += p.returned;
        report(r, &p, forward ? "slow forward" : "slow backward");
    }
    r->problems += it == NULL;
    IX->iter_free(it);
    atomic_fetch_sub(&readers_left, 1);
    return NULL;
}

static void a_slow_pass_survives_the_churn_around_it(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    unsigned char key[2 + 200];
    for (uint32_t id = 0; id < NKEYS; id += 4)
        IX->put(tree, key, key_of(id, key), value_of(id, 0), NULL);
    atomic_store(&readers_left, 1);
    pthread_t w[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        spawn_writer(&w[i], 77 + (uint64_t)i);
    struct reader r = {.passes = 2 * stress_scale()};
    run_threads(1, slow_pass, &r, sizeof r);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    fprintf(stderr, "  %ld keys in %ld slow passes\n", r.keys, r.passes);
    CHECK_EQ(r.problems, 0);
    IX->free_(tree);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(whole_passes_forward_under_churn_keep_every_guarantee);
        RUN(whole_passes_backward_under_churn_keep_every_guarantee);
        RUN(short_passes_from_random_seeks_both_ways_keep_every_guarantee);
        RUN(scans_under_churn_keep_every_guarantee);
        RUN(a_slow_pass_survives_the_churn_around_it);
    }
    return harness_finish();
}
