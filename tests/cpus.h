/* Squeezing a test's threads onto two CPUs, so that on a machine of many cores
 * they still preempt one another while holding locks, as on a 2-core one. A test
 * that includes this defines _GNU_SOURCE before any include (for the affinity
 * calls), calls choose_two_cpus() once in main and squeeze_onto_two_cpus() in each
 * thread it starts. */
#ifndef LARCH_TESTS_CPUS_H
#define LARCH_TESTS_CPUS_H

#include <pthread.h>
#include <sched.h>

/* Two CPUs from those this process may use, or fewer if it has fewer. */
static cpu_set_t two_cpus;
static int ncpus;

static inline void choose_two_cpus(void) {
    cpu_set_t all;
    CPU_ZERO(&two_cpus);
    ncpus = 0;
    if (sched_getaffinity(0, sizeof all, &all) != 0)
        return;
    for (int c = 0; c < CPU_SETSIZE && ncpus < 2; c++)
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &two_cpus);
            ncpus++;
        }
}

static inline void squeeze_onto_two_cpus(void) {
    if (ncpus > 0)
        pthread_setaffinity_np(pthread_self(), sizeof two_cpus, &two_cpus);
}

#endif /* LARCH_TESTS_CPUS_H */
