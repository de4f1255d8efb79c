/* larch-microbench: a cost per operation for each primitive, median of several
 * runs, at 1 and 2 threads started together. */
#ifndef LARCH_BENCH_MICROBENCH_H
#define LARCH_BENCH_MICROBENCH_H

/* Runs `body(iterations, arg)` on `threads` threads at once and returns the median
 * over `repeat` runs of the mean nanoseconds per iteration per thread. */
typedef void (*micro_body)(long iterations, void *arg);
double micro_measure(micro_body body, void *arg, long iterations, int threads, int repeat);

void epoch_bench(long iterations, int repeat);
void vlock_bench(long iterations, int repeat);

void micro_row(const char *name, double one_thread, double two_threads);

#endif /* LARCH_BENCH_MICROBENCH_H */
