/* Allocation failure, from outside: a program built against the installed larch
 * that makes the k-th allocation of a call fail, for every k, along new, put,
 * insert, update, cas, del, iter_new, seeks, moves and scan of every installed
 * tree, and checks that each failure is LARCH_ENOMEM (NULL from a constructor, an
 * invalid iterator whose status says LARCH_ENOMEM) with the tree exactly as
 * before, and that nothing leaks.
 *
 * The mechanism is the documented one (README, "Reliability"): larch takes memory
 * only through malloc, calloc, aligned_alloc and free, so a program can put its own
 * functions in front of those four. Built with -DWRAP and linked statically with
 * -Wl,--wrap=malloc,... it defines __wrap_malloc and friends (which works under
 * every sanitizer); built without, it interposes malloc and friends themselves,
 * which the shared library then calls too. Failures are armed only on this thread
 * and only around one larch call, so whatever the call asks of the C library on
 * larch's behalf (pthread_setspecific, say, when interposing) can fail too. */
#include <larch/larch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the allocator in front ------------------------------------------------------ */

static _Thread_local long countdown = -1; /* allocations still allowed; < 0: disarmed */
static _Thread_local unsigned long allocations;
static atomic_long live; /* allocations not yet freed */

static int fail_now(void) {
    allocations++;
    if (countdown < 0)
        return 0;
    if (countdown == 0)
        return 1; /* sticky: every later allocation of the call fails too */
    countdown--;
    return 0;
}

static void *counted(void *p) {
    if (p)
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

static void uncounted(void *p) {
    if (p)
        atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
}

#ifdef WRAP
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
void __wrap_free(void *p);
#define REAL(name) __real_##name
#define FRONT(name) __wrap_##name
#else
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);
#define __libc_aligned_alloc __libc_memalign
#define REAL(name) __libc_##name
#define FRONT(name) name
#endif

void *FRONT(malloc)(size_t size) {
    return fail_now() ? NULL : counted(REAL(malloc)(size));
}

void *FRONT(calloc)(size_t n, size_t size) {
    return fail_now() ? NULL : counted(REAL(calloc)(n, size));
}

void *FRONT(aligned_alloc)(size_t align, size_t size) {
    return fail_now() ? NULL : counted(REAL(aligned_alloc)(align, size));
}

void FRONT(free)(void *p) {
    uncounted(p);
    REAL(free)(p);
}

/* Arms a failure at the k-th allocation from now; returns the allocations so far. */
static unsigned long arm(long k) {
    countdown = k;
    return allocations;
}

/* Disarms; returns the allocations made since `since`. */
static long disarm(unsigned long since) {
    countdown = -1;
    return (long)(allocations - since);
}

/* ---- each tree behind one table ------------------------------------------------- */

struct tree_ops {
    const char *name;
    void *(*new_)(void);
    void (*free_)(void *t);
    int (*put)(void *t, const void *key, size_t len, uint64_t val, uint64_t *old);
    int (*insert)(void *t, const void *key, size_t len, uint64_t val, uint64_t *cur);
    int (*get)(void *t, const void *key, size_t len, uint64_t *val);
    int (*del)(void *t, const void *key, size_t len, uint64_t *old);
    int (*cas)(void *t, const void *key, size_t len, uint64_t expected, uint64_t desired,
               uint64_t *cur);
    int (*update)(void *t, const void *key, size_t len, larch_update_fn fn, void *ctx);
    long (*scan)(void *t, const void *lo, size_t lolen, const void *hi, size_t hilen,
                 larch_scan_fn fn, void *ctx);
    size_t (*len)(void *t);
    int (*check)(void *t, FILE *err);
    void *(*iter_new)(void *t);
    void (*iter_free)(void *it);
    void (*iter_seek)(void *it, const void *key, size_t len);
    void (*iter_seek_for_prev)(void *it, const void *key, size_t len);
    int (*iter_valid)(const void *it);
    void (*iter_next)(void *it);
    void (*iter_prev)(void *it);
    const void *(*iter_key)(const void *it, size_t *len);
    uint64_t (*iter_value)(const void *it);
    int (*iter_status)(const void *it);
};

/* The wrappers turn void handles back into the tree's own types (no casts). */
#define TREE_OPS(T)                                                                                \
    static void *T##_new_(void) {                                                                  \
        return larch_##T##_new();                                                                  \
    }                                                                                              \
    static void T##_free_(void *t) {                                                               \
        larch_##T##_free(t);                                                                       \
    }                                                                                              \
    static int T##_put(void *t, const void *k, size_t l, uint64_t v, uint64_t *o) {                \
        return larch_##T##_put(t, k, l, v, o);                                                     \
    }                                                                                              \
    static int T##_insert(void *t, const void *k, size_t l, uint64_t v, uint64_t *o) {             \
        return larch_##T##_insert(t, k, l, v, o);                                                  \
    }                                                                                              \
    static int T##_get(void *t, const void *k, size_t l, uint64_t *v) {                            \
        return larch_##T##_get(t, k, l, v);                                                        \
    }                                                                                              \
    static int T##_del(void *t, const void *k, size_t l, uint64_t *o) {                            \
        return larch_##T##_del(t, k, l, o);                                                        \
    }                                                                                              \
    static int T##_cas(void *t, const void *k, size_t l, uint64_t e, uint64_t d, uint64_t *c) {    \
        return larch_##T##_cas(t, k, l, e, d, c);                                                  \
    }                                                                                              \
    static int T##_update(void *t, const void *k, size_t l, larch_update_fn fn, void *ctx) {       \
        return larch_##T##_update(t, k, l, fn, ctx);                                               \
    }                                                                                              \
    static long T##_scan(void *t, const void *lo, size_t ll, const void *hi, size_t hl,            \
                         larch_scan_fn fn, void *ctx) {                                            \
        return larch_##T##_scan(t, lo, ll, hi, hl, fn, ctx);                                       \
    }                                                                                              \
    static size_t T##_len(void *t) {                                                               \
        return larch_##T##_len(t);                                                                 \
    }                                                                                              \
    static int T##_check(void *t, FILE *err) {                                                     \
        return larch_##T##_check(t, err);                                                          \
    }                                                                                              \
    static void *T##_iter_new(void *t) {                                                           \
        return larch_##T##_iter_new(t);                                                            \
    }                                                                                              \
    static void T##_iter_free(void *it) {                                                          \
        larch_##T##_iter_free(it);                                                                 \
    }                                                                                              \
    static void T##_iter_seek(void *it, const void *k, size_t l) {                                 \
        larch_##T##_iter_seek(it, k, l);                                                           \
    }                                                                                              \
    static void T##_iter_seek_for_prev(void *it, const void *k, size_t l) {                        \
        larch_##T##_iter_seek_for_prev(it, k, l);                                                  \
    }                                                                                              \
    static int T##_iter_valid(const void *it) {                                                    \
        return larch_##T##_iter_valid(it);                                                         \
    }                                                                                              \
    static void T##_iter_next(void *it) {                                                          \
        larch_##T##_iter_next(it);                                                                 \
    }                                                                                              \
    static void T##_iter_prev(void *it) {                                                          \
        larch_##T##_iter_prev(it);                                                                 \
    }                                                                                              \
    static const void *T##_iter_key(const void *it, size_t *l) {                                   \
        return larch_##T##_iter_key(it, l);                                                        \
    }                                                                                              \
    static uint64_t T##_iter_value(const void *it) {                                               \
        return larch_##T##_iter_value(it);                                                         \
    }                                                                                              \
    static int T##_iter_status(const void *it) {                                                   \
        return larch_##T##_iter_status(it);                                                        \
    }                                                                                              \
    static const struct tree_ops T##_ops = {#T,                                                    \
                                            T##_new_,                                              \
                                            T##_free_,                                             \
                                            T##_put,                                               \
                                            T##_insert,                                            \
                                            T##_get,                                               \
                                            T##_del,                                               \
                                            T##_cas,                                               \
                                            T##_update,                                            \
                                            T##_scan,                                              \
                                            T##_len,                                               \
                                            T##_check,                                             \
                                            T##_iter_new,                                          \
                                            T##_iter_free,                                         \
                                            T##_iter_seek,                                         \
                                            T##_iter_seek_for_prev,                                \
                                            T##_iter_valid,                                        \
                                            T##_iter_next,                                         \
                                            T##_iter_prev,                                         \
                                            T##_iter_key,                                          \
                                            T##_iter_value,                                        \
                                            T##_iter_status};

TREE_OPS(btree)
#if __has_include(<larch/art.h>)
TREE_OPS(art)
#endif

static const struct tree_ops *const trees[] = {
    &btree_ops,
#if __has_include(<larch/art.h>)
    &art_ops,
#endif
};

/* ---- the expected contents ------------------------------------------------------- */

/* Key `id`: two bytes of id, then one key in four 700 bytes long (few to a node, so
 * that puts split nodes and deletes merge them), the others 20. */
enum { KEYS = 600 };
static unsigned char key_buf[LARCH_KEY_MAX];

static size_t key_of(unsigned id, unsigned char *out) {
    size_t len = id % 4 == 0 ? 700 : 20;
    memset(out, 'x', len);
    out[0] = (unsigned char)(id >> 8);
    out[1] = (unsigned char)id;
    return len;
}

static unsigned char present[KEYS];
static uint64_t value[KEYS];
static size_t count;

static const struct tree_ops *T;
static long failures, calls;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "alloc_fail (%s): ", T->name);                                             \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

struct scan_state {
    unsigned next;
    int ok;
};

static int scan_expect(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_state *s = ctx;
    while (s->next < KEYS && !present[s->next])
        s->next++;
    unsigned char want[LARCH_KEY_MAX];
    size_t wlen = s->next < KEYS ? key_of(s->next, want) : 0;
    if (s->next >= KEYS || len != wlen || memcmp(key, want, len) != 0 || val != value[s->next])
        s->ok = 0;
    s->next++;
    return !s->ok;
}

/* The tree holds exactly the expected contents and passes its check. */
static void expect_contents(void *t, const char *after) {
    struct scan_state s = {0, 1};
    if (T->check(t, stderr) != LARCH_OK)
        FAIL("check failed after %s", after);
    if (T->len(t) != count)
        FAIL("len %zu, expected %zu after %s", T->len(t), count, after);
    long n = T->scan(t, NULL, 0, NULL, 0, scan_expect, &s);
    if (!s.ok || n != (long)count)
        FAIL("contents differ after %s (scan %ld of %zu)", after, n, count);
}

/* ---- the walks ------------------------------------------------------------------- */

enum op { PUT, INSERT, DEL, CAS, UPDATE_STORE, UPDATE_DELETE };
static const char *const op_names[] = {"put", "insert",       "del",
                                       "cas", "update store", "update delete"};

static int fn_calls;

static int store_7(void *ctx, uint64_t *val, int present_) {
    (void)ctx, (void)present_;
    fn_calls++;
    *val = 7;
    return LARCH_UPDATE_STORE;
}

static int delete_it(void *ctx, uint64_t *val, int present_) {
    (void)ctx, (void)val, (void)present_;
    fn_calls++;
    return LARCH_UPDATE_DELETE;
}

static int call(void *t, enum op op, unsigned id, uint64_t v) {
    size_t len = key_of(id, key_buf);
    switch (op) {
    case PUT:
        return T->put(t, key_buf, len, v, NULL);
    case INSERT:
        return T->insert(t, key_buf, len, v, NULL);
    case DEL:
        return T->del(t, key_buf, len, NULL);
    case CAS:
        return T->cas(t, key_buf, len, value[id], v, NULL);
    case UPDATE_STORE:
        return T->update(t, key_buf, len, store_7, NULL);
    default:
        return T->update(t, key_buf, len, delete_it, NULL);
    }
}

/* Every failure point of one call: ENOMEM leaves the tree as it was; the call that
 * gets through does its job. */
static void walk(void *t, enum op op, unsigned id, uint64_t v) {
    calls++;
    for (long k = 0;; k++) {
        fn_calls = 0;
        unsigned long since = arm(k);
        int rc = call(t, op, id, v);
        long made = disarm(since);
        if (rc == LARCH_ENOMEM) {
            if (made <= k)
                FAIL("%s returned LARCH_ENOMEM with no allocation failing", op_names[op]);
            if (fn_calls)
                FAIL("update failed with LARCH_ENOMEM after its fn ran");
            expect_contents(t, "a failed call");
            failures++;
            continue;
        }
        if (rc < 0)
            FAIL("%s of key %u: %s", op_names[op], id, larch_strerror(rc));
        /* It went through: apply it to the expectation. */
        int was = present[id];
        uint64_t old = value[id];
        if (op == PUT || (op == INSERT && !was) || (op == CAS && was) || op == UPDATE_STORE) {
            count += !was;
            present[id] = 1;
            value[id] = op == UPDATE_STORE ? 7 : v;
        } else if ((op == DEL || op == UPDATE_DELETE) && was) {
            count--;
            present[id] = 0;
        }
        expect_contents(t, op_names[op]);
        if (made <= k)
            return;
        /* It needed none of the allocation that failed; put the key back as it was
         * and walk on (rare: an allocation it could do without). */
        size_t len = key_of(id, key_buf);
        if (was)
            T->put(t, key_buf, len, old, NULL);
        else
            T->del(t, key_buf, len, NULL);
        count += (size_t)was - (size_t)present[id];
        present[id] = (unsigned char)was;
        value[id] = old;
        expect_contents(t, "undoing a call");
    }
}

static void walk_new(void) {
    for (long k = 0;; k++) {
        unsigned long since = arm(k);
        void *t = T->new_();
        long made = disarm(since);
        if (!t) {
            failures++;
            continue;
        }
        T->free_(t);
        if (made <= k)
            return;
    }
}

/* iter_new, then a seek and moves in both directions, each at every failure point:
 * an iterator that fails is invalid with status LARCH_ENOMEM, and works again. */
static void walk_iterator(void *t, unsigned id) {
    for (long k = 0;; k++) {
        unsigned long since = arm(k);
        void *it = T->iter_new(t);
        int ok = it != NULL;
        size_t len = key_of(id, key_buf);
        if (ok)
            T->iter_seek(it, key_buf, len);
        for (int i = 0; ok && i < 30 && T->iter_valid(it); i++)
            T->iter_next(it);
        if (ok)
            T->iter_seek_for_prev(it, key_buf, len);
        for (int i = 0; ok && i < 30 && T->iter_valid(it); i++)
            T->iter_prev(it);
        int status = ok ? T->iter_status(it) : LARCH_ENOMEM;
        long made = disarm(since);
        if (status == LARCH_ENOMEM) {
            failures++;
            if (ok) {
                if (T->iter_valid(it))
                    FAIL("an iterator that ran out of memory is valid");
                T->iter_seek(it, key_buf, len); /* and it works again */
                if (T->iter_status(it) != LARCH_OK)
                    FAIL("an iterator did not recover from LARCH_ENOMEM");
                T->iter_free(it);
            }
            continue;
        }
        if (status != LARCH_OK)
            FAIL("iterator status %s", larch_strerror(status));
        T->iter_free(it);
        if (made <= k)
            return;
    }
}

struct counter {
    long n;
};

static int count_all(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len, (void)val;
    ((struct counter *)ctx)->n++;
    return 0;
}

static void walk_scan(void *t) {
    for (long k = 0;; k++) {
        struct counter c = {0};
        unsigned long since = arm(k);
        long n = T->scan(t, NULL, 0, NULL, 0, count_all, &c);
        long made = disarm(since);
        if (n == LARCH_ENOMEM) {
            failures++;
            continue;
        }
        if (n != (long)count || c.n != n)
            FAIL("scan counted %ld of %zu", n, count);
        if (made <= k)
            return;
    }
}

static uint64_t rng = 88172645463325252ULL;

static unsigned next_id(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % KEYS);
}

static void run_tree(void) {
    memset(present, 0, sizeof present);
    count = 0;
    walk_new();
    void *t = T->new_();
    if (!t)
        FAIL("new");
    /* Grow it with walked puts and inserts, churn it, then empty it with walked
     * deletes, so that splits, merges and root changes all meet failures. */
    for (int i = 0; i < 2 * KEYS; i++)
        walk(t, i % 3 == 2 ? INSERT : PUT, next_id(), rng >> 40);
    for (int i = 0; i < KEYS; i++) {
        static const enum op mix[] = {PUT, INSERT, DEL, CAS, UPDATE_STORE, UPDATE_DELETE};
        walk(t, mix[i % 6], next_id(), rng >> 40);
        if (i % 40 == 0) {
            walk_iterator(t, next_id());
            walk_scan(t);
        }
    }
    for (unsigned id = 0; id < KEYS; id++)
        if (present[id])
            walk(t, id % 2 ? DEL : UPDATE_DELETE, id, 0);
    expect_contents(t, "emptying");
    T->free_(t);
}

/* Live allocations once a pass is over and its retirements have run. */
static long settled(void) {
    larch_epoch_barrier();
    return atomic_load(&live);
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "alloc_fail";
    printf("%s: walking every allocation failure point, twice per tree\n", how);
    fflush(stdout);
    /* The first pass leaves larch's per-thread caches (the thread's epoch record
     * and its spare bags) in place; a second pass over the same kinds of calls
     * must end with exactly as many live allocations, or a failure path leaks. */
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) {
        T = trees[i];
        failures = calls = 0;
        run_tree();
        long first = settled();
        run_tree();
        long second = settled();
        printf("%s: %s: %ld calls walked, %ld allocation failures injected, each LARCH_ENOMEM "
               "with the tree unchanged; live allocations %ld after the first pass, %ld after "
               "the second\n",
               how, T->name, calls, failures, first, second);
        if (failures == 0)
            FAIL("no allocation ever failed: the allocator in front is not in use");
        if (second != first)
            FAIL("%ld allocations leaked", second - first);
    }
    return 0;
}
