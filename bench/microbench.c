/* larch-microbench driver: times primitive operations and prints a table.
 *   larch-microbench [--iterations N] [--repeat R] */
#define _GNU_SOURCE
#include "microbench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
    micro_body body;
    void *arg;
    long iterations;
    pthread_barrier_t *start;
    double ns;
};

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *worker_main(void *p) {
    struct worker *w = p;
    pthread_barrier_wait(w->start);
    double t0 = now_ns();
    w->body(w->iterations, w->arg);
    w->ns = now_ns() - t0;
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double micro_measure(micro_body body, void *arg, long iterations, int threads, int repeat) {
    double runs[64];
    if (repeat > 64)
        repeat = 64;
    for (int r = 0; r < repeat; r++) {
        pthread_t tid[16];
        struct worker w[16];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads);
        for (int i = 0; i < threads; i++) {
            w[i] = (struct worker){body, arg, iterations, &start, 0};
            pthread_create(&tid[i], NULL, worker_main, &w[i]);
        }
        double sum = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(tid[i], NULL);
            sum += w[i].ns;
        }
        pthread_barrier_destroy(&start);
        runs[r] = sum / threads / (double)iterations;
    }
    qsort(runs, (size_t)repeat, sizeof runs[0], cmp_double);
    return runs[repeat / 2];
}

void micro_row(const char *name, double one_thread, double two_threads) {
    printf("%-44s %10.2f %10.2f\n", name, one_thread, two_threads);
    fflush(stdout);
}

int main(int argc, char **argv) {
    long iterations = 10000000;
    int repeat = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            iterations = atol(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--iterations N] [--repeat R]\n", argv[0]);
            return 2;
        }
    }
    if (iterations < 1 || repeat < 1) {
        fprintf(stderr, "%s: --iterations and --repeat must be positive\n", argv[0]);
        return 2;
    }
    printf("larch-microbench: ns per operation per thread, median of %d runs of %ld\n", repeat,
           iterations);
    printf("%-44s %10s %10s\n", "operation", "1 thread", "2 threads");
    epoch_bench(iterations, repeat);
    vlock_bench(iterations, repeat);
    return 0;
}
