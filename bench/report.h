/* report.h: the results: a table for people, CSV for tools, a chart via gnuplot. */
#ifndef LARCH_BENCH_REPORT_H
#define LARCH_BENCH_REPORT_H

#include "index.h"
#include "workloads.h"

#include <stdio.h>

struct result {
    const char *index, *keys;
    enum workload workload;
    int threads;
    size_t n;
    double mops, mops_min, mops_max; /* median and extremes over the runs */
    int runs;
    double bytes_per_key;
    int skipped; /* the index cannot run this workload (no ordered scan; versioned) */
};

#define CSV_HEADER "index,keys,workload,threads,n,mops,bytes_per_key,mops_min,mops_max,runs"

/* csv: also stream each row to this file (may be NULL). table: print a table at the
 * end to stdout, else stream CSV rows to stdout. */
void report_begin(int table, FILE *csv, int repeat, int cpus);
void report_add(const struct result *r);
/* Prints the table (table mode) and draws the chart if plot is not NULL; returns 0,
 * or -1 if the chart could not be drawn (said on stderr). */
int report_finish(const char *plot);

/* A line for the table's legend. */
void report_note(const char *line);

/* The indexes, in column order (their legend lines go under the table). */
void report_columns(const struct bench_index *const *indexes, int count);

#endif /* LARCH_BENCH_REPORT_H */
