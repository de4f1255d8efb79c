/* The soak: every larch structure in the build at once (each tree, and the
 * memtable once it exists) under a mixed workload from more threads than cores,
 * round after round, with the world stopped between rounds to check everything
 * and to measure the memory in use. Each worker owns a slice of every tree's keys
 * and checks each of its own calls exactly against a private model; it also bumps
 * counters every worker shares (update and cas, whose totals must add up), scans
 * and walks other workers' slices (keys in order, values sealed to their keys),
 * keeps an iterator open on every tree for the whole round, retires objects
 * through the epoch collector, and writes versions to the memtable. Inserts and
 * deletes balance, so once the key set is stable the memory in use must stay flat:
 * a leak or a reclamation that falls behind shows as growth from round to round.
 *
 * `make check` runs a few short rounds; `make stress` runs rounds for
 * LARCH_STRESS_SECONDS seconds (the clock only decides when to stop). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <larch/epoch.h>
#ifdef LARCH_TEST_HAVE_MEMTABLE
#include <larch/memtable.h>
#endif

#include "harness.h"
#include "index_test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOAK_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SOAK_SANITIZER_ALLOCATOR 1
#endif
#endif
#ifdef SOAK_SANITIZER_ALLOCATOR
#include <sanitizer/allocator_interface.h>
#endif

enum {
    MAX_TREES = 4,
    MAX_WORKERS = 16,
    SLICE = 1500,  /* keys each worker owns in each tree */
    COUNTERS = 16, /* keys every worker updates */
    ROUNDS_MAX = 100000,
};

static const struct index_ops *trees_ops[MAX_TREES];
static void *trees[MAX_TREES];
static int ntrees, nworkers;
static long ops_per_round;
static pthread_barrier_t round_end, round_start;
static atomic_int quit;
static atomic_long retired_objects, freed_objects;
#ifdef LARCH_TEST_HAVE_MEMTABLE
static larch_memtable *memtable;
static _Atomic uint64_t memtable_seq;
static atomic_long memtable_versions; /* versions put since the memtable was made */
#endif

/* ---- keys and sealed values ------------------------------------------------------ */

/* Owned key (worker w, slot i): 'o', w, i big-endian, then a tail; one key in seven
 * is 200 to 700 bytes, so that nodes split and merge as slices churn. Counters
 * are 'c' then their number. */
static size_t owned_key(int w, unsigned i, unsigned char *out) {
    size_t len = 4 + (i % 7 == 0 ? 200 + i * 37 % 500 : i % 5);
    memset(out, 't', len);
    out[0] = 'o';
    out[1] = (unsigned char)w;
    out[2] = (unsigned char)(i >> 8);
    out[3] = (unsigned char)i;
    return len;
}

static size_t counter_key(unsigned c, unsigned char *out) {
    out[0] = 'c';
    out[1] = (unsigned char)c;
    return 2;
}

static uint32_t key_hash(const void *key, size_t len) {
    const unsigned char *p = key;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* A value that names its key: a value stored under another key, or torn, fails. */
static uint64_t sealed(const void *key, size_t len, uint32_t x) {
    return (uint64_t)key_hash(key, len) << 32 | x;
}

static int seal_ok(const void *key, size_t len, uint64_t v) {
    return (uint32_t)(v >> 32) == key_hash(key, len);
}

/* ---- workers --------------------------------------------------------------------- */

struct slice_model {
    unsigned char present[SLICE];
    uint64_t val[SLICE];
    size_t count;
};

struct worker {
    int id;
    uint64_t rng;
    long bad; /* results that broke the contract */
    long ops; /* calls made, all rounds */
    struct slice_model model[MAX_TREES];
    long added[MAX_TREES][COUNTERS]; /* increments this worker made */
    void *iters[MAX_TREES];          /* open for the whole round */
    unsigned char last_key[MAX_TREES][LARCH_KEY_MAX];
    size_t last_len[MAX_TREES];
    int last_valid[MAX_TREES];
};

static struct worker workers[MAX_WORKERS];

#define BAD(w, ...)                                                                                \
    do {                                                                                           \
        if ((w)->bad++ < 5) {                                                                      \
            fprintf(stderr, "  worker %d: ", (w)->id);                                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

static int add_one(void *ctx, uint64_t *val, int present) {
    (void)ctx;
    *val = present ? *val + 1 : 1;
    return LARCH_UPDATE_STORE;
}

struct seal_update {
    uint64_t store;
    int action;
    int present;
    uint64_t seen;
};

static int store_or_delete(void *ctx, uint64_t *val, int present) {
    struct seal_update *u = ctx;
    u->present = present;
    u->seen = *val;
    *val = u->store;
    return u->action;
}

/* One call on the worker's own slice of tree t, checked exactly. */
static void own_op(struct worker *w, int t, unsigned kind) {
    const struct index_ops *ix = trees_ops[t];
    struct slice_model *m = &w->model[t];
    unsigned char key[LARCH_KEY_MAX];
    unsigned i = (unsigned)(test_rand(&w->rng) % SLICE);
    size_t len = owned_key(w->id, i, key);
    uint64_t v = sealed(key, len, (uint32_t)test_rand(&w->rng)), out = 0;
    int present = m->present[i];
    int rc, grow = 0, shrink = 0;
    switch (kind % 5) {
    case 0:
        rc = ix->put(trees[t], key, len, v, &out);
        if (rc != (present ? LARCH_EXISTS : LARCH_OK) || (present && out != m->val[i]))
            BAD(w, "%s put: %d", ix->name, rc);
        grow = 1;
        break;
    case 1:
        rc = ix->insert(trees[t], key, len, v, &out);
        if (rc != (present ? LARCH_EXISTS : LARCH_OK) || (present && out != m->val[i]))
            BAD(w, "%s insert: %d", ix->name, rc);
        grow = !present;
        break;
    case 2:
    case 3:
        rc = ix->del(trees[t], key, len, &out);
        if (rc != (present ? LARCH_OK : LARCH_NOTFOUND) || (present && out != m->val[i]))
            BAD(w, "%s del: %d", ix->name, rc);
        shrink = 1;
        break;
    default: {
        struct seal_update u = {
            v, test_rand(&w->rng) % 2 ? LARCH_UPDATE_STORE : LARCH_UPDATE_DELETE, -1, 0};
        rc = ix->update(trees[t], key, len, store_or_delete, &u);
        if (rc != (present ? LARCH_OK : LARCH_NOTFOUND) || u.present != present ||
            (present && u.seen != m->val[i]))
            BAD(w, "%s update: %d", ix->name, rc);
        grow = u.action == LARCH_UPDATE_STORE;
        shrink = !grow;
        break;
    }
    }
    if (grow) {
        m->count += !present;
        m->present[i] = 1;
        m->val[i] = v;
    } else if (shrink && present) {
        m->count--;
        m->present[i] = 0;
    }
}

static void counter_op(struct worker *w, int t) {
    const struct index_ops *ix = trees_ops[t];
    unsigned char key[2];
    unsigned c = (unsigned)(test_rand(&w->rng) % COUNTERS);
    size_t len = counter_key(c, key);
    if (test_rand(&w->rng) % 2) {
        if (ix->update(trees[t], key, len, add_one, NULL) >= 0)
            w->added[t][c]++;
        return;
    }
    uint64_t cur = 0;
    for (int tries = 0; tries < 100; tries++) { /* cas until it goes in */
        if (ix->get(trees[t], key, len, &cur) != LARCH_OK)
            break;
        int rc = ix->cas(trees[t], key, len, cur, cur + 1, &cur);
        if (rc == LARCH_OK) {
            w->added[t][c]++;
            break;
        }
        if (rc != LARCH_EXISTS)
            break;
    }
}

struct scan_check {
    struct worker *w;
    unsigned char prev[LARCH_KEY_MAX];
    size_t prev_len;
    long n;
};

static int scan_check_fn(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_check *s = ctx;
    if (s->n > 0 && key_cmp(s->prev, s->prev_len, key, len) >= 0)
        BAD(s->w, "scan out of order");
    if (len >= 1 && ((const unsigned char *)key)[0] == 'o' && !seal_ok(key, len, val))
        BAD(s->w, "scan: a value sealed to another key");
    memcpy(s->prev, key, len);
    s->prev_len = len;
    return ++s->n >= 64;
}

/* A scan over another worker's slice, while that worker writes it. */
static void scan_op(struct worker *w, int t) {
    static _Thread_local struct scan_check s;
    unsigned char lo[LARCH_KEY_MAX];
    size_t len = owned_key((int)(test_rand(&w->rng) % (uint64_t)nworkers),
                           (unsigned)(test_rand(&w->rng) % SLICE), lo);
    s.w = w;
    s.n = 0;
    if (trees_ops[t]->scan(trees[t], lo, len, NULL, 0, scan_check_fn, &s) < 0)
        BAD(w, "scan failed");
}

/* The iterator held open all round: a seek somewhere, then steps forward, keys
 * strictly rising and values sealed; off the end, the next call seeks again. */
static void iter_op(struct worker *w, int t) {
    const struct index_ops *ix = trees_ops[t];
    void *it = w->iters[t];
    int stepped = w->last_valid[t];
    if (stepped) {
        ix->iter_next(it);
    } else {
        unsigned char key[LARCH_KEY_MAX];
        size_t len = owned_key((int)(test_rand(&w->rng) % (uint64_t)nworkers),
                               (unsigned)(test_rand(&w->rng) % SLICE), key);
        ix->iter_seek(it, key, len);
    }
    w->last_valid[t] = ix->iter_valid(it);
    if (!w->last_valid[t]) {
        if (ix->iter_status(it) != LARCH_OK)
            BAD(w, "iterator status %d", ix->iter_status(it));
        return;
    }
    size_t len = 0;
    const unsigned char *key = ix->iter_key(it, &len);
    if (stepped && key_cmp(w->last_key[t], w->last_len[t], key, len) >= 0)
        BAD(w, "%s iterator: next did not move forward", ix->name);
    if (len >= 1 && key[0] == 'o' && !seal_ok(key, len, ix->iter_value(it)))
        BAD(w, "iterator: a value sealed to another key");
    memcpy(w->last_key[t], key, len);
    w->last_len[t] = len;
}

static void count_free(void *p) {
    free(p);
    atomic_fetch_add_explicit(&freed_objects, 1, memory_order_relaxed);
}

/* An object retired from inside a section, as a writer that unlinked it would. */
static void retire_op(void) {
    long *obj = malloc(64);
    if (!obj)
        abort();
    larch_epoch_pin();
    atomic_fetch_add_explicit(&retired_objects, 1, memory_order_relaxed);
    larch_epoch_retire(obj, count_free);
    larch_epoch_unpin();
}

#ifdef LARCH_TEST_HAVE_MEMTABLE
static void memtable_op(struct worker *w) {
    unsigned char key[LARCH_KEY_MAX];
    unsigned i = (unsigned)(test_rand(&w->rng) % SLICE);
    size_t len = owned_key(w->id, i, key);
    uint64_t seq = atomic_fetch_add(&memtable_seq, 1) + 1;
    unsigned char val[64];
    size_t vlen = test_rand(&w->rng) % sizeof val;
    memset(val, (int)(seq & 0xff), vlen);
    int rc = test_rand(&w->rng) % 4 ? larch_memtable_put(memtable, key, len, seq, val, vlen)
                                    : larch_memtable_del(memtable, key, len, seq);
    if (rc != LARCH_OK)
        BAD(w, "memtable write: %d", rc);
    else
        atomic_fetch_add(&memtable_versions, 1);
    /* The newest version of an own key is the one just written: nobody else
     * writes it, and seq only grows. */
    uint64_t got_seq = 0;
    rc = larch_memtable_get(memtable, key, len, UINT64_MAX, NULL, NULL, &got_seq);
    if ((rc != LARCH_OK && rc != LARCH_DELETED) || got_seq != seq)
        BAD(w, "memtable get: %d, seq %llu of %llu", rc, (unsigned long long)got_seq,
            (unsigned long long)seq);
}

/* A short walk through the memtable while the others write: keys strictly rising. */
static void memtable_iter_op(struct worker *w) {
    unsigned char key[LARCH_KEY_MAX], prev[LARCH_KEY_MAX];
    size_t len = owned_key((int)(test_rand(&w->rng) % (uint64_t)nworkers),
                           (unsigned)(test_rand(&w->rng) % SLICE), key);
    larch_memtable_iter *it = larch_memtable_iter_new(memtable, atomic_load(&memtable_seq), 0);
    if (!it) {
        BAD(w, "memtable iter_new failed");
        return;
    }
    size_t prev_len = 0;
    int steps = 0;
    for (larch_memtable_iter_seek(it, key, len); steps < 8 && larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), steps++) {
        size_t klen = 0;
        const void *k = larch_memtable_iter_key(it, &klen);
        if (steps > 0 && key_cmp(prev, prev_len, k, klen) >= 0)
            BAD(w, "memtable iterator: keys not rising");
        memcpy(prev, k, klen);
        prev_len = klen;
    }
    if (larch_memtable_iter_status(it) != LARCH_OK)
        BAD(w, "memtable iterator status %d", larch_memtable_iter_status(it));
    larch_memtable_iter_free(it);
}
#endif

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (;;) {
        pthread_barrier_wait(&round_start);
        if (atomic_load(&quit))
            return NULL;
        for (int t = 0; t < ntrees; t++) {
            w->iters[t] = trees_ops[t]->iter_new(trees[t]);
            w->last_valid[t] = 0;
            if (!w->iters[t])
                BAD(w, "iter_new failed");
        }
        for (long n = 0; n < ops_per_round; n++) {
            unsigned r = (unsigned)(test_rand(&w->rng) % 100);
            int t = (int)(test_rand(&w->rng) % (uint64_t)ntrees);
            if (r < 55)
                own_op(w, t, r);
            else if (r < 70)
                counter_op(w, t);
            else if (r < 73)
                scan_op(w, t);
            else if (r < 88)
                w->iters[t] ? iter_op(w, t) : (void)0;
            else if (r < 92)
                retire_op();
#ifdef LARCH_TEST_HAVE_MEMTABLE
            else if (r < 98)
                memtable_op(w);
            else
                memtable_iter_op(w);
#else
            else
                own_op(w, t, r);
#endif
            w->ops++;
        }
        for (int t = 0; t < ntrees; t++)
            trees_ops[t]->iter_free(w->iters[t]);
        pthread_barrier_wait(&round_end);
    }
}

/* ---- checkpoints ----------------------------------------------------------------- */

static size_t memory_in_use(void) {
#ifdef SOAK_SANITIZER_ALLOCATOR
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

struct owned_check {
    int t;
    long bad;
    size_t seen[MAX_WORKERS];
};

static int owned_check_fn(void *ctx, const void *key, size_t len, uint64_t val) {
    struct owned_check *c = ctx;
    const unsigned char *k = key;
    if (len < 4 || k[0] != 'o' || k[1] >= nworkers) {
        c->bad++;
        return 0;
    }
    const struct worker *w = &workers[k[1]];
    unsigned i = (unsigned)k[2] << 8 | k[3];
    unsigned char want[LARCH_KEY_MAX];
    if (i >= SLICE || owned_key(k[1], i, want) != len || memcmp(want, key, len) != 0 ||
        !w->model[c->t].present[i] || w->model[c->t].val[i] != val)
        c->bad++;
    c->seen[k[1]]++;
    return 0;
}

/* Everything the workers' models say, exactly; counters add up; check() passes. */
static void check_world(void) {
    for (int t = 0; t < ntrees; t++) {
        const struct index_ops *ix = trees_ops[t];
        CHECK_EQ(ix->check(trees[t], stderr), LARCH_OK);
        struct owned_check c = {.t = t};
        unsigned char lo = 'o', hi = 'p';
        ix->scan(trees[t], &lo, 1, &hi, 1, owned_check_fn, &c);
        CHECK_EQ(c.bad, 0);
        size_t owned = 0;
        for (int w = 0; w < nworkers; w++) {
            CHECK_EQ(c.seen[w], workers[w].model[t].count);
            owned += workers[w].model[t].count;
        }
        CHECK_EQ(ix->len(trees[t]), owned + COUNTERS);
        for (unsigned k = 0; k < COUNTERS; k++) {
            unsigned char key[2];
            uint64_t v = 0;
            long added = 0;
            for (int w = 0; w < nworkers; w++)
                added += workers[w].added[t][k];
            ix->get(trees[t], key, counter_key(k, key), &v);
            CHECK_EQ((long)v, added);
        }
    }
    long bad = 0;
    for (int w = 0; w < nworkers; w++)
        bad += workers[w].bad;
    CHECK_EQ(bad, 0);
#ifdef LARCH_TEST_HAVE_MEMTABLE
    CHECK_EQ(larch_memtable_len(memtable), (size_t)atomic_load(&memtable_versions));
#endif
}

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void trend(const size_t *mem, const double *at, int n, int warm) {
    /* Least squares over the rounds after the warm-up. */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t lo = SIZE_MAX, hi = 0;
    int k = n - warm;
    for (int i = warm; i < n; i++) {
        double x = at[i], y = (double)mem[i];
        sx += x, sy += y, sxx += x * x, sxy += x * y;
        lo = mem[i] < lo ? mem[i] : lo;
        hi = mem[i] > hi ? mem[i] : hi;
    }
    double slope = k > 1 && sxx * k != sx * sx ? (k * sxy - sx * sy) / (k * sxx - sx * sx) : 0;
    double span = at[n - 1] - at[warm];
    fprintf(stderr,
            "  memory in use after the warm-up (%d checkpoints over %.1f s): first %.2f MiB, "
            "last %.2f MiB, min %.2f, max %.2f",
            k, span, (double)mem[warm] / 1048576, (double)mem[n - 1] / 1048576,
            (double)lo / 1048576, (double)hi / 1048576);
    if (span >= 5) /* a slope over less is noise */
        fprintf(stderr, ", trend %+.1f KiB/min", slope * 60 / 1024);
    fprintf(stderr, "\n");
}

static void soak(void) {
    const char *env = getenv("LARCH_STRESS_SECONDS");
    double seconds = env ? strtod(env, NULL) : 0;
    long rounds = seconds > 0 ? ROUNDS_MAX : 4;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    nworkers = (int)(cores > 0 ? 3 * cores : 6);
    nworkers = nworkers < 6 ? 6 : nworkers > MAX_WORKERS ? MAX_WORKERS : nworkers;
    ops_per_round = under_sanitizer() ? 3000 : 20000;
    larch_epoch_barrier();
    size_t mem_before = memory_in_use();
    ntrees = 0;
    for (size_t i = 0; index_select(i); i++)
        if (strcmp(IX->name, "ref") != 0 && ntrees < MAX_TREES)
            trees_ops[ntrees++] = IX;
    for (int t = 0; t < ntrees; t++) {
        trees[t] = trees_ops[t]->new_();
        REQUIRE(trees[t] != NULL);
        for (unsigned k = 0; k < COUNTERS; k++) { /* counters start at 0 */
            unsigned char key[2];
            trees_ops[t]->put(trees[t], key, counter_key(k, key), 0, NULL);
        }
    }
#ifdef LARCH_TEST_HAVE_MEMTABLE
    memtable = larch_memtable_new();
    REQUIRE(memtable != NULL);
#endif
    fprintf(stderr, "  %d trees, %d workers on %ld cores, %ld calls per worker per round, %s\n",
            ntrees, nworkers, cores, ops_per_round,
            seconds > 0 ? "rounds until LARCH_STRESS_SECONDS" : "4 rounds");
    pthread_barrier_init(&round_start, NULL, (unsigned)nworkers + 1);
    pthread_barrier_init(&round_end, NULL, (unsigned)nworkers + 1);
    pthread_t threads[MAX_WORKERS];
    atomic_store(&quit, 0);
    for (int i = 0; i < nworkers; i++) {
        workers[i] = (struct worker){.id = i, .rng = 0x5eed + (uint64_t)i * 7919};
        pthread_create(&threads[i], NULL, worker_main, &workers[i]);
    }
    static size_t mem[ROUNDS_MAX];
    static double at[ROUNDS_MAX];
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int n = 0;
    long ops = 0;
    for (long r = 0; r < rounds; r++) {
        pthread_barrier_wait(&round_start);
        pthread_barrier_wait(&round_end);
        check_world();
#ifdef LARCH_TEST_HAVE_MEMTABLE
        /* A flush: the memtable is dropped and replaced, as an engine would. */
        larch_memtable_free(memtable);
        memtable = larch_memtable_new();
        REQUIRE(memtable != NULL);
        atomic_store(&memtable_versions, 0);
#endif
        larch_epoch_barrier();
        CHECK_EQ(atomic_load(&freed_objects), atomic_load(&retired_objects));
        ops = 0;
        for (int w = 0; w < nworkers; w++)
            ops += workers[w].ops;
        mem[n] = memory_in_use();
        at[n] = seconds_since(&start);
        size_t keys = 0;
        for (int t = 0; t < ntrees; t++)
            keys += trees_ops[t]->len(trees[t]);
        if (seconds <= 0 || n % 20 == 0)
            fprintf(stderr, "  round %4ld at %6.1f s: %10ld calls, %6zu keys, %7.2f MiB in use\n",
                    r, at[n], ops, keys, (double)mem[n] / 1048576);
        n++;
        if (atomic_load(&harness_failures) || (seconds > 0 && at[n - 1] >= seconds))
            break;
    }
    atomic_store(&quit, 1);
    pthread_barrier_wait(&round_start);
    for (int i = 0; i < nworkers; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&round_start);
    pthread_barrier_destroy(&round_end);
    /* The first third of the run (at least one round) fills the slices to their
     * steady size; from then on the key set is stable. */
    int warm = n / 3 > 0 ? n / 3 : 1;
    if (n > warm) {
        trend(mem, at, n, warm);
        /* Flat: the last checkpoint is within a quarter (plus 2 MiB of allocator
         * slack) of the largest seen in the first half after the warm-up. */
        size_t early = 0;
        for (int i = warm; i <= warm + (n - warm) / 2 && i < n; i++)
            early = mem[i] > early ? mem[i] : early;
        CHECK(mem[n - 1] <= early + early / 4 + (2u << 20));
    }
    fprintf(stderr, "  %ld calls in %d rounds, %ld objects retired and freed\n", ops, n,
            atomic_load(&retired_objects));
    /* Drain: delete every key, so that the trees shrink back to a root leaf and
     * what they unlinked is reclaimed; then free them. Each time the memory in
     * use must come back down (the threads' epoch records and spare bags, a few
     * KiB each, stay: that is the slack). */
    for (int t = 0; t < ntrees; t++) {
        unsigned char key[LARCH_KEY_MAX];
        for (int w = 0; w < nworkers; w++)
            for (unsigned i = 0; i < SLICE; i++)
                if (workers[w].model[t].present[i])
                    CHECK_EQ(trees_ops[t]->del(trees[t], key, owned_key(w, i, key), NULL),
                             LARCH_OK);
        for (unsigned k = 0; k < COUNTERS; k++)
            CHECK_EQ(trees_ops[t]->del(trees[t], key, counter_key(k, key), NULL), LARCH_OK);
        CHECK_EQ(trees_ops[t]->len(trees[t]), 0);
        CHECK_EQ(trees_ops[t]->height(trees[t]), 1);
    }
#ifdef LARCH_TEST_HAVE_MEMTABLE
    /* The memtable keeps every version until it is freed: it has nothing to drain. */
    larch_memtable_free(memtable);
#endif
    larch_epoch_barrier();
    size_t mem_drained = memory_in_use();
    for (int t = 0; t < ntrees; t++)
        trees_ops[t]->free_(trees[t]);
    larch_epoch_barrier();
    size_t mem_after = memory_in_use(), slack = (size_t)nworkers * 16384;
    fprintf(stderr,
            "  memory in use: %.1f KiB before, %.1f KiB with every key deleted, %.1f KiB with "
            "everything freed\n",
            (double)mem_before / 1024, (double)mem_drained / 1024, (double)mem_after / 1024);
    CHECK(mem_drained <= mem_before + slack + (size_t)ntrees * 8192);
    CHECK(mem_after <= mem_before + slack);
}

int main(void) {
    RUN(soak);
    return harness_finish();
}
