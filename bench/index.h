/* index.h: how an index plugs into larch-bench: one table of function pointers.
 * Statuses are larch's: put returns LARCH_OK (inserted) or LARCH_EXISTS (value
 * replaced), get and del LARCH_OK or LARCH_NOTFOUND; anything negative is an error
 * and fails the benchmark. */
#ifndef LARCH_BENCH_INDEX_H
#define LARCH_BENCH_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* The same shape as larch_scan_fn: return 0 to go on, non-zero to stop. */
typedef int (*bench_scan_fn)(void *ctx, const void *key, size_t len, uint64_t val);

struct bench_index {
    const char *name;
    const char *what; /* one line for the table's legend */
    /* put adds a version instead of replacing the value (the memtable): the
     * workloads that update present keys (ycsb-a, ycsb-b) are not run on it. */
    int versioned;
    /* n_hint: the number of keys the run will load; u64_keys: every key is 8 bytes,
     * a big-endian integer (lets a baseline pick an integer-keyed map). */
    void *(*create)(size_t n_hint, int u64_keys);
    void (*destroy)(void *ix);
    int (*put)(void *ix, const void *key, size_t len, uint64_t val);
    int (*get)(void *ix, const void *key, size_t len, uint64_t *val);
    int (*del)(void *ix, const void *key, size_t len);
    /* Calls fn on the entries with key >= start in ascending order until fn returns
     * non-zero or the entries run out; returns how many calls were made, or < 0 on
     * error. NULL: the index has no ordered scan (scan workloads are skipped). */
    long (*scan)(void *ix, const void *start, size_t len, bench_scan_fn fn, void *ctx);
    /* Finishes deferred work (reclamation) so that the allocator's figures are the
     * structure's; returns the structure's own byte count if it keeps one, else 0
     * (the harness then measures the heap). */
    size_t (*memory)(void *ix);
    /* Optional: run by every thread before its first and after its last call. */
    void (*thread_begin)(void);
    void (*thread_end)(void);
};

/* The adapters (index_*.c); each exists only when its index was built. */
extern const struct bench_index bench_index_art, bench_index_btree, bench_index_rwlock,
    bench_index_hash, bench_index_memtable, bench_index_memtable_btree;

/* NULL-terminated, in the default order: the larch trees that were built, then the
 * baselines. The memtable (100-byte values, its own workload) runs only when
 * named, so it is not in this list. */
extern const struct bench_index *const bench_indexes[];

/* The index called name, or NULL; *known is set to 1 when the name is a larch or
 * baseline index that this build lacks (so the caller can say why). */
const struct bench_index *bench_index_find(const char *name, int *known);

#endif /* LARCH_BENCH_INDEX_H */
