/* The common part of API.md's contract (status codes, larch_strerror, key limits)
 * the version, and the epoch API, checked from outside against the installed headers and library
 * only, one function per documented behaviour (or per choice made where API.md is
 * silent, marked "chosen"). */
#include <larch/larch.h>

#include "../harness.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>

/* ---- status codes and larch_strerror ----------------------------------------------- */

static void status_codes_have_their_contracted_values(void) {
    _Static_assert(LARCH_OK == 0 && LARCH_NOTFOUND == 1 && LARCH_EXISTS == 2 && LARCH_DELETED == 3,
                   "outcomes");
    _Static_assert(LARCH_EINVAL == -1 && LARCH_ENOMEM == -2 && LARCH_EKEYSIZE == -3 &&
                       LARCH_ECORRUPT == -4,
                   "errors");
    _Static_assert(LARCH_KEY_MAX >= 1024, "LARCH_KEY_MAX");
    CHECK(LARCH_KEY_MAX >= 1024);
}

static void strerror_names_every_code_distinctly(void) {
    const int codes[] = {LARCH_OK,     LARCH_NOTFOUND, LARCH_EXISTS,   LARCH_DELETED,
                         LARCH_EINVAL, LARCH_ENOMEM,   LARCH_EKEYSIZE, LARCH_ECORRUPT};
    const size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = larch_strerror(12345);
    for (size_t i = 0; i < n; i++) {
        const char *s = larch_strerror(codes[i]);
        REQUIRE(s);
        CHECK(s[0] != '\0');
        CHECK(strcmp(s, unknown) != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s, larch_strerror(codes[j])) != 0);
    }
}

static void strerror_is_never_null(void) {
    const int others[] = {INT_MIN, INT_MIN + 1, -1000, -5, 4, 5, 1000, INT_MAX};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        const char *s = larch_strerror(others[i]);
        CHECK(s != NULL && s[0] != '\0');
    }
}

static void strerror_is_stable_and_static(void) {
    CHECK(larch_strerror(LARCH_ENOMEM) == larch_strerror(LARCH_ENOMEM));
}

/* ---- version --------------------------------------------------------------------- */

static const char *installed_version; /* pkg-config --modversion, from contract.sh */

static void version_macros_agree_with_the_library_and_pkg_config(void) {
    char built[32];
    snprintf(built, sizeof built, "%d.%d.%d", LARCH_VERSION_MAJOR, LARCH_VERSION_MINOR,
             LARCH_VERSION_PATCH);
    CHECK(strcmp(built, LARCH_VERSION_STRING) == 0);
    REQUIRE(larch_version() != NULL);
    CHECK(strcmp(larch_version(), LARCH_VERSION_STRING) == 0);
    if (installed_version)
        CHECK(strcmp(installed_version, LARCH_VERSION_STRING) == 0);
}

/* ---- epochs -------------------------------------------------------------------------- */

static atomic_int runs;

static void count_run(void *p) {
    (void)p;
    atomic_fetch_add(&runs, 1);
}

static void retire_outside_a_section_runs_by_the_barrier(void) {
    atomic_store(&runs, 0);
    larch_epoch_retire(&runs, count_run);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 1);
    larch_epoch_barrier(); /* exactly once */
    CHECK_EQ(atomic_load(&runs), 1);
}

static void retire_waits_for_the_outermost_unpin(void) {
    atomic_store(&runs, 0);
    larch_epoch_pin();
    larch_epoch_pin();
    larch_epoch_retire(&runs, count_run);
    larch_epoch_unpin(); /* still pinned: sections nest */
    for (int i = 0; i < 1000; i++) {
        larch_epoch_pin();
        larch_epoch_unpin();
    }
    CHECK_EQ(atomic_load(&runs), 0);
    larch_epoch_unpin();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 1);
}

static void retire_with_null_fn_does_nothing(void) {
    atomic_store(&runs, 0);
    larch_epoch_retire(&runs, NULL);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 0);
}

static void unpin_without_pin_does_nothing(void) {
    larch_epoch_unpin();
    larch_epoch_unpin();
    atomic_store(&runs, 0);
    larch_epoch_pin();
    larch_epoch_retire(&runs, count_run);
    for (int i = 0; i < 1000; i++) { /* the section is still open */
        larch_epoch_pin();
        larch_epoch_unpin();
    }
    CHECK_EQ(atomic_load(&runs), 0);
    larch_epoch_unpin();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 1);
}

static void barrier_while_pinned_returns_and_does_nothing(void) {
    atomic_store(&runs, 0);
    larch_epoch_pin();
    larch_epoch_retire(&runs, count_run);
    larch_epoch_barrier(); /* misuse that the header defines: returns at once */
    CHECK_EQ(atomic_load(&runs), 0);
    larch_epoch_unpin();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 1);
}

/* Another thread, pinned until told to stop. */
struct pinned_thread {
    pthread_t th;
    atomic_int pinned, release, exit_pinned;
};

static void *stay_pinned(void *arg) {
    struct pinned_thread *p = arg;
    larch_epoch_pin();
    atomic_store(&p->pinned, 1);
    while (!atomic_load(&p->release))
        sched_yield();
    if (atomic_load(&p->exit_pinned))
        larch_epoch_retire(&runs, count_run); /* pending at exit, in an open section */
    else
        larch_epoch_unpin();
    return NULL;
}

static void another_threads_open_section_holds_back_a_retirement(void) {
    struct pinned_thread p = {0};
    REQUIRE(pthread_create(&p.th, NULL, stay_pinned, &p) == 0);
    while (!atomic_load(&p.pinned))
        sched_yield();
    atomic_store(&runs, 0);
    larch_epoch_retire(&runs, count_run);
    for (int i = 0; i < 100000; i++) {
        larch_epoch_pin();
        larch_epoch_unpin();
    }
    CHECK_EQ(atomic_load(&runs), 0);
    atomic_store(&p.release, 1);
    pthread_join(p.th, NULL);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 1);
}

static void thread_exiting_while_pinned_is_unpinned_and_its_retirements_run(void) {
    atomic_store(&runs, 0);
    struct pinned_thread p = {0};
    atomic_store(&p.exit_pinned, 1);
    REQUIRE(pthread_create(&p.th, NULL, stay_pinned, &p) == 0);
    while (!atomic_load(&p.pinned))
        sched_yield();
    atomic_store(&p.release, 1);
    pthread_join(p.th, NULL);
    larch_epoch_retire(&runs, count_run);
    larch_epoch_barrier(); /* would wait forever for a section that never ends */
    CHECK_EQ(atomic_load(&runs), 2);
}

/* Retire callbacks run only at an outermost unpin, in a barrier or at thread exit:
 * never inside a pinned section, whatever is retired or pinned there. */
static _Thread_local int inside_section;
static atomic_int ran_inside;

static void note_where_it_ran(void *p) {
    (void)p;
    atomic_fetch_add(&runs, 1);
    if (inside_section)
        atomic_fetch_add(&ran_inside, 1);
}

static void retire_callbacks_never_run_inside_a_section(void) {
    atomic_store(&runs, 0);
    atomic_store(&ran_inside, 0);
    for (int round = 0; round < 20; round++) {
        larch_epoch_pin();
        inside_section = 1;
        for (int i = 0; i < 1000; i++) {
            larch_epoch_retire(&runs, note_where_it_ran);
            larch_epoch_pin();
            larch_epoch_unpin(); /* nested: not the outermost */
        }
        inside_section = 0;
        larch_epoch_unpin();
    }
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 20000);
    CHECK_EQ(atomic_load(&ran_inside), 0);
}

/* A thread that retires and then idles, or exits, with its retirements pending. */
struct retirer {
    pthread_t th;
    int count;
    atomic_int retired, release;
};

static void *retire_then_wait(void *arg) {
    struct retirer *r = arg;
    for (int i = 0; i < r->count; i++) {
        larch_epoch_pin();
        larch_epoch_retire(&runs, count_run);
        larch_epoch_unpin();
    }
    atomic_store(&r->retired, 1);
    while (!atomic_load(&r->release))
        sched_yield();
    return NULL;
}

static void barrier_runs_retirements_of_idle_threads(void) {
    atomic_store(&runs, 0);
    struct retirer r = {.count = 5};
    REQUIRE(pthread_create(&r.th, NULL, retire_then_wait, &r) == 0);
    while (!atomic_load(&r.retired))
        sched_yield();
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 5);
    atomic_store(&r.release, 1);
    pthread_join(r.th, NULL);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 5);
}

static void barrier_runs_retirements_of_exited_threads(void) {
    atomic_store(&runs, 0);
    struct retirer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct retirer){.count = 1000};
        atomic_store(&r[i].release, 1);
        REQUIRE(pthread_create(&r[i].th, NULL, retire_then_wait, &r[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(r[i].th, NULL);
    larch_epoch_barrier();
    CHECK_EQ(atomic_load(&runs), 4000);
}

static void retire_again(void *p) {
    larch_epoch_retire(p, count_run);
}

static void retire_callback_may_retire(void) {
    atomic_store(&runs, 0);
    larch_epoch_retire(&runs, retire_again);
    larch_epoch_barrier();
    larch_epoch_barrier(); /* the second retirement was made during the first barrier */
    CHECK_EQ(atomic_load(&runs), 1);
}

/* argv[1], if given, is the version pkg-config reports for the installed larch. */
int main(int argc, char **argv) {
    installed_version = argc > 1 ? argv[1] : NULL;
    RUN(status_codes_have_their_contracted_values);
    RUN(strerror_names_every_code_distinctly);
    RUN(strerror_is_never_null);
    RUN(strerror_is_stable_and_static);
    RUN(version_macros_agree_with_the_library_and_pkg_config);
    RUN(retire_outside_a_section_runs_by_the_barrier);
    RUN(retire_waits_for_the_outermost_unpin);
    RUN(retire_with_null_fn_does_nothing);
    RUN(unpin_without_pin_does_nothing);
    RUN(barrier_while_pinned_returns_and_does_nothing);
    RUN(another_threads_open_section_holds_back_a_retirement);
    RUN(thread_exiting_while_pinned_is_unpinned_and_its_retirements_run);
    RUN(barrier_runs_retirements_of_idle_threads);
    RUN(barrier_runs_retirements_of_exited_threads);
    RUN(retire_callback_may_retire);
    RUN(retire_callbacks_never_run_inside_a_section);
    return harness_finish();
}
