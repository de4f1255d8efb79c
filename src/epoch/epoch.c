/* Epoch-based reclamation, in the manner of crossbeam-epoch's core.
 *
 * A global epoch counter; one cache-line-padded record per thread that says
 * whether the thread is pinned and in which epoch; retired objects collected in
 * per-thread bags, sealed with the epoch current when they fill, and run once the
 * global epoch is two past that. The epoch advances only when every pinned thread
 * has seen the current one, so a thread pinned in epoch e holds it below e + 2: an
 * object unlinked before a bag sealed at e can no longer be reached by anyone once
 * the epoch reaches e + 2.
 *
 * Each thread runs its own sealed bags at the end of its own sections: the thread
 * that retires pays for the reclamation (so it cannot outrun it), and objects are
 * usually freed by the thread that allocated them, which is what malloc is fastest
 * at. Bags of exited threads become orphans that any thread collects; a barrier
 * takes everyone's. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <larch/larch.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "common/compiler.h"
#include "epoch/epoch.h"

/* Bag size: a bag is about 1 KiB, and a full bag is what triggers an advance
 * attempt, so this is also the number of retirements per advance attempt. */
#define BAG_CAPACITY 62
/* Outermost unpins between collection attempts when the epoch has not moved: lets
 * the last bags drain once retiring stops. */
#define COLLECT_PERIOD 256
#define PINNED ((uint64_t)1)

struct retired {
    void *ptr;
    void (*fn)(void *);
};

struct bag {
    struct bag *next;
    uint64_t epoch; /* the global epoch when the bag was sealed */
    unsigned count;
    struct retired items[BAG_CAPACITY];
};

/* A FIFO of sealed bags, oldest first. Tags are nearly in order (threads that seal
 * at the same moment may queue out of order), so collection stops at the first
 * unexpired bag and costs what it frees, not what is queued. */
struct bag_queue {
    struct bag *head, **tail;
};

struct record {
    /* (epoch << 1) | PINNED while pinned, 0 while not; read by advancers. */
    _Atomic uint64_t state;
    /* Guards `partial` and `sealed`: taken by the owner to retire or to detach what
     * has expired, and by a barrier to take everything. Never held across a
     * callback, an allocation or a wait. */
    atomic_int garbage_lock;
    /* Odd while the owner runs bags it detached; a barrier that took the rest of
     * the record's garbage waits for that run to end. */
    _Atomic uint64_t run_seq;
    /* 1 while a thread owns the record; records are reused, never freed. */
    atomic_int in_use;
    /* The registry list; written once before the record is published. */
    struct record *next;

    /* Under garbage_lock. */
    struct bag *partial;
    struct bag_queue sealed;

    /* Owner-only. */
    unsigned nest;       /* pin depth */
    unsigned unpins;     /* outermost unpins, for COLLECT_PERIOD */
    bool collecting;     /* running retirements: no nested collection */
    uint64_t seen_epoch; /* global epoch at the last collection attempt */
    uint64_t pin_gen;    /* bumped at every outermost pin; unique across records */
    struct bag *spare;   /* an empty bag, so retire never allocates under the lock */
} __attribute__((aligned(LARCH_CACHE_PAD)));

/* The epoch is read by every pin: alone on its cache line. */
static struct {
    _Atomic uint64_t value;
} __attribute__((aligned(LARCH_CACHE_PAD))) global_epoch = {1};

static _Atomic(struct record *) registry;
/* Records created so far; a record's number seeds the high bits of its pin
 * generations, so that no two threads ever share one. */
static atomic_uint_fast64_t records_created;
#define PIN_GEN_RECORD_SHIFT 44
/* Sealed bags of exited threads (and of threads without a record). */
static _Atomic(struct bag *) orphans;
/* Threads pinned without a record (record allocation failed); while any are, the
 * epoch cannot advance. */
static _Atomic long overflow_pins;

/* Serialises barriers and the collection of orphans; guards orphan_queue. */
static pthread_mutex_t collect_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bag_queue orphan_queue = {NULL, &orphan_queue.head};
/* orphan_queue.head != NULL, readable without the lock (a hint). */
static atomic_bool orphans_queued;

static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool exit_key_ok;

static LARCH_TLS_IE struct record *self;
static LARCH_TLS_IE unsigned overflow_nest;
/* The thread-exit value of a thread pinned without a record. */
static const char overflow_exit_marker;
#define OVERFLOW_EXIT_HOOK ((void *)&overflow_exit_marker)

static void record_release(void *arg);
static void overflow_unpin(void);

/* ---- bags and queues ------------------------------------------------------- */

static struct bag *bag_alloc(void) {
    struct bag *b = larch__malloc(sizeof *b);
    if (b) {
        b->next = NULL;
        b->count = 0;
    }
    return b;
}

/* Give a bag whose retirements have run back to the thread, or to the allocator. */
static void bag_recycle(struct bag *b) {
    if (self && !self->spare) {
        b->count = 0;
        b->next = NULL;
        self->spare = b;
    } else {
        larch__free(b);
    }
}

/* Tag a full (or final) bag with the current epoch. */
static void bag_seal(struct bag *b) {
    /* seq_cst fence: orders the unlinking of every object in the bag (done before
     * its retire) before the epoch load below, pairing with the fence in
     * try_advance. Without it the load could read an epoch older than the last one
     * in which a reader could still find the object. */
    atomic_thread_fence(memory_order_seq_cst);
    b->epoch = atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
    b->next = NULL;
}

static void queue_init(struct bag_queue *q) {
    q->head = NULL;
    q->tail = &q->head;
}

static void queue_push(struct bag_queue *q, struct bag *b) {
    b->next = NULL;
    *q->tail = b;
    q->tail = &b->next;
}

/* Move all of `from` to the tail of `to`. */
static void queue_splice(struct bag_queue *to, struct bag_queue *from) {
    if (!from->head)
        return;
    *to->tail = from->head;
    to->tail = from->tail;
    queue_init(from);
}

/* Detach the bags at the head of q sealed two epochs before `now`. */
static struct bag_queue queue_take_expired(struct bag_queue *q, uint64_t now) {
    struct bag_queue expired;
    queue_init(&expired);
    /* `now` may be older than a bag's tag: compare without wrapping. */
    while (q->head && q->head->epoch + 2 <= now) {
        struct bag *b = q->head;
        q->head = b->next;
        queue_push(&expired, b);
    }
    if (!q->head)
        q->tail = &q->head;
    return expired;
}

/* Callbacks may retire more objects: those go to the thread's own bags, never to
 * the queue being run. */
static void queue_run(struct bag_queue *q) {
    struct bag *b = q->head;
    while (b) {
        struct bag *next = b->next;
        for (unsigned i = 0; i < b->count; i++)
            b->items[i].fn(b->items[i].ptr);
        bag_recycle(b);
        b = next;
    }
    queue_init(q);
}

static void orphans_push(struct bag_queue *q) {
    if (!q->head)
        return;
    struct bag *head = atomic_load_explicit(&orphans, memory_order_relaxed);
    do {
        *q->tail = head;
        /* release: pairs with the acquire exchange in orphans_take; the collector
         * sees the bags' entries, tags and links. */
    } while (!atomic_compare_exchange_weak_explicit(&orphans, &head, q->head, memory_order_release,
                                                    memory_order_relaxed));
    queue_init(q);
}

/* Move the orphan stack onto orphan_queue. Callers hold collect_lock. */
static void orphans_take(void) {
    /* acquire: pairs with the release CAS in orphans_push. */
    struct bag *b = atomic_exchange_explicit(&orphans, NULL, memory_order_acquire);
    /* The stack holds the newest first: reverse it onto the queue. */
    struct bag_queue batch;
    queue_init(&batch);
    while (b) {
        struct bag *next = b->next;
        b->next = batch.head;
        if (!batch.head)
            batch.tail = &b->next;
        batch.head = b;
        b = next;
    }
    queue_splice(&orphan_queue, &batch);
}

/* ---- the per-record garbage lock ------------------------------------------ */

static void garbage_lock(struct record *r) {
    struct larch__backoff backoff = {0};
    /* acquire: pairs with the release in garbage_unlock; we see the bags as the
     * last holder (owner or barrier) left them. */
    while (atomic_exchange_explicit(&r->garbage_lock, 1, memory_order_acquire))
        larch__backoff_wait(&backoff);
}

static void garbage_unlock(struct record *r) {
    /* release: pairs with the acquire in garbage_lock. */
    atomic_store_explicit(&r->garbage_lock, 0, memory_order_release);
}

/* ---- advancing and collecting --------------------------------------------- */

/* Advance the global epoch if every pinned thread has seen it. Returns the epoch
 * after the attempt. */
static uint64_t try_advance(void) {
    uint64_t e = atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
    /* seq_cst fence: pairs with the seq_cst exchange in larch_epoch_pin and the
     * fence in bag_seal. Either a pin is visible to the loads below, or the pinned
     * thread will see every unlink that preceded this fence. */
    atomic_thread_fence(memory_order_seq_cst);
    /* acquire: pairs with the release in overflow_unpin. */
    if (atomic_load_explicit(&overflow_pins, memory_order_acquire) > 0)
        return e;
    /* acquire: pairs with the release CAS in record_acquire; the list is complete. */
    for (struct record *r = atomic_load_explicit(&registry, memory_order_acquire); r; r = r->next) {
        /* acquire: pairs with the release store in larch_epoch_unpin; every access
         * made in a section that has ended happens before this advance, and so
         * before every retirement run because of it. */
        uint64_t s = atomic_load_explicit(&r->state, memory_order_acquire);
        if ((s & PINNED) && (s >> 1) != e)
            return e;
    }
    /* acq_rel: the release pairs with the acquire loads of the epoch by collectors
     * (successive advances form a release sequence); the acquire orders this
     * advance after the previous one. */
    if (atomic_compare_exchange_strong_explicit(&global_epoch.value, &e, e + 1,
                                                memory_order_acq_rel, memory_order_relaxed))
        return e + 1;
    return e;
}

static uint64_t epoch_acquire(void) {
    /* acquire: pairs with the release CAS in try_advance. */
    return atomic_load_explicit(&global_epoch.value, memory_order_acquire);
}

/* Run the orphans that have expired, unless someone else is already at it. */
static void collect_orphans(void) {
    if (pthread_mutex_trylock(&collect_lock) != 0)
        return;
    orphans_take();
    if (orphan_queue.head && orphan_queue.head->epoch + 2 > epoch_acquire())
        try_advance();
    struct bag_queue expired = queue_take_expired(&orphan_queue, epoch_acquire());
    atomic_store_explicit(&orphans_queued, orphan_queue.head != NULL, memory_order_relaxed);
    queue_run(&expired);
    pthread_mutex_unlock(&collect_lock);
}

/* Only the owner writes run_seq. */
static uint64_t run_seq_next(struct record *r) {
    return atomic_load_explicit(&r->run_seq, memory_order_relaxed) + 1;
}

/* Run the calling thread's expired bags (and expired orphans). */
static LARCH_NOINLINE void collect(struct record *r) {
    r->seen_epoch = atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
    if (r->collecting)
        return;
    r->collecting = true;
    garbage_lock(r);
    bool stuck = r->sealed.head && r->sealed.head->epoch + 2 > r->seen_epoch;
    garbage_unlock(r);
    if (stuck)
        try_advance();

    garbage_lock(r);
    struct bag_queue expired = queue_take_expired(&r->sealed, epoch_acquire());
    if (expired.head)
        /* Odd while we run what we detached; the garbage lock orders this against
         * a barrier's read of it. */
        atomic_store_explicit(&r->run_seq, run_seq_next(r), memory_order_relaxed);
    garbage_unlock(r);
    if (expired.head) {
        queue_run(&expired);
        /* release: pairs with the acquire load in wait_for_run; a barrier that sees
         * the run ended sees everything the callbacks did. */
        atomic_store_explicit(&r->run_seq, run_seq_next(r), memory_order_release);
    }

    if (atomic_load_explicit(&orphans, memory_order_relaxed) ||
        atomic_load_explicit(&orphans_queued, memory_order_relaxed))
        collect_orphans();
    r->collecting = false;
}

/* The end of an outermost section: collect if the epoch moved since the last look,
 * or every COLLECT_PERIOD sections so the last bags drain once retiring stops. */
static inline void section_end(struct record *r) {
    uint64_t now = atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
    if (LARCH_UNLIKELY(now != r->seen_epoch || ++r->unpins % COLLECT_PERIOD == 0))
        collect(r);
}

/* ---- thread records ------------------------------------------------------- */

static void exit_key_create(void) {
    exit_key_ok = pthread_key_create(&exit_key, record_release) == 0;
}

/* Give the calling thread a record: a released one if any, else a new one.
 * NULL if memory (for the record or its thread-exit hook) runs out. */
static LARCH_NOINLINE struct record *record_acquire(void) {
    pthread_once(&exit_key_once, exit_key_create);
    if (!exit_key_ok)
        return NULL;
    struct record *r;
    /* acquire: pairs with the release CAS below; fields of listed records are set. */
    for (r = atomic_load_explicit(&registry, memory_order_acquire); r; r = r->next) {
        int unused = 0;
        /* acquire: pairs with the release store at the end of record_release; the
         * previous owner is done with the record. */
        if (atomic_load_explicit(&r->in_use, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&r->in_use, &unused, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            break;
    }
    if (!r) {
        r = larch__aligned_alloc(LARCH_CACHE_PAD, sizeof *r);
        if (!r)
            return NULL;
        memset(r, 0, sizeof *r);
        atomic_init(&r->state, 0);
        atomic_init(&r->garbage_lock, 0);
        atomic_init(&r->run_seq, 0);
        atomic_init(&r->in_use, 1);
        queue_init(&r->sealed);
        r->pin_gen = (uint64_t)atomic_fetch_add_explicit(&records_created, 1, memory_order_relaxed)
                     << PIN_GEN_RECORD_SHIFT;
        struct record *head = atomic_load_explicit(&registry, memory_order_relaxed);
        do {
            r->next = head;
            /* release: pairs with the acquire loads of the registry; a thread that
             * finds the record sees it initialised. */
        } while (!atomic_compare_exchange_weak_explicit(&registry, &head, r, memory_order_release,
                                                        memory_order_relaxed));
    }
    if (pthread_setspecific(exit_key, r) != 0) {
        /* Without the exit hook the record could never be handed back. release:
         * as at the end of record_release, for the next thread to claim it. */
        atomic_store_explicit(&r->in_use, 0, memory_order_release);
        return NULL;
    }
    r->nest = 0;
    r->unpins = 0;
    r->collecting = false;
    r->seen_epoch = atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
    self = r;
    return r;
}

/* Take every bag of a record onto q, sealing its partial one. `empty` (if not NULL)
 * is an empty bag left in place of a partial one taken, so that the owner's
 * reservation (larch__epoch_reserve) still holds; returns whether it was used. */
static bool record_take_garbage(struct record *r, struct bag_queue *q, struct bag *empty) {
    garbage_lock(r);
    struct bag *partial = r->partial;
    bool swapped = partial && partial->count;
    if (swapped) {
        r->partial = empty;
        bag_seal(partial);
        queue_splice(q, &r->sealed);
        queue_push(q, partial);
    } else {
        queue_splice(q, &r->sealed);
    }
    garbage_unlock(r);
    return swapped && empty;
}

/* Thread exit (pthread key destructor): unpin, run what has expired, hand the rest
 * to the orphans, and release the record for reuse. */
static void record_release(void *arg) {
    if (arg == OVERFLOW_EXIT_HOOK) {
        /* Exiting while pinned without a record: undo the pin. */
        if (overflow_nest) {
            overflow_nest = 1;
            overflow_unpin();
        }
        return;
    }
    struct record *r = arg;
    if (r->nest) {
        r->nest = 0;
        /* release: as in larch_epoch_unpin. */
        atomic_store_explicit(&r->state, 0, memory_order_release);
    }
    collect(r);
    /* The bags reach the orphans before the garbage lock is released: a barrier
     * that finds the record empty finds them there. */
    garbage_lock(r);
    struct bag_queue rest;
    queue_init(&rest);
    queue_splice(&rest, &r->sealed);
    if (r->partial && r->partial->count) {
        bag_seal(r->partial);
        queue_push(&rest, r->partial);
    } else if (r->partial) {
        larch__free(r->partial);
    }
    r->partial = NULL;
    orphans_push(&rest);
    garbage_unlock(r);
    if (r->spare) {
        larch__free(r->spare);
        r->spare = NULL;
    }
    self = NULL;
    /* release: pairs with the acquire CAS in record_acquire. */
    atomic_store_explicit(&r->in_use, 0, memory_order_release);
}

/* ---- pinning without a record (record allocation failed) ------------------ */

/* Pin generations of sections pinned without a record: the top bit set, a global
 * counter below it (this path is rare; the counter's line may be contended). */
static _Atomic uint64_t overflow_generations;
static LARCH_TLS_IE uint64_t overflow_gen;

static LARCH_COLD void overflow_pin(void) {
    if (overflow_nest++ == 0) {
        overflow_gen = (uint64_t)1 << 63 |
                       atomic_fetch_add_explicit(&overflow_generations, 1, memory_order_relaxed);
        /* So that exiting while pinned unpins (best effort: without the key there is
         * no exit hook at all). */
        if (exit_key_ok)
            pthread_setspecific(exit_key, OVERFLOW_EXIT_HOOK);
        /* seq_cst: as the exchange in larch_epoch_pin. */
        atomic_fetch_add_explicit(&overflow_pins, 1, memory_order_seq_cst);
    }
}

static LARCH_COLD void overflow_unpin(void) {
    if (overflow_nest == 0)
        return;
    if (--overflow_nest == 0)
        /* release: as the store in larch_epoch_unpin. */
        atomic_fetch_sub_explicit(&overflow_pins, 1, memory_order_release);
}

/* ---- the public calls ----------------------------------------------------- */

void larch_epoch_pin(void) {
    struct record *r = self;
    if (LARCH_UNLIKELY(!r)) {
        if (overflow_nest == 0)
            r = record_acquire();
        if (!r) {
            overflow_pin();
            return;
        }
    }
    if (r->nest++ == 0) {
        r->pin_gen++;
        uint64_t e = atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
        /* seq_cst exchange (a full barrier): the pinned state is visible before any
         * load made in the section. Pairs with the seq_cst fence in try_advance:
         * either that advancer sees us pinned, or we see every unlink made before
         * its fence. Cheaper here than a store and a separate fence. */
        atomic_exchange_explicit(&r->state, (e << 1) | PINNED, memory_order_seq_cst);
#if !defined(__x86_64__) && !defined(__i386__)
        /* Elsewhere a seq_cst read-modify-write need not order later plain loads
         * (AArch64's ldaxr/stlxr does not): add the fence crossbeam uses. */
        atomic_thread_fence(memory_order_seq_cst);
#endif
    }
}

void larch_epoch_unpin(void) {
    struct record *r = self;
    if (LARCH_UNLIKELY(!r)) {
        overflow_unpin();
        return;
    }
    if (r->nest == 0 || --r->nest != 0)
        return;
    /* release: pairs with the acquire load in try_advance; every access made in the
     * section happens before any advance that sees us unpinned. */
    atomic_store_explicit(&r->state, 0, memory_order_release);
    section_end(r);
}

/* Wait for memory for a bag, running expired retirements meanwhile when allowed. */
static LARCH_COLD struct bag *bag_alloc_waiting(struct record *r) {
    for (;;) {
        struct bag *b = bag_alloc();
        if (b)
            return b;
        if (r && r->nest == 0)
            collect(r);
        if (r && r->spare) {
            b = r->spare;
            r->spare = NULL;
            return b;
        }
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
}

void larch_epoch_retire(void *ptr, void (*fn)(void *)) {
    if (!fn)
        return;
    struct record *r = self;
    if (LARCH_UNLIKELY(!r) && overflow_nest == 0)
        r = record_acquire();
    if (LARCH_UNLIKELY(!r)) {
        struct bag_queue q;
        queue_init(&q);
        struct bag *b = bag_alloc_waiting(NULL);
        b->items[b->count++] = (struct retired){ptr, fn};
        bag_seal(b);
        queue_push(&q, b);
        orphans_push(&q);
        return;
    }

    garbage_lock(r);
    while (LARCH_UNLIKELY(!r->partial && !r->spare)) {
        /* Never allocate (or wait for memory) under the lock a barrier waits on. */
        garbage_unlock(r);
        r->spare = bag_alloc_waiting(r);
        garbage_lock(r);
    }
    struct bag *b = r->partial;
    if (!b) {
        b = r->partial = r->spare;
        r->spare = NULL;
    }
    b->items[b->count++] = (struct retired){ptr, fn};
    bool full = b->count == BAG_CAPACITY;
    if (full) {
        bag_seal(b);
        queue_push(&r->sealed, b);
        r->partial = NULL;
    }
    garbage_unlock(r);
    if (full)
        try_advance();
    if (r->nest == 0)
        section_end(r); /* a retire outside any section is a section of its own */
}

/* Wait until a run of callbacks that was in progress (run_seq odd) has ended. */
static void wait_for_run(struct record *r, uint64_t seq) {
    struct larch__backoff backoff = {0};
    /* acquire: pairs with the release store that ends the run in collect. */
    while ((seq & 1) && atomic_load_explicit(&r->run_seq, memory_order_acquire) == seq)
        larch__backoff_wait(&backoff);
}

void larch_epoch_barrier(void) {
    struct record *me = self;
    if ((me && (me->nest || me->collecting)) || overflow_nest)
        return; /* pinned, or inside a callback: waiting would never end */
    pthread_mutex_lock(&collect_lock);
    if (me)
        me->collecting = true;

    /* Everything retired before this call: every record's bags, live or exited
     * thread, sealed now if partial, and the orphans. */
    struct bag_queue all;
    queue_init(&all);
    struct bag *empty = NULL;
    /* acquire: pairs with the release CAS in record_acquire; records are set up. */
    for (struct record *r = atomic_load_explicit(&registry, memory_order_acquire); r; r = r->next) {
        if (!empty)
            empty = bag_alloc_waiting(NULL);
        if (record_take_garbage(r, &all, empty))
            empty = NULL;
        /* Its owner may be running bags it detached before we came: wait for them,
         * since they too were retired before this call. run_seq was last written
         * under the garbage lock we just released, or after it. */
        wait_for_run(r, atomic_load_explicit(&r->run_seq, memory_order_acquire));
    }
    if (empty)
        bag_recycle(empty);
    orphans_take();
    queue_splice(&all, &orphan_queue);
    atomic_store_explicit(&orphans_queued, false, memory_order_relaxed);

    uint64_t newest = 0;
    for (struct bag *b = all.head; b; b = b->next)
        newest = b->epoch > newest ? b->epoch : newest;
    struct larch__backoff backoff = {0};
    while (all.head && epoch_acquire() < newest + 2) {
        uint64_t before = atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
        if (try_advance() == before)
            larch__backoff_wait(&backoff); /* a pinned thread holds the epoch */
    }
    queue_run(&all);

    if (me)
        me->collecting = false;
    pthread_mutex_unlock(&collect_lock);
}

/* ---- for the trees -------------------------------------------------------- */

int larch__epoch_reserve(void) {
    struct record *r = self;
    if (!r && overflow_nest == 0)
        r = record_acquire();
    if (!r)
        return LARCH_ENOMEM;
    if (!r->spare && !(r->spare = bag_alloc()))
        return LARCH_ENOMEM;
    return LARCH_OK;
}

uint64_t larch__epoch_pin_generation(void) {
    struct record *r = self;
    if (!r)
        return overflow_nest ? overflow_gen : 0;
    return r->nest ? r->pin_gen : 0;
}

size_t larch__epoch_records_idle(void) {
    size_t idle = 0;
    /* acquire: as in larch_epoch_barrier. */
    for (struct record *r = atomic_load_explicit(&registry, memory_order_acquire); r; r = r->next)
        idle += atomic_load_explicit(&r->in_use, memory_order_relaxed) == 0;
    return idle;
}

uint64_t larch__epoch_now(void) {
    return atomic_load_explicit(&global_epoch.value, memory_order_relaxed);
}
