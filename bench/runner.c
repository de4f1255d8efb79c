/* runner.c: threads started together behind a barrier. Each thread takes its
 * clock after the barrier; the run lasts from the earliest start to the latest end,
 * so a thread that finishes early does not flatter the figure. */
#define _GNU_SOURCE
#include "runner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct worker {
    const struct bench_index *index;
    run_body body;
    void *arg;
    int thread, threads;
    pthread_barrier_t *start;
    double t0, t1;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker_main(void *p) {
    struct worker *w = p;
    if (w->index->thread_begin)
        w->index->thread_begin();
    pthread_barrier_wait(w->start);
    w->t0 = now();
    w->body(w->arg, w->thread, w->threads);
    w->t1 = now();
    if (w->index->thread_end)
        w->index->thread_end();
    return NULL;
}

double run_threads(const struct bench_index *index, int threads, run_body body, void *arg) {
    pthread_t *tids = malloc((size_t)threads * sizeof *tids);
    struct worker *w = malloc((size_t)threads * sizeof *w);
    if (!tids || !w) {
        fprintf(stderr, "larch-bench: out of memory starting %d threads\n", threads);
        exit(1);
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){index, body, arg, i, threads, &start, 0, 0};
        int err = pthread_create(&tids[i], NULL, worker_main, &w[i]);
        if (err) {
            fprintf(stderr, "larch-bench: cannot start thread %d of %d\n", i + 1, threads);
            exit(1);
        }
    }
    double first = 0, last = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        if (i == 0 || w[i].t0 < first)
            first = w[i].t0;
        if (i == 0 || w[i].t1 > last)
            last = w[i].t1;
    }
    pthread_barrier_destroy(&start);
    free(tids);
    free(w);
    return last - first;
}

void run_share(long total, int thread, int threads, long *lo, long *hi) {
    *lo = (long)((__int128)total * thread / threads);
    *hi = (long)((__int128)total * (thread + 1) / threads);
}
