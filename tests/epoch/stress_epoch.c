/* The epoch collector under contention: readers never see a freed object, garbage
 * stays bounded while readers come and go, short-lived threads lose nothing, and a
 * barrier racing with retirers runs everything retired before it. */
#include <larch/epoch.h>

#include <pthread.h>
#include <sched.h>

#include "harness.h"

#define LIVE 0x600DF00DCAFEF00DULL
#define DEAD 0xDEADDEADDEADDEADULL

struct object {
    _Atomic uint64_t magic;
    _Atomic uint64_t payload[3];
};

static atomic_long retired_count, freed_count;

static void free_object(void *p) {
    struct object *o = p;
    atomic_store_explicit(&o->magic, DEAD, memory_order_relaxed);
    free(o);
    atomic_fetch_add_explicit(&freed_count, 1, memory_order_relaxed);
}

static struct object *object_new(uint64_t v) {
    struct object *o = malloc(sizeof *o);
    atomic_init(&o->magic, LIVE);
    for (int i = 0; i < 3; i++)
        atomic_init(&o->payload[i], v);
    return o;
}

static _Atomic(struct object *) slot;
static atomic_int stop;

/* Each reader counts the sections it has completed. A writer asks every reader to
 * pass through an unpinned moment once per HANDSHAKE swaps and waits until it has
 * (two more completed sections: one begun after the request has ended), so how
 * long a reader stays pinned no longer depends on the scheduler: between two
 * handshakes the epoch can always move on, and garbage stays below a bound in
 * swaps, not in time. */
#define HANDSHAKE 8192
#define MAX_READERS 4

struct reader_stats {
    atomic_long sections;
    long bad;
};

static struct reader_stats stats[MAX_READERS];
static int readers_running;

static void *reader(void *arg) {
    struct reader_stats *st = arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        larch_epoch_pin();
        struct object *o = atomic_load_explicit(&slot, memory_order_acquire);
        uint64_t m = atomic_load_explicit(&o->magic, memory_order_relaxed);
        uint64_t a = atomic_load_explicit(&o->payload[0], memory_order_relaxed);
        uint64_t b = atomic_load_explicit(&o->payload[2], memory_order_relaxed);
        if (m != LIVE || a != b)
            st->bad++;
        larch_epoch_unpin();
        atomic_fetch_add_explicit(&st->sections, 1, memory_order_relaxed);
    }
    return NULL;
}

static void wait_for_every_reader_to_unpin(void) {
    long seen[MAX_READERS];
    for (int i = 0; i < readers_running; i++)
        seen[i] = atomic_load_explicit(&stats[i].sections, memory_order_relaxed);
    for (int i = 0; i < readers_running; i++)
        while (atomic_load_explicit(&stats[i].sections, memory_order_relaxed) < seen[i] + 2)
            sched_yield();
}

static long swaps_per_writer;
static atomic_long peak_unfreed;

static void *writer(void *arg) {
    uint64_t id = (uint64_t)(uintptr_t)arg << 40;
    int pinned = id & (1ULL << 40); /* odd writers retire outside any section */
    for (long i = 0; i < swaps_per_writer; i++) {
        struct object *fresh = object_new(id + (uint64_t)i);
        if (pinned)
            larch_epoch_pin();
        struct object *old = atomic_exchange_explicit(&slot, fresh, memory_order_acq_rel);
        larch_epoch_retire(old, free_object);
        if (pinned)
            larch_epoch_unpin();
        long unfreed = atomic_fetch_add_explicit(&retired_count, 1, memory_order_relaxed) + 1 -
                       atomic_load_explicit(&freed_count, memory_order_relaxed);
        long peak = atomic_load_explicit(&peak_unfreed, memory_order_relaxed);
        while (unfreed > peak && !atomic_compare_exchange_weak(&peak_unfreed, &peak, unfreed))
            ;
        if (i % HANDSHAKE == HANDSHAKE - 1)
            wait_for_every_reader_to_unpin();
    }
    return NULL;
}

/* Bound on retired-but-unfreed objects. An object retired in epoch e is freed once
 * the epoch reaches e + 2, and after each handshake the epoch can move on at least
 * once, so at worst three handshake intervals of each writer's swaps wait, plus
 * part-filled bags: four intervals per writer. */
static long garbage_bound(int nwriters) {
    return nwriters * 4L * HANDSHAKE;
}

static void run(int nwriters, int nreaders, long swaps) {
    larch_epoch_barrier();
    atomic_store(&retired_count, 0);
    atomic_store(&freed_count, 0);
    atomic_store(&peak_unfreed, 0);
    atomic_store(&stop, 0);
    atomic_store(&slot, object_new(0));
    swaps_per_writer = swaps;
    readers_running = nreaders;

    pthread_t w[4], r[MAX_READERS];
    for (int i = 0; i < nreaders; i++) {
        atomic_store(&stats[i].sections, 0);
        stats[i].bad = 0;
        pthread_create(&r[i], NULL, reader, &stats[i]);
    }
    for (int i = 0; i < nwriters; i++)
        pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)i);
    for (int i = 0; i < nwriters; i++)
        pthread_join(w[i], NULL);
    atomic_store(&stop, 1);
    long reads = 0, bad = 0;
    for (int i = 0; i < nreaders; i++) {
        pthread_join(r[i], NULL);
        reads += atomic_load(&stats[i].sections), bad += stats[i].bad;
    }
    long freed_before_barrier = atomic_load(&freed_count);
    larch_epoch_barrier();
    free_object(atomic_load(&slot));
    atomic_fetch_sub(&freed_count, 1);

    long retired = atomic_load(&retired_count), peak = atomic_load(&peak_unfreed);
    fprintf(stderr,
            "  %d writers, %d readers: %ld retired, %ld run before the barrier, peak unfreed "
            "%ld (bound %ld), %ld reads\n",
            nwriters, nreaders, retired, freed_before_barrier, peak, garbage_bound(nwriters),
            reads);
    CHECK_EQ(bad, 0);
    CHECK_EQ(retired, nwriters * swaps);
    CHECK_EQ(atomic_load(&freed_count), retired);
    CHECK(reads > 0);
    /* Reclamation keeps up while the threads run: garbage never grows with the
     * number of swaps. */
    CHECK(peak <= garbage_bound(nwriters));
    CHECK(freed_before_barrier >= retired - garbage_bound(nwriters));
}

static void readers_never_see_a_freed_object(void) {
    run(2, 2, (under_sanitizer() ? 50000 : 500000) * stress_scale());
}

/* One writer, ten million retirements, two readers pinning and unpinning in a loop:
 * retired-but-unfreed objects stay bounded. */
static void garbage_stays_bounded_under_one_writer_and_two_readers(void) {
    run(1, 2, (under_sanitizer() ? 500000 : 10000000) * stress_scale());
}

static void *retire_briefly_and_exit(void *arg) {
    (void)arg;
    int pin = rand() % 2;
    if (pin)
        larch_epoch_pin();
    for (int i = 0; i < 100; i++) {
        larch_epoch_retire(object_new(0), free_object);
        atomic_fetch_add(&retired_count, 1);
    }
    /* Half the threads exit while still pinned. */
    return NULL;
}

static void many_short_lived_threads_lose_nothing(void) {
    larch_epoch_barrier();
    atomic_store(&retired_count, 0);
    atomic_store(&freed_count, 0);
    long rounds = (under_sanitizer() ? 50 : 500) * stress_scale();
    for (long r = 0; r < rounds; r++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, retire_briefly_and_exit, NULL);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&retired_count), rounds * 400);
    CHECK_EQ(atomic_load(&freed_count), rounds * 400);
}

/* Each retirer publishes how many of its objects it has retired; a barrier must run
 * at least every object counted before it began. */
#define RETIRERS 3
#define PER_RETIRER 200000
static atomic_char ran_flags[RETIRERS][PER_RETIRER];
static atomic_long published[RETIRERS];

static void mark(void *p) {
    atomic_store_explicit((atomic_char *)p, 1, memory_order_relaxed);
}

static void *retire_numbered(void *arg) {
    int me = (int)(intptr_t)arg;
    long n = under_sanitizer() ? PER_RETIRER / 10 : PER_RETIRER;
    for (long i = 0; i < n; i++) {
        if (i % 2)
            larch_epoch_pin();
        larch_epoch_retire(&ran_flags[me][i], mark);
        if (i % 2)
            larch_epoch_unpin();
        /* release: a barrier that reads i + 1 starts after this retire returned. */
        atomic_store_explicit(&published[me], i + 1, memory_order_release);
    }
    return NULL;
}

static void barrier_runs_everything_retired_before_it_while_retirers_run(void) {
    larch_epoch_barrier();
    pthread_t t[RETIRERS];
    for (int i = 0; i < RETIRERS; i++)
        pthread_create(&t[i], NULL, retire_numbered, (void *)(intptr_t)i);
    long barriers = 0, missed = 0, done = 0;
    while (done < RETIRERS) {
        long seen[RETIRERS];
        done = 0;
        for (int i = 0; i < RETIRERS; i++) {
            seen[i] = atomic_load_explicit(&published[i], memory_order_acquire);
            done += seen[i] == (under_sanitizer() ? PER_RETIRER / 10 : PER_RETIRER);
        }
        larch_epoch_barrier();
        barriers++;
        for (int i = 0; i < RETIRERS; i++)
            for (long j = 0; j < seen[i]; j++)
                missed += !atomic_load_explicit(&ran_flags[i][j], memory_order_relaxed);
    }
    for (int i = 0; i < RETIRERS; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr, "  %ld barriers raced with %d retirers\n", barriers, RETIRERS);
    CHECK_EQ(missed, 0);
    CHECK(barriers > 1);
}

struct exiting {
    atomic_char ran;
    atomic_int retired;
};

static void mark_exiting(void *p) {
    atomic_store(&((struct exiting *)p)->ran, 1);
}

static void *retire_one_and_exit(void *arg) {
    struct exiting *e = arg;
    larch_epoch_retire(e, mark_exiting);
    atomic_store(&e->retired, 1);
    return NULL; /* the exit hook runs while the barrier below may be running */
}

/* A retirement made before a barrier runs in it even if its thread is exiting at
 * that moment, its bags on their way to the orphans. */
static void barrier_racing_a_thread_exit_runs_its_retirement(void) {
    long rounds = (under_sanitizer() ? 500 : 5000) * stress_scale(), missed = 0;
    for (long i = 0; i < rounds; i++) {
        struct exiting e = {0};
        pthread_t t;
        pthread_create(&t, NULL, retire_one_and_exit, &e);
        /* Barriers back to back while the thread retires and exits: each one that
         * starts after the retire returned must run it. */
        for (;;) {
            int retired = atomic_load(&e.retired);
            larch_epoch_barrier();
            if (atomic_load(&e.ran))
                break;
            if (retired) {
                missed++;
                break;
            }
        }
        pthread_join(t, NULL);
        larch_epoch_barrier();
    }
    CHECK_EQ(missed, 0);
}

int main(void) {
    srand(42);
    RUN(readers_never_see_a_freed_object);
    RUN(garbage_stays_bounded_under_one_writer_and_two_readers);
    RUN(many_short_lived_threads_lose_nothing);
    RUN(barrier_runs_everything_retired_before_it_while_retirers_run);
    RUN(barrier_racing_a_thread_exit_runs_its_retirement);
    return harness_finish();
}
