/* Linearizability: threads run put, insert, get, del, cas and update on a few hot
 * keys of every index at once, each call recorded with its result and with invoke
 * and return stamps from one shared clock; then each key's sub-history is checked
 * against a sequential register (tests/index/lin_check.c). The hot keys sit among
 * filler keys that no history touches, and in half of the histories all keys are
 * 600 to 900 bytes long, so that a node holds a handful and the histories' inserts
 * and deletes split and merge the nodes their neighbours' readers are in. Values
 * are unique per write, and update increments as well as stores and deletes, so a
 * lost update or a stale read shows up as a history with no linearization.
 *
 * The checker is tested first on hand-made histories, linearizable and not. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "harness.h"
#include "index_test.h"
#include "lin_check.h"

/* ---- the checker on hand-made histories ---------------------------------------- */

static struct lin_op op(enum lin_kind kind, uint64_t arg, uint64_t arg2, int rc, uint64_t out,
                        uint64_t invoke, uint64_t ret) {
    return (struct lin_op){kind, 0, arg, arg2, rc, out, 0, 0, invoke, ret};
}

static struct lin_op update_op(enum lin_update_mode mode, uint64_t store, int present,
                               uint64_t seen, uint64_t invoke, uint64_t ret) {
    return (struct lin_op){LIN_UPDATE, 0,       store, mode,   present ? LARCH_OK : LARCH_NOTFOUND,
                           0,          present, seen,  invoke, ret};
}

static const struct lin_state absent = {0, 0};

static void the_checker_accepts_what_is_linearizable_and_nothing_else(void) {
    /* In sequence. */
    struct lin_op seq[] = {
        op(LIN_PUT, 1, 0, LARCH_OK, 0, 0, 1), op(LIN_GET, 0, 0, LARCH_OK, 1, 2, 3),
        op(LIN_DEL, 0, 0, LARCH_OK, 1, 4, 5), op(LIN_GET, 0, 0, LARCH_NOTFOUND, 0, 6, 7)};
    CHECK(lin_check(seq, 4, absent, NULL));
    /* A read after a completed write that misses it. */
    struct lin_op stale[] = {op(LIN_PUT, 1, 0, LARCH_OK, 0, 0, 1),
                             op(LIN_GET, 0, 0, LARCH_NOTFOUND, 0, 2, 3)};
    CHECK(!lin_check(stale, 2, absent, NULL));
    /* A read overlapping the write may see either. */
    struct lin_op early[] = {op(LIN_PUT, 1, 0, LARCH_OK, 0, 0, 3),
                             op(LIN_GET, 0, 0, LARCH_OK, 1, 1, 2),
                             op(LIN_GET, 0, 0, LARCH_NOTFOUND, 0, 1, 2)};
    CHECK(lin_check(early, 2, absent, NULL));
    CHECK(lin_check(early + 0, 1, absent, NULL));
    struct lin_op both_reads[] = {early[0], early[2]};
    CHECK(lin_check(both_reads, 2, absent, NULL));
    /* ... but not the new value and then the old one, in sequence. */
    struct lin_op flicker[] = {op(LIN_PUT, 1, 0, LARCH_OK, 0, 0, 9),
                               op(LIN_GET, 0, 0, LARCH_OK, 1, 1, 2),
                               op(LIN_GET, 0, 0, LARCH_NOTFOUND, 0, 3, 4)};
    CHECK(!lin_check(flicker, 3, absent, NULL));
    /* Two deletes of one present key cannot both remove it. */
    struct lin_op two_dels[] = {op(LIN_DEL, 0, 0, LARCH_OK, 5, 0, 3),
                                op(LIN_DEL, 0, 0, LARCH_OK, 5, 1, 2)};
    CHECK(!lin_check(two_dels, 2, (struct lin_state){1, 5}, NULL));
    two_dels[1].rc = LARCH_NOTFOUND;
    CHECK(lin_check(two_dels, 2, (struct lin_state){1, 5}, NULL));
    /* A lost update: two overlapping increments that both saw 5. */
    struct lin_op lost[] = {update_op(LIN_UPDATE_INCREMENT, 0, 1, 5, 0, 3),
                            update_op(LIN_UPDATE_INCREMENT, 0, 1, 5, 1, 2)};
    CHECK(!lin_check(lost, 2, (struct lin_state){1, 5}, NULL));
    lost[1].fn_seen = 6;
    CHECK(lin_check(lost, 2, (struct lin_state){1, 5}, NULL));
    /* Writes that overlap may take effect in either order, which takes backtracking:
     * put 1 and put 2 overlap, then a read sees 1, so 2 went first. */
    struct lin_op order[] = {op(LIN_PUT, 1, 0, LARCH_OK, 0, 0, 10),
                             op(LIN_PUT, 2, 0, LARCH_EXISTS, 1, 1, 11),
                             op(LIN_GET, 0, 0, LARCH_OK, 1, 12, 13)};
    CHECK(!lin_check(order, 3, absent, NULL)); /* put 2 says it replaced 1 */
    order[1].rc = LARCH_OK;
    order[0].rc = LARCH_EXISTS, order[0].out = 2;
    CHECK(lin_check(order, 3, absent, NULL));
    order[2].out = 2;
    CHECK(!lin_check(order, 3, absent, NULL));
    /* cas and insert. */
    struct lin_op cas[] = {op(LIN_CAS, 9, 5, LARCH_OK, 0, 0, 1),
                           op(LIN_INSERT, 3, 0, LARCH_EXISTS, 9, 2, 3),
                           op(LIN_CAS, 7, 5, LARCH_EXISTS, 9, 4, 5)};
    CHECK(lin_check(cas, 3, (struct lin_state){1, 5}, NULL));
    cas[2].out = 5;
    CHECK(!lin_check(cas, 3, (struct lin_state){1, 5}, NULL));
}

/* ---- concurrent histories ------------------------------------------------------- */

enum {
    THREADS = 4,
    HOT_KEYS = 4,
    FILLERS = 3, /* filler keys after each hot key */
    OPS_PER_THREAD = 30,
};

static void *tree;
static _Atomic uint64_t clock_now;
static pthread_barrier_t start_line, finish_line;
static atomic_int arrived;
static atomic_int quit;
static int long_keys;

struct worker {
    int id;
    uint64_t rng;
    uint64_t next_value;
    struct lin_op ops[OPS_PER_THREAD];
};

/* Slot s of the key layout: hot key i is slot i * (FILLERS + 1). */
static size_t slot_key(int slot, unsigned char *out) {
    size_t len = long_keys ? 600 + (size_t)(slot * 97 % 300) : 8;
    memset(out, 'k', len);
    out[0] = 'S';
    out[1] = (unsigned char)slot;
    return len;
}

static size_t hot_key(int key, unsigned char *out) {
    return slot_key(key * (FILLERS + 1), out);
}

static uint64_t stamp(void) {
    return atomic_fetch_add_explicit(&clock_now, 1, memory_order_seq_cst);
}

static int update_fn(void *ctx, uint64_t *val, int present) {
    struct lin_op *o = ctx;
    o->fn_present = present;
    o->fn_seen = *val;
    /* Now and then give the CPU away while holding the key's lock, so that even
     * on one core other calls on the key run (or wait) inside this one. */
    if (o->arg % 4 == 0)
        sched_yield();
    switch ((enum lin_update_mode)o->arg2) {
    case LIN_UPDATE_STORE:
        *val = o->arg;
        return LARCH_UPDATE_STORE;
    case LIN_UPDATE_DELETE:
        return LARCH_UPDATE_DELETE;
    case LIN_UPDATE_INCREMENT:
        if (!present)
            return LARCH_UPDATE_KEEP;
        *val += 1;
        return LARCH_UPDATE_STORE;
    default:
        return LARCH_UPDATE_KEEP;
    }
}

static void run_op(struct worker *w, struct lin_op *o, uint64_t *last_seen) {
    static _Thread_local unsigned char key[1024];
    uint64_t r = test_rand(&w->rng);
    o->key = (int)(r % HOT_KEYS);
    size_t len = hot_key(o->key, key);
    /* Values unique to this writer; cas expects what this thread saw last. */
    o->arg = (uint64_t)(w->id + 1) << 48 | ++w->next_value;
    o->arg2 = 0;
    o->out = 0;
    o->fn_present = -1;
    o->fn_seen = 0;
    unsigned kind = (unsigned)(r >> 8) % 16;
    o->invoke = stamp();
    if (r >> 60 == 0)
        sched_yield(); /* a call that starts, then waits for the CPU */
    if (kind < 3) {
        o->kind = LIN_PUT;
        o->rc = IX->put(tree, key, len, o->arg, &o->out);
    } else if (kind < 5) {
        o->kind = LIN_INSERT;
        o->rc = IX->insert(tree, key, len, o->arg, &o->out);
    } else if (kind < 9) {
        o->kind = LIN_GET;
        o->rc = IX->get(tree, key, len, &o->out);
    } else if (kind < 11) {
        o->kind = LIN_DEL;
        o->rc = IX->del(tree, key, len, &o->out);
    } else if (kind < 13) {
        o->kind = LIN_CAS;
        o->arg2 = last_seen[o->key];
        o->rc = IX->cas(tree, key, len, o->arg2, o->arg, &o->out);
    } else {
        o->kind = LIN_UPDATE;
        o->arg2 = (r >> 16) % 4;
        o->rc = IX->update(tree, key, len, update_fn, o);
    }
    o->ret = stamp();
    if (o->rc == LARCH_OK || o->rc == LARCH_EXISTS)
        last_seen[o->key] = o->kind == LIN_UPDATE ? o->fn_seen : o->out;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    uint64_t last_seen[HOT_KEYS] = {0};
    for (;;) {
        pthread_barrier_wait(&start_line);
        if (atomic_load(&quit))
            return NULL;
        /* Start together: the barrier wakes threads microseconds apart. Spin a
         * while before yielding, so that threads on other cores start at once. */
        atomic_fetch_add(&arrived, 1);
        for (long spins = 0; atomic_load(&arrived) < THREADS; spins++)
            if (spins > 10000)
                sched_yield();
        for (int i = 0; i < OPS_PER_THREAD; i++) {
            run_op(w, &w->ops[i], last_seen);
            for (unsigned pause = (unsigned)(test_rand(&w->rng) % 64); pause > 0; pause--)
                atomic_load_explicit(&clock_now, memory_order_relaxed);
        }
        pthread_barrier_wait(&finish_line);
    }
}

struct totals {
    long histories, subhistories, ops, overlapping, steps, violations;
};

/* Two calls on the same key by different threads whose intervals overlap. */
static long overlapping_pairs(const struct lin_op *ops, size_t n) {
    long pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            pairs += ops[i].invoke < ops[j].ret && ops[j].invoke < ops[i].ret;
    return pairs;
}

static void print_history(const struct lin_op *ops, size_t n, struct lin_state initial) {
    static const char *const names[] = {"put", "insert", "get", "del", "cas", "update"};
    fprintf(stderr, "    initial: present %d value %llx\n", initial.present,
            (unsigned long long)initial.val);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "    [%llu, %llu] %s arg %llx arg2 %llx -> rc %d out %llx fn %d/%llx\n",
                (unsigned long long)ops[i].invoke, (unsigned long long)ops[i].ret,
                names[ops[i].kind], (unsigned long long)ops[i].arg, (unsigned long long)ops[i].arg2,
                ops[i].rc, (unsigned long long)ops[i].out, ops[i].fn_present,
                (unsigned long long)ops[i].fn_seen);
}

/* Sets each hot key absent or to a fresh value and returns the states. */
static void set_initial(uint64_t *rng, struct lin_state *initial) {
    unsigned char key[1024];
    for (int k = 0; k < HOT_KEYS; k++) {
        size_t len = hot_key(k, key);
        initial[k].present = (int)(test_rand(rng) % 2);
        initial[k].val = initial[k].present ? test_rand(rng) % 8 : 0; /* small: cas hits */
        if (initial[k].present)
            IX->put(tree, key, len, initial[k].val, NULL);
        else
            IX->del(tree, key, len, NULL);
    }
}

/* The fillers hold their slot numbers; check() passes. */
static int fillers_intact(void) {
    unsigned char key[1024];
    for (int s = 0; s < HOT_KEYS * (FILLERS + 1); s++) {
        if (s % (FILLERS + 1) == 0)
            continue;
        uint64_t v = 0;
        if (IX->get(tree, key, slot_key(s, key), &v) != LARCH_OK || v != (uint64_t)s)
            return 0;
    }
    return IX->check(tree, stderr) == LARCH_OK;
}

static void check_history(struct worker *workers, const struct lin_state *initial,
                          struct totals *t) {
    unsigned char key[1024];
    for (int k = 0; k < HOT_KEYS; k++) {
        struct lin_op sub[THREADS * OPS_PER_THREAD + 1];
        size_t n = 0;
        for (int w = 0; w < THREADS; w++)
            for (int i = 0; i < OPS_PER_THREAD; i++)
                if (workers[w].ops[i].key == k)
                    sub[n++] = workers[w].ops[i];
        t->overlapping += overlapping_pairs(sub, n);
        /* The final state, read after every call returned. */
        struct lin_op *last = &sub[n++];
        *last = (struct lin_op){.kind = LIN_GET, .key = k, .invoke = stamp()};
        last->rc = IX->get(tree, key, hot_key(k, key), &last->out);
        last->ret = stamp();
        long steps = 0;
        int ok = lin_check(sub, n, initial[k], &steps);
        t->subhistories++;
        t->ops += (long)n;
        t->steps += steps;
        if (!ok) {
            t->violations++;
            fprintf(stderr, "  %s: key %d: no linearization of this history:\n", IX->name, k);
            print_history(sub, n, initial[k]);
            CHECK(!"linearizable");
        }
    }
}

static void histories_of_concurrent_calls_are_linearizable(void) {
    long histories = (under_sanitizer() ? 600 : 2500) * stress_scale();
    tree = IX->new_();
    REQUIRE(tree != NULL);
    static struct worker workers[THREADS];
    pthread_t threads[THREADS];
    pthread_barrier_init(&start_line, NULL, THREADS + 1);
    pthread_barrier_init(&finish_line, NULL, THREADS + 1);
    atomic_store(&quit, 0);
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.id = i, .rng = 0x1234567ULL * (uint64_t)(i + 1)};
        pthread_create(&threads[i], NULL, worker_main, &workers[i]);
    }
    uint64_t rng = 99;
    struct totals t = {0};
    for (long h = 0; h < histories && t.violations == 0; h++) {
        if (h % 2 == 0) { /* a new layout: short keys, then long ones */
            IX->free_(tree);
            tree = IX->new_();
            REQUIRE(tree != NULL);
            long_keys = h % 4 == 2;
            unsigned char key[1024];
            for (int s = 0; s < HOT_KEYS * (FILLERS + 1); s++)
                if (s % (FILLERS + 1) != 0)
                    IX->put(tree, key, slot_key(s, key), (uint64_t)s, NULL);
        }
        struct lin_state initial[HOT_KEYS];
        set_initial(&rng, initial);
        atomic_store(&arrived, 0);
        pthread_barrier_wait(&start_line);
        pthread_barrier_wait(&finish_line);
        check_history(workers, initial, &t);
        t.histories++;
        if (h % 16 == 15)
            CHECK(fillers_intact());
    }
    atomic_store(&quit, 1);
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start_line);
    pthread_barrier_destroy(&finish_line);
    CHECK(fillers_intact());
    fprintf(stderr,
            "    %ld histories of %d threads, %ld per-key sub-histories, %ld operations checked "
            "(%ld pairs of calls on one key overlapped in time), %ld search steps, %ld "
            "violations\n",
            t.histories, THREADS, t.subhistories, t.ops, t.overlapping, t.steps, t.violations);
    CHECK_EQ(t.violations, 0);
    IX->free_(tree);
}

int main(void) {
    RUN(the_checker_accepts_what_is_linearizable_and_nothing_else);
    FOR_EACH_INDEX {
        RUN(histories_of_concurrent_calls_are_linearizable);
    }
    return harness_finish();
}
