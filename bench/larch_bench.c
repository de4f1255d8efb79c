/* larch-bench: throughput and memory of larch's indexes against real baselines.
 *
 *   larch-bench [--index LIST] [--keys LIST] [--workload LIST] [--n N]
 *               [--threads LIST] [--repeat R] [--format table|csv] [--plot FILE.png]
 *               [--csv FILE]
 *
 * For each key set, index, workload and thread count: R timed runs, reported as
 * the median with the spread. Keys and requests are generated before timing with
 * fixed seeds; every result is checked (see check.h), and a failed check exits 1. */
#define _GNU_SOURCE
#include "check.h"
#include "heap.h"
#include "index.h"
#include "keys.h"
#include "report.h"
#include "workloads.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ITEMS 16

/* The default comparison (`make bench`): about three minutes on two cores with all
 * four indexes built. */
#define DEFAULT_KEYS "u64rand,email"
#define DEFAULT_WORKLOADS "insert,lookup,scan,ycsb-a,ycsb-e"
#define DEFAULT_N 1000000
#define DEFAULT_THREADS "1,2"
#define DEFAULT_REPEAT 3

struct options {
    const struct bench_index *indexes[MAX_ITEMS];
    int n_indexes;
    int keys[MAX_ITEMS], n_keys;
    int workloads[MAX_ITEMS], n_workloads;
    int threads[MAX_ITEMS], n_threads, max_threads;
    size_t n;
    int repeat, table;
    const char *plot, *csv;
};

static const char usage[] =
    "usage: larch-bench [--index LIST] [--keys LIST] [--workload LIST] [--n N]\n"
    "                   [--threads LIST] [--repeat R] [--format table|csv] [--plot FILE.png]\n"
    "                   [--csv FILE]\n"
    "  --index     art, btree, rwlock, hash (default: every one built: %s), and\n"
    "              memtable and memtable-btree (only when named: 100-byte values, the\n"
    "              k16 keys suit them; over the ART and over the B+ tree)\n"
    "  --keys      u64rand, u64seq, email, url, k16 (default: " DEFAULT_KEYS ")\n"
    "  --workload  insert, lookup, miss, scan, delete, ycsb-a, ycsb-b, ycsb-c, ycsb-e\n"
    "              (default: " DEFAULT_WORKLOADS ")\n"
    "  --n         keys per set (default: %d)\n"
    "  --threads   thread counts (default: " DEFAULT_THREADS ")\n"
    "  --repeat    timed runs per figure; the median is reported (default: %d)\n"
    "  --format    table (default) or csv, on stdout\n"
    "  --plot      draw a PNG chart with gnuplot\n"
    "  --csv       also write the CSV to FILE\n";

static const char *built_list(void) {
    static char built[128];
    built[0] = 0;
    for (int i = 0; bench_indexes[i]; i++) {
        size_t used = strlen(built);
        snprintf(built + used, sizeof built - used, "%s%s", i ? "," : "", bench_indexes[i]->name);
    }
    return built;
}

static void print_usage(FILE *f) {
    fprintf(f, usage, built_list(), DEFAULT_N, DEFAULT_REPEAT);
}

static _Noreturn void bad_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "larch-bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    print_usage(stderr);
    exit(2);
}

/* Splits a comma-separated list; calls parse on each item (it exits on a bad one). */
static int split_list(const char *list, char items[MAX_ITEMS][32]) {
    int count = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= 32 || count == MAX_ITEMS)
            bad_usage("bad list '%s'", list);
        memcpy(items[count], p, len);
        items[count++][len] = 0;
        p += len;
        if (*p == ',')
            p++;
    }
    if (count == 0)
        bad_usage("empty list '%s'", list);
    return count;
}

static void parse_indexes(struct options *o, const char *list) {
    char items[MAX_ITEMS][32];
    o->n_indexes = split_list(list, items);
    for (int i = 0; i < o->n_indexes; i++) {
        int known = 0;
        o->indexes[i] = bench_index_find(items[i], &known);
        if (!o->indexes[i] && known) {
            fprintf(stderr,
                    "larch-bench: index '%s' is not in this build (its header or package was "
                    "missing when larch was configured); built: %s\n",
                    items[i], built_list());
            exit(2);
        }
        if (!o->indexes[i])
            bad_usage("unknown index '%s'", items[i]);
    }
}

static void parse_named(const char *list, int *out, int *count, int (*parse)(const char *),
                        const char *what) {
    char items[MAX_ITEMS][32];
    *count = split_list(list, items);
    for (int i = 0; i < *count; i++)
        if ((out[i] = parse(items[i])) < 0)
            bad_usage(what, items[i]);
}

static long parse_number(const char *s, long lo, long hi, const char *what) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < lo || v > hi)
        bad_usage(what, s);
    return v;
}

static void parse_threads(struct options *o, const char *list) {
    char items[MAX_ITEMS][32];
    o->n_threads = split_list(list, items);
    o->max_threads = 0;
    for (int i = 0; i < o->n_threads; i++) {
        o->threads[i] = (int)parse_number(items[i], 1, 1024, "bad thread count '%s'");
        if (o->threads[i] > o->max_threads)
            o->max_threads = o->threads[i];
    }
}

static void parse_options(struct options *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    for (o->n_indexes = 0; bench_indexes[o->n_indexes] && o->n_indexes < MAX_ITEMS; o->n_indexes++)
        o->indexes[o->n_indexes] = bench_indexes[o->n_indexes];
    parse_named(DEFAULT_KEYS, o->keys, &o->n_keys, key_kind_parse, "");
    parse_named(DEFAULT_WORKLOADS, o->workloads, &o->n_workloads, workload_parse, "");
    parse_threads(o, DEFAULT_THREADS);
    o->n = DEFAULT_N;
    o->repeat = DEFAULT_REPEAT;
    o->table = 1;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            print_usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc || strncmp(opt, "--", 2))
            bad_usage("bad argument '%s'", opt);
        const char *arg = argv[++i];
        if (!strcmp(opt, "--index"))
            parse_indexes(o, arg);
        else if (!strcmp(opt, "--keys"))
            parse_named(arg, o->keys, &o->n_keys, key_kind_parse, "unknown key set '%s'");
        else if (!strcmp(opt, "--workload"))
            parse_named(arg, o->workloads, &o->n_workloads, workload_parse,
                        "unknown workload '%s'");
        else if (!strcmp(opt, "--n"))
            o->n = (size_t)parse_number(arg, 1, 1L << 30, "bad --n '%s' (1 .. 2^30)");
        else if (!strcmp(opt, "--threads"))
            parse_threads(o, arg);
        else if (!strcmp(opt, "--repeat"))
            o->repeat = (int)parse_number(arg, 1, 1000, "bad --repeat '%s'");
        else if (!strcmp(opt, "--format") && (!strcmp(arg, "table") || !strcmp(arg, "csv")))
            o->table = !strcmp(arg, "table");
        else if (!strcmp(opt, "--plot"))
            o->plot = arg;
        else if (!strcmp(opt, "--csv"))
            o->csv = arg;
        else
            bad_usage("bad option '%s'", opt);
    }
    if (o->n_indexes == 0)
        bad_usage("%s", "no index is built (install the packages in scripts/install-deps.sh)");
}

/* ---- progress on stderr ---------------------------------------------------- */

static struct {
    int tty, done, total;
    double t0;
} progress;

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (progress.tty)
        fprintf(stderr, "\r\033[K[%3d/%d %4.0fs] %s", progress.done, progress.total,
                seconds_now() - progress.t0, line);
    else
        fprintf(stderr, "[%d/%d %.0fs] %s\n", progress.done, progress.total,
                seconds_now() - progress.t0, line);
}

/* ---- measuring ------------------------------------------------------------- */

struct loaded {
    void *ix;
    double bytes_per_key;
};

static uint32_t run_number;

/* A fresh index holding the key set, loaded by `threads` threads (untimed); its
 * memory is measured here. `seconds` gets the load's time if not NULL. */
static struct loaded load(const struct bench_index *index, struct requests *rq, int threads,
                          double *seconds) {
    size_t before = heap_in_use();
    struct loaded l = {index->create(rq->ks->n, rq->ks->u64), 0};
    if (!l.ix)
        check_fail("%s: create failed", index->name);
    double s = workload_run(W_INSERT, index, l.ix, rq, threads, ++run_number);
    if (seconds)
        *seconds = s;
    size_t own = index->memory(l.ix);
    size_t after = heap_in_use();
    l.bytes_per_key = (double)(own ? own : after > before ? after - before : 0) / (double)rq->ks->n;
    return l;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Whether the index can run w: scans need an ordered scan, and updates of present
 * keys a put that replaces values. */
static int runs_on(const struct bench_index *index, enum workload w) {
    return (!workload_needs_scan(w) || index->scan) && !(workload_updates(w) && index->versioned);
}

static void measure(const struct options *o, const struct bench_index *index, struct requests *rq,
                    enum workload w, int threads, struct loaded *shared) {
    const struct keyset *ks = rq->ks;
    struct result r = {index->name, ks->name, w, threads, ks->n, 0, 0, 0, o->repeat, 0, 0};
    if (!runs_on(index, w)) {
        r.skipped = 1;
        r.runs = 0;
        report_add(&r);
        return;
    }
    check_context("%s %s %s, %d thread%s", index->name, ks->name, workload_name(w), threads,
                  threads == 1 ? "" : "s");
    double mops[1000], bytes[1000];
    long ops = workload_ops(w, ks->n);
    for (int rep = 0; rep < o->repeat; rep++) {
        say("%s %s %s, %d thread%s: run %d of %d", index->name, ks->name, workload_name(w), threads,
            threads == 1 ? "" : "s", rep + 1, o->repeat);
        double seconds;
        if (w == W_INSERT) {
            struct loaded l = load(index, rq, threads, &seconds);
            bytes[rep] = l.bytes_per_key;
            index->destroy(l.ix);
        } else if (workload_changes_keys(w)) {
            struct loaded l = load(index, rq, o->max_threads, NULL);
            bytes[rep] = l.bytes_per_key;
            seconds = workload_run(w, index, l.ix, rq, threads, ++run_number);
            index->destroy(l.ix);
        } else {
            if (!shared->ix) {
                check_context("%s %s load, %d thread%s", index->name, ks->name, o->max_threads,
                              o->max_threads == 1 ? "" : "s");
                *shared = load(index, rq, o->max_threads, NULL);
                check_context("%s %s %s, %d thread%s", index->name, ks->name, workload_name(w),
                              threads, threads == 1 ? "" : "s");
            }
            bytes[rep] = shared->bytes_per_key;
            seconds = workload_run(w, index, shared->ix, rq, threads, ++run_number);
        }
        mops[rep] = seconds > 0 ? (double)ops / seconds / 1e6 : 0;
    }
    qsort(mops, (size_t)o->repeat, sizeof mops[0], cmp_double);
    qsort(bytes, (size_t)o->repeat, sizeof bytes[0], cmp_double);
    r.mops = mops[o->repeat / 2];
    if (o->repeat % 2 == 0)
        r.mops = (r.mops + mops[o->repeat / 2 - 1]) / 2;
    r.mops_min = mops[0];
    r.mops_max = mops[o->repeat - 1];
    r.bytes_per_key = bytes[o->repeat / 2];
    progress.done++;
    report_add(&r);
}

int main(int argc, char **argv) {
    struct options o;
    parse_options(&o, argc, argv);
    FILE *csv = NULL;
    if (o.csv && !(csv = fopen(o.csv, "w"))) {
        perror(o.csv);
        return 2;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    progress.tty = isatty(2);
    progress.t0 = seconds_now();
    for (int i = 0; i < o.n_indexes; i++)
        for (int w = 0; w < o.n_workloads; w++)
            if (runs_on(o.indexes[i], o.workloads[w]))
                progress.total += o.n_keys * o.n_threads;
    report_begin(o.table, csv, o.repeat, (int)cpus);
    report_columns(o.indexes, o.n_indexes);
    static const char *const trees[] = {"art", "btree"};
    for (int i = 0; i < 2; i++) {
        int known;
        if (!bench_index_find(trees[i], &known)) {
            char note[128];
            snprintf(note, sizeof note,
                     "%-8s not in this build: include/larch/%s.h did not exist "
                     "when larch was configured",
                     trees[i], trees[i]);
            report_note(note);
        }
    }

    for (int k = 0; k < o.n_keys; k++) {
        struct keyset ks;
        struct requests rq;
        say("generating %s keys (%zu present, %zu absent)", key_kind_name(o.keys[k]), o.n, o.n);
        check_context("generating %s keys", key_kind_name(o.keys[k]));
        keyset_generate(&ks, o.keys[k], o.n);
        requests_init(&rq, &ks);
        for (int i = 0; i < o.n_indexes; i++) {
            struct loaded shared = {0};
            for (int w = 0; w < o.n_workloads; w++)
                for (int t = 0; t < o.n_threads; t++)
                    measure(&o, o.indexes[i], &rq, o.workloads[w], o.threads[t], &shared);
            if (shared.ix)
                o.indexes[i]->destroy(shared.ix);
        }
        requests_free(&rq);
        keyset_free(&ks);
    }
    if (progress.tty)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "larch-bench: %d measurements in %.0f s\n", progress.done,
            seconds_now() - progress.t0);
    int status = report_finish(o.plot);
    if (csv)
        fclose(csv);
    return status ? 1 : 0;
}
