/* runner.h: runs a workload body on T threads released together by a barrier. */
#ifndef LARCH_BENCH_RUNNER_H
#define LARCH_BENCH_RUNNER_H

#include "index.h"

/* body(arg, thread, threads) is one thread's share of the work. */
typedef void (*run_body)(void *arg, int thread, int threads);

/* Runs body on `threads` threads (each bracketed by the index's thread hooks) and
 * returns the seconds from the barrier's release to the last thread's end. */
double run_threads(const struct bench_index *index, int threads, run_body body, void *arg);

/* [*lo, *hi): thread t's contiguous share of `total` items. */
void run_share(long total, int thread, int threads, long *lo, long *hi);

#endif /* LARCH_BENCH_RUNNER_H */
