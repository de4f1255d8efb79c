/* report.c: results as a table (one row per key set, workload and thread count,
 * one column per index, each figure with its spread and its ratio to the rwlock
 * baseline of the same run), as CSV, and as a PNG chart drawn by bench/plot.gp. */
#define _GNU_SOURCE
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LARCH_BENCH_PLOT_SCRIPT
#define LARCH_BENCH_PLOT_SCRIPT "bench/plot.gp"
#endif

#define MAX_COLUMNS 8

static struct {
    int table, repeat, cpus;
    FILE *csv;
    struct result *rows;
    size_t count, cap;
    const struct bench_index *const *indexes;
    int columns;
    char notes[4][128];
    int n_notes;
} rep;

void report_note(const char *line) {
    if (rep.n_notes < 4)
        snprintf(rep.notes[rep.n_notes++], sizeof rep.notes[0], "%s", line);
}

void report_begin(int table, FILE *csv, int repeat, int cpus) {
    rep.table = table;
    rep.csv = csv;
    rep.repeat = repeat;
    rep.cpus = cpus;
    if (csv)
        fprintf(csv, "%s\n", CSV_HEADER);
    if (!table) {
        printf("%s\n", CSV_HEADER);
        fflush(stdout);
    }
}

void report_columns(const struct bench_index *const *indexes, int count) {
    rep.indexes = indexes;
    rep.columns = count < MAX_COLUMNS ? count : MAX_COLUMNS;
}

static void csv_row(FILE *f, const struct result *r) {
    fprintf(f, "%s,%s,%s,%d,%zu,%.4f,%.1f,%.4f,%.4f,%d\n", r->index, r->keys,
            workload_name(r->workload), r->threads, r->n, r->mops, r->bytes_per_key, r->mops_min,
            r->mops_max, r->runs);
    fflush(f);
}

void report_add(const struct result *r) {
    if (rep.count == rep.cap) {
        rep.cap = rep.cap ? 2 * rep.cap : 64;
        rep.rows = realloc(rep.rows, rep.cap * sizeof *rep.rows);
        if (!rep.rows) {
            fprintf(stderr, "larch-bench: out of memory\n");
            exit(1);
        }
    }
    rep.rows[rep.count++] = *r;
    if (r->skipped)
        return;
    if (rep.csv)
        csv_row(rep.csv, r);
    if (!rep.table)
        csv_row(stdout, r);
}

static const struct result *find(const char *index, const char *keys, enum workload w,
                                 int threads) {
    for (size_t i = 0; i < rep.count; i++) {
        const struct result *r = &rep.rows[i];
        if (!strcmp(r->index, index) && !strcmp(r->keys, keys) && r->workload == w &&
            (threads < 0 || r->threads == threads))
            return r;
    }
    return NULL;
}

/* Whether rows[i] is the first of its (keys, workload, threads) row, or with
 * workload < 0 the first of its key set. */
static int first_of(size_t i, int by_row) {
    const struct result *r = &rep.rows[i];
    for (size_t j = 0; j < i; j++) {
        const struct result *q = &rep.rows[j];
        if (!strcmp(q->keys, r->keys) &&
            (!by_row || (q->workload == r->workload && q->threads == r->threads)))
            return 0;
    }
    return 1;
}

static void format_mops(char *out, size_t size, double v) {
    snprintf(out, size, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : v >= 0.1 ? "%.2f" : "%.3f", v);
}

static void cell(char *out, size_t size, const struct result *r, const struct result *base) {
    if (!r) {
        snprintf(out, size, "-");
        return;
    }
    if (r->skipped) {
        snprintf(out, size, "n/a");
        return;
    }
    char mops[16];
    format_mops(mops, sizeof mops, r->mops);
    double spread = r->mops > 0 ? 50.0 * (r->mops_max - r->mops_min) / r->mops : 0;
    int n = snprintf(out, size, "%s ±%.0f%%", mops, spread);
    if (base && base != r && !base->skipped && base->mops > 0 && n > 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, " %.1fx", r->mops / base->mops);
}

static void print_table(void) {
    const int w_keys = 8, w_work = 8, w_thr = 3;
    int width[MAX_COLUMNS];
    char buf[64];
    for (int c = 0; c < rep.columns; c++)
        width[c] = (int)strlen(rep.indexes[c]->name);
    /* Two passes over the cells: widths, then the rows. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            printf("%-*s %-*s %*s", w_keys, "keys", w_work, "workload", w_thr, "thr");
            for (int c = 0; c < rep.columns; c++)
                printf("  %*s", width[c], rep.indexes[c]->name);
            printf("\n");
        }
        for (size_t i = 0; i < rep.count; i++) {
            if (!first_of(i, 1))
                continue;
            const struct result *r = &rep.rows[i];
            const struct result *base = find("rwlock", r->keys, r->workload, r->threads);
            if (pass == 1)
                printf("%-*s %-*s %*d", w_keys, r->keys, w_work, workload_name(r->workload), w_thr,
                       r->threads);
            for (int c = 0; c < rep.columns; c++) {
                cell(buf, sizeof buf, find(rep.indexes[c]->name, r->keys, r->workload, r->threads),
                     base);
                /* ± is two bytes in UTF-8 and one column on screen */
                int len = (int)strlen(buf) - (strstr(buf, "±") ? 1 : 0);
                if (pass == 0 && len > width[c])
                    width[c] = len;
                if (pass == 1)
                    printf("  %*s%s", width[c] - len, "", buf);
            }
            if (pass == 1)
                printf("\n");
        }
    }
}

static void print_memory(void) {
    printf("\nbytes per key (the structure's own heap after loading the n keys, "
           "allocator statistics)\n%-8s",
           "keys");
    for (int c = 0; c < rep.columns; c++)
        printf("  %8s", rep.indexes[c]->name);
    printf("\n");
    for (size_t i = 0; i < rep.count; i++) {
        if (!first_of(i, 0))
            continue;
        printf("%-8s", rep.rows[i].keys);
        for (int c = 0; c < rep.columns; c++) {
            const struct result *m = NULL;
            for (size_t j = 0; j < rep.count && !m; j++) {
                const struct result *q = &rep.rows[j];
                if (!q->skipped && !strcmp(q->index, rep.indexes[c]->name) &&
                    !strcmp(q->keys, rep.rows[i].keys))
                    m = q;
            }
            if (m)
                printf("  %8.1f", m->bytes_per_key);
            else
                printf("  %8s", "-");
        }
        printf("\n");
    }
}

static void print_legend(void) {
    int no_scan = 0, versioned = 0;
    for (size_t i = 0; i < rep.count; i++)
        if (rep.rows[i].skipped) {
            if (workload_updates(rep.rows[i].workload))
                versioned = 1;
            else
                no_scan = 1;
        }
    printf("\n");
    for (int c = 0; c < rep.columns; c++)
        printf("%-8s %s\n", rep.indexes[c]->name, rep.indexes[c]->what);
    if (no_scan)
        printf("n/a      the index has no ordered scan, so scan and ycsb-e are not run on it\n");
    if (versioned)
        printf("n/a      put adds a version (memtable), so ycsb-a and ycsb-b, which update "
               "present keys, are not run on it\n");
    for (int i = 0; i < rep.n_notes; i++)
        printf("%s\n", rep.notes[i]);
}

static void print_report(void) {
    if (rep.count == 0)
        return;
    printf("larch-bench: n = %zu keys, Mops/s, median of %d run%s; %d CPU%s\n", rep.rows[0].n,
           rep.repeat, rep.repeat == 1 ? "" : "s", rep.cpus, rep.cpus == 1 ? "" : "s");
    printf("scan: M scans/s of 100 entries; ycsb-e: M requests/s (95%% scans of 1-100, 5%% "
           "inserts)\n");
    printf("±: half the spread from the slowest to the fastest run; Nx: against rwlock in "
           "the same row\n\n");
    print_table();
    print_memory();
    print_legend();
    fflush(stdout);
}

/* The chart's data: one block per key set (gnuplot's `index`), a header line of
 * index names, then one line per workload and thread count. */
static int write_plot_data(FILE *f, char *titles, size_t size, double *smallest) {
    int blocks = 0;
    *smallest = 1;
    titles[0] = 0;
    for (size_t i = 0; i < rep.count; i++) {
        if (!first_of(i, 0))
            continue;
        const char *keys = rep.rows[i].keys;
        if (blocks++)
            fprintf(f, "\n\n");
        size_t used = strlen(titles);
        snprintf(titles + used, size - used, "%s%s", used ? " " : "", keys);
        fprintf(f, "request");
        for (int c = 0; c < rep.columns; c++)
            fprintf(f, " %s", rep.indexes[c]->name);
        fprintf(f, "\n");
        for (size_t j = 0; j < rep.count; j++) {
            const struct result *r = &rep.rows[j];
            if (strcmp(r->keys, keys) || !first_of(j, 1))
                continue;
            fprintf(f, "%s/%dt", workload_name(r->workload), r->threads);
            for (int c = 0; c < rep.columns; c++) {
                const struct result *q = find(rep.indexes[c]->name, keys, r->workload, r->threads);
                if (q && !q->skipped && q->mops > 0) {
                    fprintf(f, " %.4f", q->mops);
                    if (q->mops < *smallest)
                        *smallest = q->mops;
                } else
                    fprintf(f, " NaN");
            }
            fprintf(f, "\n");
        }
    }
    return blocks;
}

static int draw_plot(const char *png) {
    char data[] = "/tmp/larch-bench-plot-XXXXXX";
    int fd = mkstemp(data);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "larch-bench: cannot write the chart's data file\n");
        return -1;
    }
    char titles[256];
    double smallest;
    int blocks = write_plot_data(f, titles, sizeof titles, &smallest);
    fclose(f);
    const char *script = getenv("LARCH_BENCH_PLOT_SCRIPT");
    if (!script)
        script = LARCH_BENCH_PLOT_SCRIPT;
    char heading[128];
    snprintf(heading, sizeof heading, "larch-bench, n = %zu, median of %d, %d CPUs, Mops/s",
             rep.rows[0].n, rep.repeat, rep.cpus);
    size_t size =
        strlen(script) + strlen(png) + strlen(data) + sizeof titles + sizeof heading + 160;
    char *cmd = malloc(size);
    if (!cmd) {
        unlink(data);
        return -1;
    }
    snprintf(cmd, size,
             "gnuplot -e \"datafile='%s'; outfile='%s'; blocks=%d; columns=%d; titles='%s'; "
             "heading='%s'; ymin=%g\" '%s'",
             data, png, blocks, rep.columns, titles, heading, pow(10, floor(log10(smallest / 2))),
             script);
    int status = system(cmd);
    free(cmd);
    unlink(data);
    if (status != 0) {
        fprintf(stderr, "larch-bench: gnuplot failed (status %d) drawing %s with %s\n", status, png,
                script);
        return -1;
    }
    return 0;
}

int report_finish(const char *plot) {
    if (rep.table)
        print_report();
    int status = 0;
    if (plot && rep.count)
        status = draw_plot(plot);
    free(rep.rows);
    rep.rows = NULL;
    rep.count = rep.cap = 0;
    return status;
}
