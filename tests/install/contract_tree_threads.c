/* The B+ tree and ART contract of API.md under concurrency, checked from outside:
 * values handed out while pinned stay protected, every displaced value reaches one
 * caller, iterators and scans keep their promises while writers run, and objects
 * behind values are handed over whole. Built against the installed library only. */
#include "contract_tree.h"

#include <pthread.h>

/* ---- epochs and handed-out values -------------------------------------------------- */

struct object {
    atomic_int alive;
};

static void kill_object(void *p) {
    struct object *o = p;
    atomic_store(&o->alive, 0);
}

struct deleter {
    void *t;
    atomic_int retired;
    struct object *old;
};

static void *delete_and_retire(void *arg) {
    struct deleter *d = arg;
    uint64_t old = 0;
    if (T->del(d->t, "obj", 3, &old) == LARCH_OK) {
        d->old = (struct object *)(uintptr_t)old;
        larch_epoch_retire(d->old, kill_object);
    }
    atomic_store(&d->retired, 1);
    larch_epoch_barrier(); /* waits for the reader's pin to end */
    return NULL;
}

static void value_returned_while_pinned_stays_protected_until_unpin(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct object obj = {1};
    CHECK_EQ(T->put(t, "obj", 3, (uint64_t)(uintptr_t)&obj, NULL), LARCH_OK);
    void *it = T->iter_new(t);
    REQUIRE(it);
    larch_epoch_pin();
    T->seek(it, "obj", 3);
    struct object *seen = (struct object *)(uintptr_t)T->value(it);
    struct deleter d = {t, 0, NULL};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, delete_and_retire, &d) == 0);
    while (!atomic_load(&d.retired))
        ;
    CHECK(seen == &obj && d.old == &obj);
    for (int i = 0; i < 1000; i++) { /* other threads' sections come and go */
        larch_epoch_pin();
        larch_epoch_unpin();
    }
    CHECK_EQ(atomic_load(&seen->alive), 1);
    larch_epoch_unpin();
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&obj.alive), 0);
    T->iter_free(it);
    T->free_(t);
}

static void value_from_a_batch_read_before_the_pin_is_still_protected(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct object objs[4] = {{1}, {1}, {1}, {1}};
    CHECK_EQ(T->put(t, "a", 1, (uint64_t)(uintptr_t)&objs[0], NULL), LARCH_OK);
    CHECK_EQ(T->put(t, "b", 1, (uint64_t)(uintptr_t)&objs[1], NULL), LARCH_OK);
    CHECK_EQ(T->put(t, "c", 1, (uint64_t)(uintptr_t)&objs[2], NULL), LARCH_OK);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it); /* unpinned: whatever it read ahead is not protected */
    CHECK(key_is_s(it, "a"));
    uint64_t old;
    CHECK_EQ(T->del(t, "b", 1, &old), LARCH_OK);
    larch_epoch_retire((void *)(uintptr_t)old, kill_object);
    CHECK_EQ(T->put(t, "c", 1, (uint64_t)(uintptr_t)&objs[3], &old), LARCH_EXISTS);
    larch_epoch_retire((void *)(uintptr_t)old, kill_object);
    larch_epoch_barrier(); /* b's and c's old objects are gone */
    CHECK(!atomic_load(&objs[1].alive) && !atomic_load(&objs[2].alive));
    larch_epoch_pin();
    T->next(it); /* must not hand out a reclaimed object */
    CHECK(key_is_s(it, "c"));
    const struct object *o = (const struct object *)(uintptr_t)T->value(it);
    CHECK(o == &objs[3] && atomic_load(&o->alive));
    larch_epoch_unpin();
    T->iter_free(it);
    T->free_(t);
}

static void open_iterator_blocks_neither_writers_nor_reclamation(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct object *obj = malloc(sizeof *obj);
    REQUIRE(obj);
    atomic_init(&obj->alive, 1);
    CHECK_EQ(T->put(t, "obj", 3, (uint64_t)(uintptr_t)obj, NULL), LARCH_OK);
    CHECK_EQ(put_s(t, "other", 1), LARCH_OK);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it); /* positioned on "obj", and left open */
    CHECK(key_is_s(it, "obj"));
    uint64_t old = 0;
    CHECK_EQ(T->del(t, "obj", 3, &old), LARCH_OK);
    larch_epoch_retire((void *)(uintptr_t)old, kill_object);
    larch_epoch_barrier(); /* returns: the open iterator pins nothing */
    CHECK_EQ(atomic_load(&obj->alive), 0);
    CHECK(key_is_s(it, "obj")); /* its key is its own copy */
    T->next(it);
    CHECK(key_is_s(it, "other"));
    T->iter_free(it);
    free(obj);
    T->free_(t);
}

/* ---- concurrency --------------------------------------------------------------------- */

enum { WRITERS = 4, PER_WRITER = 3000 };

struct writer {
    void *t;
    int id;
    atomic_int *done;
    long failures;
};

static void *write_own_keys(void *arg) {
    struct writer *w = arg;
    char k[16];
    for (int i = 0; i < PER_WRITER; i++) {
        size_t len = (size_t)snprintf(k, sizeof k, "w%d-%05d", w->id, i);
        w->failures += T->put(w->t, k, len, (uint64_t)i, NULL) != LARCH_OK;
        if (i % 3 == 0)
            w->failures += T->del(w->t, k, len, NULL) != LARCH_OK;
    }
    atomic_fetch_add(w->done, 1);
    return NULL;
}

struct order_ctx {
    char last[16];
    size_t last_len;
    long calls, disorder, fixed_seen;
};

static int check_ascending(void *ctx, const void *key, size_t len, uint64_t val) {
    struct order_ctx *o = ctx;
    size_t m = len < o->last_len ? len : o->last_len;
    int c = memcmp(o->last, key, m);
    if (o->calls > 0 && (c > 0 || (c == 0 && o->last_len >= len)))
        o->disorder++;
    o->fixed_seen += len == 5 && memcmp(key, "fixed", 5) == 0 && val == 5;
    memcpy(o->last, key, len < 16 ? len : 16);
    o->last_len = len < 16 ? len : 16;
    o->calls++;
    return 0;
}

static void concurrent_writers_need_no_registration_and_lose_nothing(void) {
    void *t = T->new_();
    REQUIRE(t);
    CHECK_EQ(put_s(t, "fixed", 5), LARCH_OK); /* present for every pass below */
    atomic_int done = 0;
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){t, i, &done, 0};
        REQUIRE(pthread_create(&th[i], NULL, write_own_keys, &w[i]) == 0);
    }
    long passes = 0, disorder = 0, missed = 0;
    void *it = T->iter_new(t);
    REQUIRE(it);
    while (atomic_load(&done) < WRITERS || passes < 2) {
        struct order_ctx o = {.calls = 0};
        CHECK(T->scan(t, NULL, 0, NULL, 0, check_ascending, &o) == o.calls);
        disorder += o.disorder;
        missed += o.fixed_seen != 1;
        int found = 0;
        for (T->seek_last(it); T->valid(it); T->prev(it))
            found += key_is_s(it, "fixed");
        missed += found != 1;
        CHECK_EQ(T->status(it), LARCH_OK);
        passes++;
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(w[i].failures, 0);
    }
    CHECK_EQ(disorder, 0);
    CHECK_EQ(missed, 0);
    CHECK_EQ(T->len(t), 1 + WRITERS * (PER_WRITER - (PER_WRITER + 2) / 3));
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->iter_free(it);
    T->free_(t);
}

/* Every value that leaves the tree reaches exactly one caller: over a mix of every
 * writing call on a few hot keys, what went in equals what came out plus what is
 * left (as sums and counts of unique values). */
enum { HOT_KEYS = 4, MIX_OPS = 4000 };

struct ledger {
    void *t;
    int id;
    uint64_t in_sum, out_sum;
    long in_count, out_count;
};

static int displacing_update(void *ctx, uint64_t *val, int present) {
    uint64_t *cell = ctx; /* in: the value to store (0: delete); out: the displaced one */
    uint64_t store = cell[0];
    cell[1] = present ? *val : 0;
    cell[2] = present;
    *val = store;
    return store ? LARCH_UPDATE_STORE : LARCH_UPDATE_DELETE;
}

static void *mix_writes(void *arg) {
    struct ledger *l = arg;
    uint64_t seed = (uint64_t)l->id * 0x9E3779B97F4A7C15u + 1;
    for (int i = 0; i < MIX_OPS; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        char k[2] = {'h', (char)('0' + (seed >> 40) % HOT_KEYS)};
        uint64_t fresh = (uint64_t)l->id << 32 | (uint64_t)(i + 1), old = 0;
        int rc;
        switch ((seed >> 50) % 5) {
        case 0:
            rc = T->put(l->t, k, 2, fresh, &old);
            l->in_sum += fresh, l->in_count++;
            if (rc == LARCH_EXISTS)
                l->out_sum += old, l->out_count++;
            break;
        case 1:
            if (T->insert(l->t, k, 2, fresh, NULL) == LARCH_OK)
                l->in_sum += fresh, l->in_count++;
            break;
        case 2:
            if (T->del(l->t, k, 2, &old) == LARCH_OK)
                l->out_sum += old, l->out_count++;
            break;
        case 3:
            if (T->get(l->t, k, 2, &old) == LARCH_OK &&
                T->cas(l->t, k, 2, old, fresh, NULL) == LARCH_OK) {
                l->in_sum += fresh, l->in_count++;
                l->out_sum += old, l->out_count++;
            }
            break;
        default: {
            uint64_t cell[3] = {(seed >> 20) % 3 ? fresh : 0, 0, 0};
            if (T->update(l->t, k, 2, displacing_update, cell) >= 0) {
                if (cell[0])
                    l->in_sum += fresh, l->in_count++;
                if (cell[2])
                    l->out_sum += cell[1], l->out_count++;
            }
        }
        }
    }
    return NULL;
}

static void displaced_values_reach_exactly_one_caller(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct ledger l[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        l[i] = (struct ledger){t, i + 1, 0, 0, 0, 0};
        REQUIRE(pthread_create(&th[i], NULL, mix_writes, &l[i]) == 0);
    }
    uint64_t in_sum = 0, out_sum = 0;
    long in_count = 0, out_count = 0;
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        in_sum += l[i].in_sum, out_sum += l[i].out_sum;
        in_count += l[i].in_count, out_count += l[i].out_count;
    }
    for (int k = 0; k < HOT_KEYS; k++) {
        char key[2] = {'h', (char)('0' + k)};
        uint64_t v;
        if (T->get(t, key, 2, &v) == LARCH_OK)
            out_sum += v, out_count++;
    }
    CHECK_EQ(in_count, out_count);
    CHECK(in_sum == out_sum);
    CHECK_EQ(T->check(t, NULL), LARCH_OK);
    T->free_(t);
}

static int increment(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)present;
    ++*val;
    return LARCH_UPDATE_STORE;
}

static void *increment_many(void *arg) {
    for (int i = 0; i < MIX_OPS; i++)
        if (T->update(arg, "counter", 7, increment, NULL) < 0)
            return (void *)1;
    return NULL;
}

static void concurrent_updates_are_atomic(void) {
    void *t = T->new_();
    REQUIRE(t);
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        REQUIRE(pthread_create(&th[i], NULL, increment_many, t) == 0);
    for (int i = 0; i < WRITERS; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
    CHECK(has(t, "counter", 7, WRITERS * MIX_OPS));
    T->free_(t);
}

/* A value that points to an object hands over the object: a reader that gets the
 * value (get, iterator, scan) while pinned sees everything the writer wrote into the
 * object before put (a ThreadSanitizer build would report a race otherwise), and
 * the writer may retire the object it displaced. */
struct payload {
    long magic, serial; /* plain fields, written before put */
};

enum { PAYLOAD_MAGIC = 0x5ca1ab1e, HANDOVER_KEYS = 16, HANDOVER_PUTS = 3000 };

static void free_payload(void *p) {
    free(p);
}

struct handover {
    void *t;
    atomic_int done;
    long bad;
};

static void *publish_payloads(void *arg) {
    struct handover *h = arg;
    for (long i = 0; i < HANDOVER_PUTS; i++) {
        struct payload *p = malloc(sizeof *p);
        p->magic = PAYLOAD_MAGIC;
        p->serial = i;
        char k[2] = {'p', (char)('a' + i % HANDOVER_KEYS)};
        uint64_t old;
        larch_epoch_pin();
        if (T->put(h->t, k, 2, (uint64_t)(uintptr_t)p, &old) == LARCH_EXISTS)
            larch_epoch_retire((void *)(uintptr_t)old, free_payload);
        larch_epoch_unpin();
    }
    atomic_store(&h->done, 1);
    return NULL;
}

static int payload_ok(uint64_t v) {
    const struct payload *p = (const struct payload *)(uintptr_t)v;
    return p->magic == PAYLOAD_MAGIC && p->serial >= 0 && p->serial < HANDOVER_PUTS;
}

static int check_payload(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)key, (void)len;
    *(long *)ctx += !payload_ok(val);
    return 0;
}

static void values_hand_over_the_objects_they_point_to(void) {
    void *t = T->new_();
    REQUIRE(t);
    struct handover h = {t, 0, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, publish_payloads, &h) == 0);
    void *it = T->iter_new(t);
    REQUIRE(it);
    long bad = 0, reads = 0;
    while (!atomic_load(&h.done) || reads == 0) {
        larch_epoch_pin();
        for (int k = 0; k < HANDOVER_KEYS; k++) {
            char key[2] = {'p', (char)('a' + k)};
            uint64_t v;
            if (T->get(t, key, 2, &v) == LARCH_OK)
                bad += !payload_ok(v), reads++;
        }
        for (T->seek_first(it); T->valid(it); T->next(it))
            bad += !payload_ok(T->value(it)), reads++;
        CHECK(T->scan(t, NULL, 0, NULL, 0, check_payload, &bad) >= 0);
        larch_epoch_unpin();
    }
    pthread_join(th, NULL);
    CHECK_EQ(bad, 0);
    T->iter_free(it);
    for (int k = 0; k < HANDOVER_KEYS; k++) {
        char key[2] = {'p', (char)('a' + k)};
        uint64_t v;
        if (T->del(t, key, 2, &v) == LARCH_OK)
            larch_epoch_retire((void *)(uintptr_t)v, free_payload);
    }
    larch_epoch_barrier();
    T->free_(t);
}

/* Trees made, emptied and freed while other threads hold pins and use trees of
 * their own: free must not race with the reclamation of what the tree retired. */
struct churn {
    atomic_int stop;
    long failures;
};

static void *pin_and_use_another_tree(void *arg) {
    struct churn *c = arg;
    void *t = T->new_();
    char k[16];
    for (long i = 0; !atomic_load(&c->stop); i++) {
        larch_epoch_pin();
        size_t len = (size_t)snprintf(k, sizeof k, "%ld", i % 5000);
        c->failures += T->put(t, k, len, (uint64_t)i, NULL) < 0;
        if (i % 2)
            c->failures += T->del(t, k, len, NULL) < 0;
        larch_epoch_unpin();
    }
    T->free_(t);
    return NULL;
}

static void trees_can_be_freed_while_other_threads_work(void) {
    struct churn c = {0, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, pin_and_use_another_tree, &c) == 0);
    char k[16];
    for (int round = 0; round < 20; round++) {
        void *t = T->new_();
        REQUIRE(t);
        for (int i = 0; i < 3000; i++)
            CHECK_EQ(T->put(t, k, (size_t)snprintf(k, sizeof k, "r%d", i), 1, NULL), LARCH_OK);
        for (int i = 0; i < 3000; i += round % 2 + 1) /* merges retire nodes */
            CHECK_EQ(T->del(t, k, (size_t)snprintf(k, sizeof k, "r%d", i), NULL), LARCH_OK);
        T->free_(t);
    }
    atomic_store(&c.stop, 1);
    pthread_join(th, NULL);
    CHECK_EQ(c.failures, 0);
}

struct mover {
    void *it;
    int ok;
};

static void *move_iterator(void *arg) {
    struct mover *m = arg;
    T->next(m->it);
    m->ok = key_is_s(m->it, "b");
    return NULL;
}

static void iterator_may_move_between_threads(void) {
    void *t = abc_tree();
    REQUIRE(t);
    void *it = T->iter_new(t);
    REQUIRE(it);
    T->seek_first(it);
    struct mover m = {it, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, move_iterator, &m) == 0);
    pthread_join(th, NULL);
    CHECK(m.ok);
    T->next(it);
    CHECK(key_is_s(it, "c"));
    T->iter_free(it);
    T->free_(t);
}

int main(void) {
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) {
        T = trees[i];
        fprintf(stderr, "== %s\n", T->name);
        RUN(value_returned_while_pinned_stays_protected_until_unpin);
        RUN(value_from_a_batch_read_before_the_pin_is_still_protected);
        RUN(open_iterator_blocks_neither_writers_nor_reclamation);
        RUN(concurrent_writers_need_no_registration_and_lose_nothing);
        RUN(iterator_may_move_between_threads);
        RUN(displaced_values_reach_exactly_one_caller);
        RUN(concurrent_updates_are_atomic);
        RUN(values_hand_over_the_objects_they_point_to);
        RUN(trees_can_be_freed_while_other_threads_work);
    }
    return harness_finish();
}
