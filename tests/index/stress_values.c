/* Values under concurrent writers: a reader never sees a value that was never
 * stored (no torn or foreign words), update is a linearizable read-modify-write
 * (counters add up exactly), cas too, every value that leaves the index is handed
 * to exactly one caller, and values that are pointers to objects retired through
 * the epoch collector are never used after free by pinned readers, iterators
 * included. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "harness.h"
#include "index_test.h"

static void *tree;
static atomic_int stop;

static long scaled(long n) {
    return (under_sanitizer() ? n / 5 : n) * stress_scale();
}

/* Key `id`: 2 big-endian bytes, then a tail, one key in five of 300 bytes or more. */
static size_t key_of(uint32_t id, unsigned char *out) {
    size_t len = 2 + (id % 5 == 0 ? 300 + id % 700 : id % 6);
    memset(out, 'k', len);
    out[0] = (unsigned char)(id >> 8);
    out[1] = (unsigned char)id;
    return len;
}

/* ---- never a value that was never stored ---------------------------------------- */

/* A value's halves check each other and name the key: a torn word, or a word
 * stored under another key, fails. */
static uint64_t sealed(uint32_t id, uint32_t x) {
    return (uint64_t)x << 32 | (uint32_t)(~x ^ (id * 0x9E3779B9u));
}

static int seal_ok(uint32_t id, uint64_t v) {
    return (uint32_t)v == (uint32_t)(~(uint32_t)(v >> 32) ^ (id * 0x9E3779B9u));
}

enum { SEALED_KEYS = 512 };

/* The id a key_of key belongs to, by its first two bytes (-1 if none). */
static long sealed_id(const unsigned char *key, size_t len) {
    if (len < 2)
        return -1;
    uint32_t id = (uint32_t)key[0] << 8 | key[1];
    unsigned char expect[1024];
    if (id >= SEALED_KEYS || key_of(id, expect) != len || memcmp(expect, key, len) != 0)
        return -1;
    return id;
}

struct worker {
    int id;
    long ops, bad;
    uint64_t rng;
};

static int reseal(void *ctx, uint64_t *val, int present) {
    uint32_t *id = ctx;
    *val = sealed(*id, (uint32_t)(*val >> 32) + 1);
    return present ? LARCH_UPDATE_STORE : LARCH_UPDATE_DELETE;
}

static void *write_sealed(void *arg) {
    struct worker *w = arg;
    unsigned char key[1024];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint32_t id = (uint32_t)(test_rand(&w->rng) % SEALED_KEYS);
        size_t len = key_of(id, key);
        uint64_t v = sealed(id, (uint32_t)test_rand(&w->rng)), old = 0;
        switch (test_rand(&w->rng) % 5) {
        case 0:
            if (IX->put(tree, key, len, v, &old) == LARCH_EXISTS)
                w->bad += !seal_ok(id, old);
            break;
        case 1:
            if (IX->del(tree, key, len, &old) == LARCH_OK)
                w->bad += !seal_ok(id, old);
            break;
        case 2:
            IX->update(tree, key, len, reseal, &id);
            break;
        case 3:
            if (IX->insert(tree, key, len, v, &old) == LARCH_EXISTS)
                w->bad += !seal_ok(id, old);
            break;
        default:
            if (IX->get(tree, key, len, &old) == LARCH_OK)
                IX->cas(tree, key, len, old, v, NULL);
            break;
        }
        w->ops++;
    }
    return NULL;
}

static int check_sealed(void *ctx, const void *key, size_t len, uint64_t val) {
    struct worker *w = ctx;
    long id = sealed_id(key, len);
    w->bad += id < 0 || !seal_ok((uint32_t)id, val);
    return 0;
}

static void *read_sealed(void *arg) {
    struct worker *w = arg;
    unsigned char key[1024];
    void *it = IX->iter_new(tree);
    long rounds = scaled(3000);
    for (long r = 0; it && r < rounds; r++) {
        uint32_t id = (uint32_t)(test_rand(&w->rng) % SEALED_KEYS);
        size_t len = key_of(id, key);
        uint64_t v = 0;
        if (IX->get(tree, key, len, &v) == LARCH_OK)
            w->bad += !seal_ok(id, v);
        if (r % 64 == 0)
            IX->scan(tree, key, len, NULL, 0, check_sealed, w);
        (r % 2 ? IX->iter_seek : IX->iter_seek_for_prev)(it, key, len);
        for (int step = 0; step < 16 && IX->iter_valid(it); step++) {
            size_t klen = 0;
            const unsigned char *k = IX->iter_key(it, &klen);
            check_sealed(w, k, klen, IX->iter_value(it));
            r % 2 ? IX->iter_next(it) : IX->iter_prev(it);
        }
        w->ops++;
    }
    w->bad += it == NULL;
    IX->iter_free(it);
    return NULL;
}

static void readers_never_see_a_value_that_was_never_stored(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    atomic_store(&stop, 0);
    pthread_t wt[3], rt[3];
    struct worker w[3], r[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct worker){.id = i, .rng = 10 + (uint64_t)i};
        r[i] = (struct worker){.id = i, .rng = 20 + (uint64_t)i};
        pthread_create(&wt[i], NULL, write_sealed, &w[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&rt[i], NULL, read_sealed, &r[i]);
    long bad = 0, writes = 0, reads = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(rt[i], NULL);
        bad += r[i].bad, reads += r[i].ops;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(wt[i], NULL);
        bad += w[i].bad, writes += w[i].ops;
    }
    fprintf(stderr, "  %ld writes, %ld read rounds\n", writes, reads);
    CHECK_EQ(bad, 0);
    struct worker final = {0};
    IX->scan(tree, NULL, 0, NULL, 0, check_sealed, &final);
    CHECK_EQ(final.bad, 0);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->free_(tree);
}

/* ---- linearizable read-modify-write ----------------------------------------------- */

enum { COUNTERS = 9, COUNTER_THREADS = 6 };

struct counter_worker {
    int id;
    long n;
    uint64_t rng;
    long added[COUNTERS], drained;
};

static int add_one(void *ctx, uint64_t *val, int present) {
    (void)ctx;
    *val = present ? *val + 1 : 1;
    return LARCH_UPDATE_STORE;
}

/* Takes the whole count out once it reaches 10, keeping what it took. */
static int drain_at_ten(void *ctx, uint64_t *val, int present) {
    long *drained = ctx;
    if (!present || *val < 10)
        return LARCH_UPDATE_KEEP;
    *drained += (long)*val;
    return LARCH_UPDATE_DELETE;
}

static void *count(void *arg) {
    struct counter_worker *w = arg;
    unsigned char key[1024];
    for (long i = 0; i < w->n; i++) {
        /* Counter 0 is everyone's hot spot; the rest spread the load. */
        uint32_t c = test_rand(&w->rng) % 3 == 0 ? 0 : (uint32_t)(test_rand(&w->rng) % COUNTERS);
        size_t len = key_of(c, key);
        IX->update(tree, key, len, add_one, NULL);
        w->added[c]++;
        if (w->id % 2 && i % 7 == 0)
            IX->update(tree, key, len, drain_at_ten, &w->drained);
    }
    return NULL;
}

static void counters_incremented_through_update_add_up_exactly(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    struct counter_worker w[COUNTER_THREADS];
    for (int i = 0; i < COUNTER_THREADS; i++)
        w[i] = (struct counter_worker){.id = i, .n = scaled(40000), .rng = 5 + (uint64_t)i};
    run_threads(COUNTER_THREADS, count, w, sizeof w[0]);
    long total = 0, drained = 0, held = 0;
    for (int i = 0; i < COUNTER_THREADS; i++) {
        drained += w[i].drained;
        for (int c = 0; c < COUNTERS; c++)
            total += w[i].added[c];
    }
    unsigned char key[1024];
    for (uint32_t c = 0; c < COUNTERS; c++) {
        uint64_t v = 0;
        if (IX->get(tree, key, key_of(c, key), &v) == LARCH_OK)
            held += (long)v;
    }
    fprintf(stderr, "  %ld increments: %ld still held, %ld drained by deletes\n", total, held,
            drained);
    CHECK_EQ(held + drained, total);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->free_(tree);
}

static void *count_with_cas(void *arg) {
    struct counter_worker *w = arg;
    unsigned char key[1024];
    for (long i = 0; i < w->n; i++) {
        uint32_t c = (uint32_t)(test_rand(&w->rng) % 3);
        size_t len = key_of(c, key);
        for (;;) {
            uint64_t cur = 0;
            int rc = IX->get(tree, key, len, &cur);
            if (rc == LARCH_NOTFOUND) {
                if (IX->insert(tree, key, len, 1, NULL) == LARCH_OK)
                    break;
                continue;
            }
            if (IX->cas(tree, key, len, cur, cur + 1, NULL) == LARCH_OK)
                break;
        }
        w->added[c]++;
    }
    return NULL;
}

static void counters_incremented_through_cas_add_up_exactly(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    struct counter_worker w[COUNTER_THREADS];
    for (int i = 0; i < COUNTER_THREADS; i++)
        w[i] = (struct counter_worker){.id = i, .n = scaled(20000), .rng = 50 + (uint64_t)i};
    run_threads(COUNTER_THREADS, count_with_cas, w, sizeof w[0]);
    unsigned char key[1024];
    for (uint32_t c = 0; c < 3; c++) {
        long expected = 0;
        for (int i = 0; i < COUNTER_THREADS; i++)
            expected += w[i].added[c];
        uint64_t v = 0;
        CHECK_EQ(IX->get(tree, key, key_of(c, key), &v), LARCH_OK);
        CHECK_EQ(v, expected);
    }
    IX->free_(tree);
}

/* ---- values handed out once ------------------------------------------------------- */

/* Every value ever stored is unique: thread << 32 | serial. A thread records each
 * value it stored and each value the index handed back to it as displaced; in
 * the end, displaced plus still-present is every stored value, each exactly once. */
enum { ONCE_THREADS = 6, ONCE_KEYS = 48 };

static atomic_uchar *accounted[ONCE_THREADS]; /* per stored value: times accounted for */
static long once_serials;

struct once_worker {
    int id;
    uint64_t rng, next, displaced_foreign;
};

static void account(struct once_worker *w, uint64_t v) {
    uint64_t t = v >> 32, s = v & 0xFFFFFFFF;
    if (t >= ONCE_THREADS || s == 0 || (long)s > once_serials) {
        w->displaced_foreign++;
        return;
    }
    atomic_fetch_add_explicit(&accounted[t][s], 1, memory_order_relaxed);
}

struct once_update {
    struct once_worker *w;
    uint64_t fresh;
    int action, stored;
};

static int once_fn(void *ctx, uint64_t *val, int present) {
    struct once_update *u = ctx;
    if (u->action == LARCH_UPDATE_DELETE) {
        if (present)
            account(u->w, *val);
        return LARCH_UPDATE_DELETE;
    }
    if (present)
        account(u->w, *val);
    *val = u->fresh;
    u->stored = 1;
    return LARCH_UPDATE_STORE;
}

static void *hand_values_around(void *arg) {
    struct once_worker *w = arg;
    unsigned char key[1024];
    uint64_t me = (uint64_t)w->id << 32;
    while (w->next < (uint64_t)once_serials) {
        uint32_t id = (uint32_t)(test_rand(&w->rng) % ONCE_KEYS);
        size_t len = key_of(id, key);
        uint64_t fresh = me | (w->next + 1), old = 0;
        int used = 0;
        switch (test_rand(&w->rng) % 5) {
        case 0: {
            int rc = IX->put(tree, key, len, fresh, &old);
            used = 1;
            if (rc == LARCH_EXISTS)
                account(w, old);
            break;
        }
        case 1:
            used = IX->insert(tree, key, len, fresh, NULL) == LARCH_OK;
            break;
        case 2:
            if (IX->del(tree, key, len, &old) == LARCH_OK)
                account(w, old);
            break;
        case 3: {
            struct once_update u = {
                w, fresh, test_rand(&w->rng) % 2 ? LARCH_UPDATE_STORE : LARCH_UPDATE_DELETE, 0};
            IX->update(tree, key, len, once_fn, &u);
            used = u.stored;
            break;
        }
        default:
            if (IX->get(tree, key, len, &old) == LARCH_OK &&
                IX->cas(tree, key, len, old, fresh, NULL) == LARCH_OK) {
                account(w, old); /* cas displaced `expected` */
                used = 1;
            }
            break;
        }
        if (used)
            w->next++;
    }
    return NULL;
}

static int account_final(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len;
    account(ctx, val);
    return 0;
}

static void every_displaced_value_is_handed_to_exactly_one_caller(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    once_serials = scaled(30000);
    for (int t = 0; t < ONCE_THREADS; t++) {
        accounted[t] = calloc((size_t)once_serials + 1, sizeof *accounted[t]);
        REQUIRE(accounted[t] != NULL);
    }
    struct once_worker w[ONCE_THREADS];
    for (int i = 0; i < ONCE_THREADS; i++)
        w[i] = (struct once_worker){.id = i, .rng = 300 + (uint64_t)i};
    run_threads(ONCE_THREADS, hand_values_around, w, sizeof w[0]);
    struct once_worker final = {0};
    IX->scan(tree, NULL, 0, NULL, 0, account_final, &final);
    long lost = 0, twice = 0, foreign = (long) final.displaced_foreign;
    for (int t = 0; t < ONCE_THREADS; t++) {
        foreign += (long)w[t].displaced_foreign;
        for (long s = 1; s <= once_serials; s++) {
            int n = atomic_load(&accounted[t][s]);
            lost += n == 0;
            twice += n > 1;
        }
        free(accounted[t]);
    }
    fprintf(stderr, "  %d x %ld values stored: %ld lost, %ld handed out twice, %ld foreign\n",
            ONCE_THREADS, once_serials, lost, twice, foreign);
    CHECK_EQ(lost, 0);
    CHECK_EQ(twice, 0);
    CHECK_EQ(foreign, 0);
    IX->free_(tree);
}

/* ---- objects retired through the epoch collector ---------------------------------- */

#define LIVE 0x0B1EC7A11FE0B1ECULL
#define DEAD 0xDEADDEADDEADDEADULL

struct object {
    _Atomic uint64_t magic;
    uint64_t key_id, check;
};

static atomic_long objects_made, objects_freed;

static struct object *object_new(uint32_t id) {
    struct object *o = malloc(sizeof *o);
    if (!o)
        abort();
    atomic_init(&o->magic, LIVE);
    o->key_id = id;
    o->check = ~(uint64_t)id;
    atomic_fetch_add_explicit(&objects_made, 1, memory_order_relaxed);
    return o;
}

static void object_free(void *p) {
    struct object *o = p;
    atomic_store_explicit(&o->magic, DEAD, memory_order_relaxed);
    free(o);
    atomic_fetch_add_explicit(&objects_freed, 1, memory_order_relaxed);
}

static void retire(uint64_t v) {
    larch_epoch_retire((void *)(uintptr_t)v, object_free);
}

/* Use an object a reader got while pinned: still alive, and the right one. */
static int object_ok(uint64_t v, long id) {
    const struct object *o = (const struct object *)(uintptr_t)v;
    return atomic_load_explicit(&o->magic, memory_order_relaxed) == LIVE &&
           (id < 0 || o->key_id == (uint64_t)id) && o->check == ~o->key_id;
}

struct replace {
    struct object *fresh;
    int used;
};

static int replace_object(void *ctx, uint64_t *val, int present) {
    struct replace *r = ctx;
    if (present)
        retire(*val);
    *val = (uint64_t)(uintptr_t)r->fresh;
    r->used = 1;
    return LARCH_UPDATE_STORE;
}

static int delete_object(void *ctx, uint64_t *val, int present) {
    (void)ctx;
    if (!present)
        return LARCH_UPDATE_KEEP;
    retire(*val);
    return LARCH_UPDATE_DELETE;
}

enum { OBJECT_KEYS = 256 };

static void *replace_objects(void *arg) {
    struct worker *w = arg;
    unsigned char key[1024];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint32_t id = (uint32_t)(test_rand(&w->rng) % OBJECT_KEYS);
        size_t len = key_of(id, key);
        struct object *o = object_new(id);
        uint64_t v = (uint64_t)(uintptr_t)o, old = 0;
        int used = 0;
        switch (test_rand(&w->rng) % 6) {
        case 0:
            if (IX->put(tree, key, len, v, &old) == LARCH_EXISTS)
                retire(old);
            used = 1;
            break;
        case 1:
            used = IX->insert(tree, key, len, v, NULL) == LARCH_OK;
            break;
        case 2:
            if (IX->del(tree, key, len, &old) == LARCH_OK)
                retire(old);
            break;
        case 3: {
            struct replace r = {o, 0};
            IX->update(tree, key, len, replace_object, &r);
            used = r.used;
            break;
        }
        case 4:
            IX->update(tree, key, len, delete_object, NULL);
            break;
        default:
            /* The value read may be retired by someone else at any moment; cas
             * only compares it, and if the cas wins, it was ours to retire. */
            if (IX->get(tree, key, len, &old) == LARCH_OK &&
                IX->cas(tree, key, len, old, v, NULL) == LARCH_OK) {
                retire(old);
                used = 1;
            }
            break;
        }
        if (!used) {
            atomic_fetch_sub_explicit(&objects_made, 1, memory_order_relaxed);
            free(o);
        }
        w->ops++;
    }
    return NULL;
}

static int check_object(void *ctx, const void *key, size_t len, uint64_t val) {
    struct worker *w = ctx;
    w->bad += !object_ok(val, sealed_id(key, len));
    return 0;
}

/* Readers pin, then use what get, scan and iterator moves return. An iterator is
 * also moved in one pin section after being positioned in an earlier one: the
 * value it hands out must still be protected by the new pin. */
static void *use_objects(void *arg) {
    struct worker *w = arg;
    unsigned char key[1024];
    void *it = IX->iter_new(tree);
    long rounds = scaled(2500);
    for (long r = 0; it && r < rounds; r++) {
        uint32_t id = (uint32_t)(test_rand(&w->rng) % OBJECT_KEYS);
        size_t len = key_of(id, key);
        uint64_t v = 0;
        larch_epoch_pin();
        if (IX->get(tree, key, len, &v) == LARCH_OK)
            w->bad += !object_ok(v, id);
        if (r % 100 == 0)
            IX->scan(tree, key, len, NULL, 0, check_object, w);
        /* Several moves in one section: every value returned stays usable until
         * the unpin, not just the last. */
        uint64_t seen[8];
        long ids[8];
        int n = 0;
        for (IX->iter_seek(it, key, len); n < 8 && IX->iter_valid(it); IX->iter_next(it)) {
            size_t klen = 0;
            const unsigned char *k = IX->iter_key(it, &klen);
            ids[n] = sealed_id(k, klen);
            seen[n++] = IX->iter_value(it);
        }
        for (int i = 0; i < n; i++)
            w->bad += !object_ok(seen[i], ids[i]);
        larch_epoch_unpin();
        /* Out of any section for a while: what the iterator copied may be freed. */
        if (r % 16 == 0)
            sched_yield();
        larch_epoch_pin();
        for (int i = 0; i < 4 && IX->iter_valid(it); i++) {
            IX->iter_prev(it);
            if (IX->iter_valid(it)) {
                size_t klen = 0;
                const unsigned char *k = IX->iter_key(it, &klen);
                w->bad += !object_ok(IX->iter_value(it), sealed_id(k, klen));
            }
        }
        larch_epoch_unpin();
        w->ops++;
    }
    w->bad += it == NULL;
    IX->iter_free(it);
    return NULL;
}

static int retire_value(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx, (void)key, (void)len;
    retire(val);
    return 0;
}

static void pinned_readers_never_use_a_retired_object(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    larch_epoch_barrier();
    atomic_store(&objects_made, 0);
    atomic_store(&objects_freed, 0);
    atomic_store(&stop, 0);
    unsigned char key[1024];
    for (uint32_t id = 0; id < OBJECT_KEYS; id += 2)
        IX->put(tree, key, key_of(id, key), (uint64_t)(uintptr_t)object_new(id), NULL);
    pthread_t wt[3], rt[3];
    struct worker w[3], r[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct worker){.id = i, .rng = 40 + (uint64_t)i};
        r[i] = (struct worker){.id = i, .rng = 60 + (uint64_t)i};
        pthread_create(&wt[i], NULL, replace_objects, &w[i]);
        pthread_create(&rt[i], NULL, use_objects, &r[i]);
    }
    long bad = 0, writes = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(rt[i], NULL);
        bad += r[i].bad;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(wt[i], NULL);
        writes += w[i].ops;
    }
    fprintf(stderr, "  %ld writes, %ld objects made\n", writes, atomic_load(&objects_made));
    CHECK_EQ(bad, 0);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->scan(tree, NULL, 0, NULL, 0, retire_value, NULL);
    IX->free_(tree);
    larch_epoch_barrier();
    /* Each object freed once: none twice (that would be a value handed out twice),
     * none leaked (one handed out to nobody). */
    CHECK_EQ(atomic_load(&objects_freed), atomic_load(&objects_made));
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(readers_never_see_a_value_that_was_never_stored);
        RUN(counters_incremented_through_update_add_up_exactly);
        RUN(counters_incremented_through_cas_add_up_exactly);
        RUN(every_displaced_value_is_handed_to_exactly_one_caller);
        RUN(pinned_readers_never_use_a_retired_object);
    }
    return harness_finish();
}
