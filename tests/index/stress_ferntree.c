/* A port of every test in ferntree 0.6.0's concurrency test file
 * (../shared/seeds/ferntree-0.6.0-concurrency-tests.rs), in its order and under
 * its names, the two it compiles out included. Keys are 4-byte big-endian integers;
 * ferntree's `insert` (an upsert) is put, `remove` is del, `lookup` is get, and
 * values with interior pointers are pointers to immutable heap objects, replaced
 * through update (or put) and retired through the epoch collector, read pinned.
 * Where ferntree asserts something weak ("found > 0") and the contract promises
 * more (every key present throughout is found), the port asserts the contract.
 * Counts grow with LARCH_STRESS_SCALE and shrink under sanitizers; where ferntree's
 * counts are too small to split a node of ours, the port says so and uses more. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "index_test.h"

static size_t ikey(unsigned char *out, uint32_t k) {
    out[0] = (unsigned char)(k >> 24), out[1] = (unsigned char)(k >> 16);
    out[2] = (unsigned char)(k >> 8), out[3] = (unsigned char)k;
    return 4;
}

static uint32_t ikey_read(const unsigned char *k) {
    return (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
}

static int scaled(int n) {
    long s = stress_scale() * n;
    return (int)(under_sanitizer() ? (s + 3) / 4 : s);
}

static void *tree;

static int put_i(uint32_t k, uint64_t v) {
    unsigned char key[4];
    return IX->put(tree, key, ikey(key, k), v, NULL);
}

static int get_i(uint32_t k, uint64_t *v) {
    unsigned char key[4];
    return IX->get(tree, key, ikey(key, k), v);
}

static int del_i(uint32_t k) {
    unsigned char key[4];
    return IX->del(tree, key, ikey(key, k), NULL);
}

static void start(void) {
    tree = IX->new_();
}

static void finish(void) {
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->free_(tree);
    tree = NULL;
}

struct worker {
    int id;
    long result;
};

static void spawn_all(int n, void *(*fn)(void *), struct worker *w) {
    for (int i = 0; i < n; i++)
        w[i] = (struct worker){.id = i};
    run_threads(n, fn, w, sizeof *w);
}

/* ---- basic concurrent insert --------------------------------------------------- */

static int per_thread;

static void *insert_own_range(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < per_thread; i++) {
        uint32_t k = (uint32_t)(w->id * per_thread + i);
        CHECK_EQ(put_i(k, (uint64_t)k * 10), LARCH_OK);
    }
    return NULL;
}

static void concurrent_insert_disjoint_ranges(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(100);
    struct worker w[4];
    spawn_all(4, insert_own_range, w);
    CHECK_EQ(IX->len(tree), 4 * per_thread);
    for (uint32_t k = 0; k < (uint32_t)(4 * per_thread); k++) {
        uint64_t v = 0;
        CHECK_EQ(get_i(k, &v), LARCH_OK);
        CHECK_EQ(v, (uint64_t)k * 10);
    }
    finish();
}

static void *insert_ten_keys(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < per_thread; i++)
        put_i((uint32_t)(i % 10), (uint64_t)w->id);
    return NULL;
}

static void concurrent_insert_same_keys(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(100);
    struct worker w[4];
    spawn_all(4, insert_ten_keys, w);
    CHECK_EQ(IX->len(tree), 10);
    for (uint32_t k = 0; k < 10; k++) {
        uint64_t v = 99;
        CHECK_EQ(get_i(k, &v), LARCH_OK);
        CHECK(v < 4);
    }
    finish();
}

/* ---- basic concurrent lookup --------------------------------------------------- */

static int entries;

static void *full_pass(void *arg) {
    struct worker *w = arg;
    void *it = IX->iter_new(tree);
    if (!it) {
        CHECK(it != NULL);
        return NULL;
    }
    for (IX->iter_seek_first(it); IX->iter_valid(it); IX->iter_next(it)) {
        size_t len = 0;
        const unsigned char *k = IX->iter_key(it, &len);
        CHECK(len == 4 && IX->iter_value(it) == (uint64_t)ikey_read(k) * 10);
        w->result++;
    }
    IX->iter_free(it);
    return NULL;
}

static void many_concurrent_readers(void) {
    start();
    REQUIRE(tree != NULL);
    entries = scaled(100);
    for (int i = 0; i < entries; i++)
        put_i((uint32_t)i, (uint64_t)i * 10);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    struct worker w[4];
    spawn_all(4, full_pass, w);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(w[i].result, entries);
    finish();
}

/* ---- basic mixed operations ---------------------------------------------------- */

static void *writer_then_reader(void *arg) {
    struct worker *w = arg;
    if (w->id == 0) {
        for (int i = entries; i < entries + entries / 2; i++)
            put_i((uint32_t)i, (uint64_t)i * 10);
    } else {
        for (int i = 0; i < entries; i++) {
            uint64_t v = 0;
            if (get_i((uint32_t)i, &v) == LARCH_OK && v == (uint64_t)i * 10)
                w->result++;
        }
    }
    return NULL;
}

static void concurrent_insert_and_lookup(void) {
    start();
    REQUIRE(tree != NULL);
    entries = scaled(100);
    for (int i = 0; i < entries; i++)
        put_i((uint32_t)i, (uint64_t)i * 10);
    struct worker w[2];
    spawn_all(2, writer_then_reader, w);
    /* ferntree: found > 0. The keys looked up were present throughout: all found. */
    CHECK_EQ(w[1].result, entries);
    CHECK_EQ(IX->len(tree), entries + entries / 2);
    finish();
}

/* ---- concurrent iteration ------------------------------------------------------ */

static void *insert_or_iterate(void *arg) {
    struct worker *w = arg;
    if (w->id == 0) {
        for (int i = 50; i < 75; i++)
            put_i((uint32_t)i, (uint64_t)i);
        return NULL;
    }
    void *it = IX->iter_new(tree);
    if (!it) {
        CHECK(it != NULL);
        return NULL;
    }
    long prev = -1, below_50 = 0;
    for (IX->iter_seek_first(it); IX->iter_valid(it); IX->iter_next(it)) {
        size_t len = 0;
        long k = (long)ikey_read(IX->iter_key(it, &len));
        CHECK(k > prev);
        CHECK(k < 75 && IX->iter_value(it) == (uint64_t)k);
        prev = k;
        below_50 += k < 50;
        w->result++;
    }
    CHECK_EQ(below_50, 50); /* present throughout the pass */
    IX->iter_free(it);
    return NULL;
}

static void iterate_while_inserting(void) {
    start();
    REQUIRE(tree != NULL);
    for (int i = 0; i < 50; i++)
        put_i((uint32_t)i, (uint64_t)i);
    struct worker w[2];
    spawn_all(2, insert_or_iterate, w);
    CHECK(w[1].result >= 50 && w[1].result <= 75);
    finish();
}

/* ---- splits under contention --------------------------------------------------- */

static void *insert_offset_range(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < per_thread; i++)
        put_i((uint32_t)(w->id * per_thread + i), (uint64_t)i);
    return NULL;
}

static void concurrent_inserts_cause_splits(void) {
    start();
    REQUIRE(tree != NULL);
    /* ferntree's 2 x 50 keys split its small nodes; ours hold more. */
    per_thread = scaled(5000);
    struct worker w[2];
    spawn_all(2, insert_offset_range, w);
    if (IX->has_levels)
        CHECK(IX->height(tree) > 1);
    CHECK_EQ(IX->len(tree), 2 * per_thread);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < per_thread; i++) {
            uint64_t v = 0;
            CHECK_EQ(get_i((uint32_t)(t * per_thread + i), &v), LARCH_OK);
            CHECK_EQ(v, (uint64_t)i);
        }
    finish();
}

/* ---- basic remove -------------------------------------------------------------- */

static void *remove_own_half(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < entries / 2; i++)
        CHECK_EQ(del_i((uint32_t)(w->id * (entries / 2) + i)), LARCH_OK);
    return NULL;
}

static void concurrent_removes(void) {
    start();
    REQUIRE(tree != NULL);
    /* ferntree removes 100 keys; enough here to merge nodes on the way down. */
    entries = 2 * scaled(5000);
    for (int i = 0; i < entries; i++)
        put_i((uint32_t)i, (uint64_t)i);
    struct worker w[2];
    spawn_all(2, remove_own_half, w);
    CHECK_EQ(IX->len(tree), 0);
    CHECK_EQ(IX->height(tree), 1);
    finish();
}

/* ---- stress -------------------------------------------------------------------- */

static unsigned char inserted_by[8][500];

static void *insert_random_in_500(void *arg) {
    struct worker *w = arg;
    uint64_t rng = 0xFEED + (uint64_t)w->id;
    for (int i = 0; i < per_thread; i++) {
        uint32_t k = (uint32_t)(test_rand(&rng) % 500);
        inserted_by[w->id][k] = 1;
        put_i(k, (uint64_t)w->id);
    }
    return NULL;
}

static void stress_concurrent_insert_overlapping_ranges(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(1000);
    memset(inserted_by, 0, sizeof inserted_by);
    struct worker w[8];
    spawn_all(8, insert_random_in_500, w);
    /* ferntree: len <= 500. Exactly the keys someone inserted, each holding the id
     * of a thread that inserted it. */
    size_t distinct = 0;
    for (uint32_t k = 0; k < 500; k++) {
        int any = 0;
        for (int t = 0; t < 8; t++)
            any |= inserted_by[t][k];
        distinct += (size_t)any;
        uint64_t v = 99;
        int rc = get_i(k, &v);
        CHECK_EQ(rc, any ? LARCH_OK : LARCH_NOTFOUND);
        if (rc == LARCH_OK)
            CHECK(v < 8 && inserted_by[v][k]);
    }
    CHECK_EQ(IX->len(tree), distinct);
    finish();
}

static void *mixed_in_500(void *arg) {
    struct worker *w = arg;
    uint64_t rng = 0xABBA + (uint64_t)w->id;
    for (int i = 0; i < per_thread; i++) {
        uint32_t k = (uint32_t)(test_rand(&rng) % 500);
        uint64_t v = 0;
        switch (test_rand(&rng) % 3) {
        case 0:
            put_i(k, (uint64_t)w->id);
            break;
        case 1:
            del_i(k);
            break;
        default:
            /* Only ever the pre-inserted value or a thread id. */
            if (get_i(k, &v) == LARCH_OK)
                CHECK(v < 8 || v == 1000 + k);
            break;
        }
    }
    return NULL;
}

static void stress_concurrent_mixed_operations(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(1000);
    for (uint32_t k = 0; k < 500; k++)
        put_i(k, 1000 + k);
    struct worker w[8];
    spawn_all(8, mixed_in_500, w);
    CHECK(IX->len(tree) <= 500);
    finish();
}

static void *hammer_key_42(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < per_thread; i++) {
        if (i % 2 == 0) {
            CHECK_EQ(put_i(42, (uint64_t)w->id), LARCH_EXISTS);
        } else {
            uint64_t v = 99;
            CHECK_EQ(get_i(42, &v), LARCH_OK); /* present throughout */
            CHECK(v < 8);
        }
    }
    return NULL;
}

static void stress_high_contention_single_key(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(1000);
    put_i(42, 0);
    struct worker w[8];
    spawn_all(8, hammer_key_42, w);
    CHECK_EQ(get_i(42, NULL), LARCH_OK);
    CHECK_EQ(IX->len(tree), 1);
    finish();
}

static atomic_int running;

static void *sustained(void *arg) {
    struct worker *w = arg;
    uint64_t rng = 0x5EED + (uint64_t)w->id;
    long ops = 0;
    while (atomic_load_explicit(&running, memory_order_relaxed) || ops < 100) {
        uint32_t k = (uint32_t)(test_rand(&rng) % 1000);
        unsigned op = (unsigned)(test_rand(&rng) % 10);
        if (op <= 3)
            put_i(k, (uint64_t)w->id);
        else if (op <= 5)
            del_i(k);
        else
            get_i(k, NULL);
        ops++;
    }
    w->result = ops;
    return NULL;
}

static void stress_sustained_mixed_operations(void) {
    start();
    REQUIRE(tree != NULL);
    atomic_store(&running, 1);
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.id = i};
        pthread_create(&th[i], NULL, sustained, &w[i]);
    }
    /* ferntree runs 500 ms; each thread here also does at least 100 operations, so
     * nothing below depends on the machine's speed. */
    long ms = 250 * stress_scale();
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
    nanosleep(&ts, NULL);
    atomic_store(&running, 0);
    long total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += w[i].result;
    }
    fprintf(stderr, "  %ld operations\n", total);
    CHECK(total > 100);
    CHECK(IX->len(tree) <= 1000);
    finish();
}

static void stress_large_scale_concurrent_inserts(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(1000);
    struct worker w[8];
    spawn_all(8, insert_own_range, w);
    CHECK_EQ(IX->len(tree), 8 * per_thread);
    finish();
}

static atomic_long produced;
static atomic_int consumers_started;

static void *produce_or_consume(void *arg) {
    struct worker *w = arg;
    long total = 4L * per_thread;
    if (w->id < 4) {
        /* Production starts once every consumer is looking, so that they overlap. */
        while (atomic_load(&consumers_started) < 4)
            sched_yield();
        for (int i = 0; i < per_thread; i++) {
            uint32_t k = (uint32_t)(w->id * per_thread + i);
            put_i(k, (uint64_t)k * 10);
            atomic_fetch_add_explicit(&produced, 1, memory_order_relaxed);
        }
        return NULL;
    }
    uint64_t rng = 0xC0 + (uint64_t)w->id;
    atomic_fetch_add(&consumers_started, 1);
    for (;;) {
        /* One last lookup after production ends, which is sure to find its key. */
        int done = atomic_load_explicit(&produced, memory_order_acquire) >= total;
        uint32_t k = (uint32_t)(test_rand(&rng) % (uint64_t)total);
        uint64_t v = 0;
        if (get_i(k, &v) == LARCH_OK) {
            CHECK_EQ(v, (uint64_t)k * 10);
            w->result++;
        }
        if (done)
            break;
    }
    return NULL;
}

static void stress_producer_consumer(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(2000); /* ferntree: 500 */
    atomic_store(&produced, 0);
    atomic_store(&consumers_started, 0);
    struct worker w[8];
    spawn_all(8, produce_or_consume, w);
    long found = 0;
    for (int i = 4; i < 8; i++) {
        CHECK(w[i].result > 0);
        found += w[i].result;
    }
    fprintf(stderr, "  consumers found %ld entries\n", found);
    CHECK_EQ(IX->len(tree), 4 * per_thread);
    finish();
}

/* ---- values with interior pointers ----------------------------------------------- */

#define LIVE 0x11FE11FE11FE11FEULL
#define DEAD 0xDEADDEADDEADDEADULL

/* ferntree's Vec<u64>: an immutable array with its length and checksum. */
struct versions {
    _Atomic uint64_t magic;
    uint64_t len, sum;
    uint64_t item[16];
};

static atomic_long versions_freed;

static void free_versions(void *p) {
    struct versions *v = p;
    atomic_store_explicit(&v->magic, DEAD, memory_order_relaxed);
    free(v);
    atomic_fetch_add_explicit(&versions_freed, 1, memory_order_relaxed);
}

static struct versions *versions_new(void) {
    struct versions *v = calloc(1, sizeof *v);
    if (!v)
        abort();
    atomic_init(&v->magic, LIVE);
    return v;
}

/* A reader's check of one object: live, and its checksum adds up. */
static int versions_ok(const struct versions *v) {
    if (atomic_load_explicit(&v->magic, memory_order_relaxed) != LIVE || v->len > 16)
        return 0;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < v->len; i++)
        sum += v->item[i];
    return sum == v->sum;
}

struct edit {
    struct versions *fresh;
    uint64_t i;
    int used;
};

/* Grow or shrink a copy; the old array is retired. Runs under the leaf lock:
 * touches only the objects and the epoch calls the contract allows. */
static int edit_versions(void *ctx, uint64_t *val, int present) {
    struct edit *e = ctx;
    if (!present)
        return LARCH_UPDATE_KEEP;
    const struct versions *old = (const struct versions *)(uintptr_t)*val;
    struct versions *v = e->fresh;
    v->len = old->len > 4 && (e->i & 1) == 0 ? 2 : old->len + 1;
    if (v->len > 16)
        v->len = 2;
    memcpy(v->item, old->item, (v->len <= old->len ? v->len : old->len) * sizeof v->item[0]);
    if (v->len > old->len)
        v->item[v->len - 1] = e->i;
    v->sum = 0;
    for (uint64_t i = 0; i < v->len; i++)
        v->sum += v->item[i];
    larch_epoch_retire((void *)(uintptr_t)*val, free_versions);
    *val = (uint64_t)(uintptr_t)v;
    e->used = 1;
    return LARCH_UPDATE_STORE;
}

static void *edit_or_read(void *arg) {
    struct worker *w = arg;
    int writer = w->id < 12;
    uint64_t rng = writer ? 0xA110C + (uint64_t)w->id : 0xBEE5 + (uint64_t)w->id;
    unsigned char key[4];
    for (int i = 0; i < per_thread; i++) {
        size_t len = ikey(key, (uint32_t)(test_rand(&rng) % 16));
        if (writer) {
            struct edit e = {versions_new(), (uint64_t)i, 0};
            CHECK_EQ(IX->update(tree, key, len, edit_versions, &e), LARCH_OK);
            if (!e.used)
                free(e.fresh);
        } else {
            larch_epoch_pin();
            uint64_t v = 0;
            if (IX->get(tree, key, len, &v) == LARCH_OK) {
                if (!versions_ok((const struct versions *)(uintptr_t)v))
                    w->result++;
            } else {
                w->result++; /* every key is present throughout */
            }
            larch_epoch_unpin();
        }
    }
    return NULL;
}

static int free_value(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx, (void)key, (void)len;
    larch_epoch_retire((void *)(uintptr_t)val, free_versions);
    return 0;
}

static void concurrent_lookup_with_interior_pointer_values(void) {
    start();
    REQUIRE(tree != NULL);
    per_thread = scaled(2000);
    atomic_store(&versions_freed, 0);
    for (uint32_t k = 0; k < 16; k++) {
        struct versions *v = versions_new();
        v->len = 1; /* vec![0] */
        put_i(k, (uint64_t)(uintptr_t)v);
    }
    struct worker w[24];
    spawn_all(24, edit_or_read, w);
    long bad = 0;
    for (int i = 12; i < 24; i++)
        bad += w[i].result;
    CHECK_EQ(bad, 0);
    CHECK_EQ(IX->len(tree), 16);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->scan(tree, NULL, 0, NULL, 0, free_value, NULL);
    finish();
    larch_epoch_barrier();
    /* Every array ever made was freed exactly once: 16 originals + one per edit. */
    CHECK_EQ(atomic_load(&versions_freed), 16 + 12L * per_thread);
}

/* ---- optimistic readers against deferred drops (compiled out in ferntree) ------ */

struct blob {
    _Atomic uint64_t magic;
    unsigned char bytes[32];
};

static void free_blob(void *p) {
    struct blob *b = p;
    atomic_store_explicit(&b->magic, DEAD, memory_order_relaxed);
    free(b);
}

static struct blob *blob_new(unsigned char fill) {
    struct blob *b = malloc(sizeof *b);
    if (!b)
        abort();
    atomic_init(&b->magic, LIVE);
    memset(b->bytes, fill, sizeof b->bytes);
    return b;
}

static atomic_int stop;

static void *read_blobs_or_replace(void *arg) {
    struct worker *w = arg;
    unsigned char key[4];
    if (w->id == 0) {
        for (int round = 0; round < per_thread; round++)
            for (uint32_t k = 0; k < 200; k++) {
                uint64_t old = 0;
                struct blob *b = blob_new((unsigned char)(k + (uint32_t)round));
                CHECK_EQ(IX->put(tree, key, ikey(key, k), (uint64_t)(uintptr_t)b, &old),
                         LARCH_EXISTS);
                larch_epoch_retire((void *)(uintptr_t)old, free_blob);
            }
        atomic_store(&stop, 1);
        return NULL;
    }
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (uint32_t k = 0; k < 200; k++) {
            larch_epoch_pin();
            uint64_t v = 0;
            if (IX->get(tree, key, ikey(key, k), &v) == LARCH_OK) {
                const struct blob *b = (const struct blob *)(uintptr_t)v;
                int ok = atomic_load_explicit(&b->magic, memory_order_relaxed) == LIVE;
                for (size_t i = 1; i < sizeof b->bytes; i++)
                    ok &= b->bytes[i] == b->bytes[0];
                w->result += !ok;
            } else {
                w->result++; /* present throughout */
            }
            larch_epoch_unpin();
        }
    }
    return NULL;
}

static int retire_blob(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx, (void)key, (void)len;
    larch_epoch_retire((void *)(uintptr_t)val, free_blob);
    return 0;
}

/* Readers use every value they get while pinned; the writer replaces each value
 * 50 times and retires the old one as put hands it back. */
static void epoch_deferred_drop_optimistic_reader_vs_defer_writer(void) {
    start();
    REQUIRE(tree != NULL);
    for (uint32_t k = 0; k < 200; k++)
        put_i(k, (uint64_t)(uintptr_t)blob_new((unsigned char)k));
    per_thread = scaled(50);
    atomic_store(&stop, 0);
    struct worker w[5];
    spawn_all(5, read_blobs_or_replace, w);
    for (int i = 1; i < 5; i++)
        CHECK_EQ(w[i].result, 0);
    IX->scan(tree, NULL, 0, NULL, 0, retire_blob, NULL);
    finish();
    larch_epoch_barrier();
}

/* ferntree's keys were refcounted heap objects dropped through the epoch; ours are
 * bytes the index copies, so what remains is keys deleted and put back while
 * readers look them up: a reader finds the key with a value put for it, or not at
 * all. */
static void *read_or_flip_keys(void *arg) {
    struct worker *w = arg;
    unsigned char key[8];
    if (w->id == 0) {
        for (uint64_t round = 0; round < (uint64_t)per_thread; round++)
            for (unsigned i = 0; i < 64; i++) {
                memset(key, (int)i, sizeof key);
                if (round % 2 == 0)
                    CHECK_EQ(IX->del(tree, key, 8, NULL), LARCH_OK);
                else
                    CHECK_EQ(IX->insert(tree, key, 8, round * 100 + i, NULL), LARCH_OK);
            }
        atomic_store(&stop, 1);
        return NULL;
    }
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (unsigned i = 0; i < 64; i++) {
            memset(key, (int)i, sizeof key);
            uint64_t v = 0;
            if (IX->get(tree, key, 8, &v) == LARCH_OK)
                w->result += v % 100 != i || (v / 100 != 0 && v / 100 % 2 == 0);
        }
    }
    return NULL;
}

static void k_deferred_drop_optimistic_reader_vs_defer_writer(void) {
    start();
    REQUIRE(tree != NULL);
    unsigned char key[8];
    for (unsigned i = 0; i < 64; i++) {
        memset(key, (int)i, sizeof key);
        IX->insert(tree, key, 8, i, NULL);
    }
    per_thread = 2 * ((scaled(50) + 1) / 2); /* even: every key ends present */
    atomic_store(&stop, 0);
    struct worker w[5];
    spawn_all(5, read_or_flip_keys, w);
    for (int i = 1; i < 5; i++)
        CHECK_EQ(w[i].result, 0);
    CHECK_EQ(IX->len(tree), 64);
    finish();
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(concurrent_insert_disjoint_ranges);
        RUN(concurrent_insert_same_keys);
        RUN(many_concurrent_readers);
        RUN(concurrent_insert_and_lookup);
        RUN(iterate_while_inserting);
        RUN(concurrent_inserts_cause_splits);
        RUN(concurrent_removes);
        RUN(stress_concurrent_insert_overlapping_ranges);
        RUN(stress_concurrent_mixed_operations);
        RUN(stress_high_contention_single_key);
        RUN(stress_sustained_mixed_operations);
        RUN(stress_large_scale_concurrent_inserts);
        RUN(stress_producer_consumer);
        RUN(concurrent_lookup_with_interior_pointer_values);
        RUN(epoch_deferred_drop_optimistic_reader_vs_defer_writer);
        RUN(k_deferred_drop_optimistic_reader_vs_defer_writer);
    }
    return harness_finish();
}
