/* The epoch collector's contract, case by case: when a retirement may run, that it
 * runs exactly once, and what barrier, nesting, thread exit and allocation failure
 * do to that. */
#define _POSIX_C_SOURCE 200809L
#include <larch/epoch.h>

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "common/alloc.h"
#include "epoch/epoch.h"
#include "harness.h"

static atomic_long runs;

static void count_run(void *p) {
    (void)p;
    atomic_fetch_add(&runs, 1);
}

/* A flag per object: runs exactly once, and not before it may. */
struct tracked {
    atomic_int ran;
};

static void mark_ran(void *p) {
    struct tracked *t = p;
    atomic_fetch_add(&t->ran, 1);
}

/* Churn from another thread: thousands of sections and retirements, enough to fill
 * many bags, attempt many advances and collect whatever has expired. */
static void *churn(void *arg) {
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        larch_epoch_pin();
        larch_epoch_retire(NULL, count_run);
        larch_epoch_unpin();
    }
    return NULL;
}

static void churn_from_another_thread(long n) {
    pthread_t t;
    pthread_create(&t, NULL, churn, (void *)(intptr_t)n);
    pthread_join(t, NULL);
}

static void barrier_runs_a_retirement(void) {
    struct tracked t = {0};
    larch_epoch_retire(&t, mark_ran);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&t.ran), 1);
}

static void every_retirement_runs_exactly_once(void) {
    larch_epoch_barrier();
    enum { N = 5000 };
    static struct tracked t[N];
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            larch_epoch_pin();
        larch_epoch_retire(&t[i], mark_ran);
        if (i % 3 == 0)
            larch_epoch_unpin();
    }
    larch_epoch_barrier();
    larch_epoch_barrier();
    churn_from_another_thread(1000);
    larch_epoch_barrier();
    for (int i = 0; i < N; i++)
        CHECK_EQ(atomic_load(&t[i].ran), 1);
}

static void retire_with_null_fn_does_nothing(void) {
    larch_epoch_retire(&runs, NULL);
    larch_epoch_barrier();
}

static void retirement_made_while_pinned_waits_for_the_unpin(void) {
    struct tracked t = {0};
    larch_epoch_pin();
    larch_epoch_retire(&t, mark_ran);
    churn_from_another_thread(20000);
    CHECK_EQ(atomic_load(&t.ran), 0);
    larch_epoch_unpin();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&t.ran), 1);
}

static void *retire_all(void *arg) {
    struct tracked *t = arg;
    for (int i = 0; i < 500; i++) {
        larch_epoch_pin();
        larch_epoch_retire(&t[i], mark_ran);
        larch_epoch_unpin();
    }
    return NULL;
}

static void a_pinned_reader_holds_back_retirements_of_other_threads(void) {
    enum { N = 500 };
    static struct tracked t[N];
    larch_epoch_pin();
    /* Retired by another thread after we pinned: we might still see them. */
    struct tracked *p = t;
    pthread_t th;
    pthread_create(&th, NULL, retire_all, p);
    pthread_join(th, NULL);
    churn_from_another_thread(20000);
    for (int i = 0; i < N; i++)
        CHECK_EQ(atomic_load(&t[i].ran), 0);
    larch_epoch_unpin();
    larch_epoch_barrier();
    for (int i = 0; i < N; i++)
        CHECK_EQ(atomic_load(&t[i].ran), 1);
}

static void nested_pins_end_only_at_the_outermost_unpin(void) {
    struct tracked t = {0};
    larch_epoch_pin();
    larch_epoch_pin();
    larch_epoch_retire(&t, mark_ran);
    larch_epoch_unpin();
    churn_from_another_thread(20000);
    CHECK_EQ(atomic_load(&t.ran), 0);
    larch_epoch_pin();
    larch_epoch_unpin();
    churn_from_another_thread(20000);
    CHECK_EQ(atomic_load(&t.ran), 0);
    larch_epoch_unpin();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&t.ran), 1);
}

static void an_unmatched_unpin_is_ignored(void) {
    larch_epoch_unpin();
    larch_epoch_unpin();
    struct tracked t = {0};
    larch_epoch_pin();
    larch_epoch_retire(&t, mark_ran);
    churn_from_another_thread(20000);
    CHECK_EQ(atomic_load(&t.ran), 0);
    larch_epoch_unpin();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&t.ran), 1);
}

static void barrier_while_pinned_returns_without_waiting(void) {
    struct tracked t = {0};
    larch_epoch_retire(&t, mark_ran);
    larch_epoch_pin();
    larch_epoch_barrier(); /* would deadlock on ourselves if it waited */
    larch_epoch_unpin();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&t.ran), 1);
}

/* Retirements stop being held back once readers move on, without any barrier: the
 * collector reclaims in the steady state, and the backlog stays within a few bags. */
static void steady_state_reclaims_without_barrier(void) {
    larch_epoch_barrier();
    long before = atomic_load(&runs);
    long max_backlog = 0;
    for (long i = 1; i <= 100000; i++) {
        larch_epoch_pin();
        larch_epoch_retire(NULL, count_run);
        larch_epoch_unpin();
        long backlog = i - (atomic_load(&runs) - before);
        max_backlog = backlog > max_backlog ? backlog : max_backlog;
    }
    fprintf(stderr, "  single thread: at most %ld retired-but-unrun\n", max_backlog);
    CHECK(max_backlog <= 4 * 62);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs) - before, 100000);
}

static struct tracked chained_second;

static void retire_another(void *p) {
    mark_ran(p);
    larch_epoch_retire(&chained_second, mark_ran);
}

static void a_callback_may_retire_more(void) {
    struct tracked first = {0};
    larch_epoch_retire(&first, retire_another);
    larch_epoch_barrier(); /* runs first, which retires second */
    larch_epoch_barrier(); /* runs second */
    CHECK_EQ(atomic_load(&first.ran), 1);
    CHECK_EQ(atomic_load(&chained_second.ran), 1);
}

static void *retire_and_exit(void *arg) {
    struct tracked *t = arg;
    for (int i = 0; i < 10; i++)
        larch_epoch_retire(&t[i], mark_ran);
    return NULL;
}

static void *pin_retire_and_exit_pinned(void *arg) {
    larch_epoch_pin();
    larch_epoch_pin();
    retire_and_exit(arg);
    return NULL; /* exits pinned, twice over */
}

static void retirements_of_exited_threads_are_not_lost(void) {
    struct tracked t[10] = {{0}}, u[10] = {{0}};
    pthread_t a, b;
    pthread_create(&a, NULL, retire_and_exit, t);
    pthread_join(a, NULL);
    pthread_create(&b, NULL, pin_retire_and_exit_pinned, u);
    pthread_join(b, NULL);
    larch_epoch_barrier(); /* must not wait for b's pins: exit unpinned it */
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(atomic_load(&t[i].ran), 1);
        CHECK_EQ(atomic_load(&u[i].ran), 1);
    }
}

static void pin_generation_marks_each_outermost_section(void) {
    CHECK_EQ(larch__epoch_pin_generation(), 0);
    larch_epoch_pin();
    uint64_t g = larch__epoch_pin_generation();
    CHECK(g != 0);
    larch_epoch_pin();
    CHECK(larch__epoch_pin_generation() == g);
    larch_epoch_unpin();
    CHECK(larch__epoch_pin_generation() == g);
    larch_epoch_unpin();
    CHECK_EQ(larch__epoch_pin_generation(), 0);
    larch_epoch_pin();
    CHECK(larch__epoch_pin_generation() != g);
    larch_epoch_unpin();
}

/* Threads that hold every idle thread record, so that the next new thread must
 * allocate one (and an injected failure hits that allocation). */
struct record_holders {
    pthread_t threads[64];
    size_t n;
    atomic_int release, holding;
};

static void *hold_a_record(void *arg) {
    struct record_holders *h = arg;
    larch_epoch_pin();
    larch_epoch_unpin();
    atomic_fetch_add(&h->holding, 1);
    while (!atomic_load(&h->release))
        sched_yield();
    return NULL;
}

static int occupy_idle_records(struct record_holders *h) {
    h->n = 0;
    while (larch__epoch_records_idle() > 0 && h->n < 64) {
        size_t want = h->n + 1;
        pthread_create(&h->threads[h->n++], NULL, hold_a_record, h);
        while ((size_t)atomic_load(&h->holding) < want)
            sched_yield();
    }
    return larch__epoch_records_idle() == 0;
}

static void release_records(struct record_holders *h) {
    atomic_store(&h->release, 1);
    for (size_t i = 0; i < h->n; i++)
        pthread_join(h->threads[i], NULL);
}

/* With its record allocation failed, a thread still pins safely (it holds the
 * epoch for everyone) and its retirements still run. */
struct no_record_args {
    struct tracked *t;
    atomic_int pinned, release;
};

static void *pin_without_record(void *arg) {
    struct no_record_args *a = arg;
    larch__alloc_fail_at(0, 0); /* this thread's first allocation is its record */
    larch_epoch_pin();
    larch_epoch_retire(a->t, mark_ran);
    atomic_store(&a->pinned, 1);
    while (!atomic_load(&a->release))
        sched_yield();
    larch_epoch_unpin();
    return NULL;
}

static void a_thread_whose_record_allocation_fails_still_pins(void) {
    struct tracked t = {0}, other = {0};
    struct no_record_args a = {.t = &t};
    static struct record_holders holders;
    larch_epoch_barrier();
    REQUIRE(occupy_idle_records(&holders));
    pthread_t th;
    pthread_create(&th, NULL, pin_without_record, &a);
    while (!atomic_load(&a.pinned))
        sched_yield();
    larch_epoch_retire(&other, mark_ran);
    churn_from_another_thread(20000);
    CHECK_EQ(atomic_load(&t.ran), 0);
    CHECK_EQ(atomic_load(&other.ran), 0);
    atomic_store(&a.release, 1);
    pthread_join(th, NULL);
    release_records(&holders);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&t.ran), 1);
    CHECK_EQ(atomic_load(&other.ran), 1);
}

static void *reserve_then_retire_without_memory(void *arg) {
    struct tracked *t = arg;
    int rc = larch__epoch_reserve();
    CHECK_EQ(rc, LARCH_OK);
    larch__alloc_fail_at(0, 1); /* every allocation fails from here on */
    larch_epoch_pin();
    for (int i = 0; i < LARCH_EPOCH_RESERVE_MAX; i++)
        larch_epoch_retire(&t[i], mark_ran);
    larch_epoch_unpin();
    larch__alloc_fail_at(-1, 0);
    return NULL;
}

static void *fresh_thread_reserve(void *arg) {
    *(int *)arg = larch__epoch_reserve();
    return NULL;
}

static void reserve_fails_cleanly_and_covers_later_retirements(void) {
    static struct tracked t[LARCH_EPOCH_RESERVE_MAX];
    static struct record_holders holders;
    REQUIRE(occupy_idle_records(&holders));
    larch__alloc_fail_at(0, 1);
    pthread_t th;
    int rc;
    pthread_create(&th, NULL, fresh_thread_reserve, &rc);
    pthread_join(th, NULL);
    larch__alloc_fail_at(-1, 0);
    release_records(&holders);
    CHECK_EQ(rc, LARCH_ENOMEM);

    pthread_create(&th, NULL, reserve_then_retire_without_memory, t);
    pthread_join(th, NULL);
    larch_epoch_barrier();
    for (int i = 0; i < LARCH_EPOCH_RESERVE_MAX; i++)
        CHECK_EQ(atomic_load(&t[i].ran), 1);
}

static void *pin_without_record_and_exit_pinned(void *arg) {
    (void)arg;
    larch__alloc_fail_at(0, 0); /* this thread's first allocation is its record */
    larch_epoch_pin();
    return NULL;
}

static void a_thread_exiting_pinned_without_a_record_is_unpinned(void) {
    struct tracked t = {0};
    static struct record_holders holders;
    larch_epoch_barrier();
    REQUIRE(occupy_idle_records(&holders));
    pthread_t th;
    pthread_create(&th, NULL, pin_without_record_and_exit_pinned, NULL);
    pthread_join(th, NULL);
    release_records(&holders);
    larch_epoch_retire(&t, mark_ran);
    larch_epoch_barrier(); /* would wait forever for the exited thread */
    CHECK_EQ(atomic_load(&t.ran), 1);
}

static void *first_pin_generation(void *arg) {
    larch_epoch_pin();
    *(uint64_t *)arg = larch__epoch_pin_generation();
    larch_epoch_unpin();
    return NULL;
}

static void pin_generations_are_unique_across_threads(void) {
    uint64_t g[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, first_pin_generation, &g[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    larch_epoch_pin();
    uint64_t mine = larch__epoch_pin_generation();
    larch_epoch_unpin();
    for (int i = 0; i < 4; i++) {
        CHECK(g[i] != 0);
        CHECK(g[i] != mine);
        for (int j = 0; j < i; j++)
            CHECK(g[i] != g[j]);
    }
}

struct reserve_race {
    struct tracked t[LARCH_EPOCH_RESERVE_MAX];
    atomic_int retired_first;
};

static void *reserve_pin_and_retire_while_a_barrier_runs(void *arg) {
    struct reserve_race *rr = arg;
    CHECK_EQ(larch__epoch_reserve(), LARCH_OK);
    larch__alloc_fail_at(0, 1);
    larch_epoch_pin();
    larch_epoch_retire(&rr->t[0], mark_ran);
    atomic_store(&rr->retired_first, 1);
    nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    for (int i = 1; i < LARCH_EPOCH_RESERVE_MAX; i++)
        larch_epoch_retire(&rr->t[i], mark_ran); /* reserved: must not wait for memory */
    larch__alloc_fail_at(-1, 0);
    larch_epoch_unpin();
    return NULL;
}

static void *run_barrier(void *arg) {
    (void)arg;
    larch_epoch_barrier();
    return NULL;
}

/* A barrier that takes a reserved thread's bag must not leave it without room: the
 * reserved thread is pinned, so the barrier waits for it, and it must not wait for
 * memory in turn. */
static void a_barrier_does_not_consume_a_reservation(void) {
    static struct reserve_race rr;
    larch_epoch_barrier();
    pthread_t w, b;
    pthread_create(&w, NULL, reserve_pin_and_retire_while_a_barrier_runs, &rr);
    while (!atomic_load(&rr.retired_first))
        sched_yield();
    pthread_create(&b, NULL, run_barrier, NULL);
    pthread_join(w, NULL);
    pthread_join(b, NULL);
    larch_epoch_barrier();
    for (int i = 0; i < LARCH_EPOCH_RESERVE_MAX; i++)
        CHECK_EQ(atomic_load(&rr.t[i].ran), 1);
}

int main(void) {
    RUN(barrier_runs_a_retirement);
    RUN(every_retirement_runs_exactly_once);
    RUN(retire_with_null_fn_does_nothing);
    RUN(retirement_made_while_pinned_waits_for_the_unpin);
    RUN(a_pinned_reader_holds_back_retirements_of_other_threads);
    RUN(nested_pins_end_only_at_the_outermost_unpin);
    RUN(an_unmatched_unpin_is_ignored);
    RUN(barrier_while_pinned_returns_without_waiting);
    RUN(steady_state_reclaims_without_barrier);
    RUN(a_callback_may_retire_more);
    RUN(retirements_of_exited_threads_are_not_lost);
    RUN(pin_generation_marks_each_outermost_section);
    RUN(a_thread_whose_record_allocation_fails_still_pins);
    RUN(reserve_fails_cleanly_and_covers_later_retirements);
    RUN(a_thread_exiting_pinned_without_a_record_is_unpinned);
    RUN(pin_generations_are_unique_across_threads);
    RUN(a_barrier_does_not_consume_a_reservation);
    return harness_finish();
}
