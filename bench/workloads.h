/* workloads.h: what larch-bench measures. Each workload is a body run on T threads
 * (each takes a contiguous share of the work) plus the untimed checks around it. */
#ifndef LARCH_BENCH_WORKLOADS_H
#define LARCH_BENCH_WORKLOADS_H

#include "index.h"
#include "keys.h"
#include "zipf.h"

#include <stdint.h>

enum workload {
    W_INSERT, /* load the n keys into an empty index */
    W_LOOKUP, /* n successful gets, random order */
    W_MISS,   /* n gets of absent keys */
    W_SCAN,   /* n/50 scans of 100 entries from random present keys */
    W_DELETE, /* delete the n keys, random order */
    W_YCSB_A, /* n requests, 50% read / 50% update, Zipfian */
    W_YCSB_B, /* 95% read / 5% update */
    W_YCSB_C, /* read only */
    W_YCSB_E, /* n/50 requests, 95% scans of 1..100 entries / 5% inserts of new keys */
    W_COUNT
};

const char *workload_name(enum workload w);
int workload_parse(const char *name); /* -1 if unknown */
int workload_needs_scan(enum workload w);
/* Starts from the n keys already loaded (all but insert). */
int workload_needs_load(enum workload w);
/* Puts to present keys (ycsb-a, ycsb-b): not for an index whose put adds versions. */
int workload_updates(enum workload w);
/* Leaves other keys present than it found (delete), so needs its own loaded index. */
int workload_changes_keys(enum workload w);
/* Operations one run performs (Mops = this / seconds / 1e6). */
long workload_ops(enum workload w, size_t n);

/* The YCSB request streams of one key set, generated before timing, once. */
struct requests {
    const struct keyset *ks;
    struct stream stream[W_COUNT];
    int zipf_ready;
    struct zipf zipf;
};
void requests_init(struct requests *rq, const struct keyset *ks);
void requests_free(struct requests *rq);

/* One timed run of w on `threads` threads; returns seconds. `run` numbers the
 * values written. The checks inside the run and after it exit on failure. */
double workload_run(enum workload w, const struct bench_index *index, void *ix, struct requests *rq,
                    int threads, uint32_t run);

#endif /* LARCH_BENCH_WORKLOADS_H */
