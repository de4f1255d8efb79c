/* index_memtable.c: larch's MVCC memtable (larch/memtable.h) as a larch-bench index,
 * measured the way a storage engine uses it (db_bench's defaults: 16-byte keys,
 * the `k16` key set, and 100-byte values).
 *
 * Each 64-bit value the harness stores becomes a 100-byte value: the word, then
 * the word again (xor a constant) to fill the rest, so a get reads and checks all
 * 100 bytes before it hands the word back to the harness's own checks. Each write
 * takes a fresh seq from a range its thread took at thread_begin (as an engine
 * hands out seqs, without one shared counter per write); later runs take higher
 * ranges, so a delete's tombstone is newer than the put it hides. Reads and scans
 * are at the latest snapshot (UINT64_MAX), where a tombstone reads as absent.
 * put adds a version rather than replacing a value, so the workloads that update
 * present keys (ycsb-a, ycsb-b) are not run on it (`versioned`). */
#include "heap.h"
#include "index.h"

#include <larch/larch.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_BYTES 100 /* whole words, and a 4-byte tail */
#define FILL 0x5a5a5a5a5a5a5a5aull
/* Seqs per thread and run: far more writes than any run makes. */
#define SEQ_RANGE (1ull << 40)

static _Atomic uint64_t seq_ranges;
static __thread uint64_t next_seq;
/* One iterator per thread for scans, made on the first scan, freed at thread_end
 * (every call of the harness is bracketed by thread_begin and thread_end). */
static __thread larch_memtable_iter *scan_iter;
static __thread void *scan_ix;

static void mt_thread_begin(void) {
    next_seq = atomic_fetch_add_explicit(&seq_ranges, SEQ_RANGE, memory_order_relaxed) + 1;
}

static void mt_thread_end(void) {
    larch_memtable_iter_free(scan_iter);
    scan_iter = NULL;
    scan_ix = NULL;
}

static uint64_t take_seq(void) {
    if (next_seq == 0) /* a caller outside thread_begin/end */
        mt_thread_begin();
    return next_seq++;
}

static void value_encode(unsigned char *out, uint64_t val) {
    uint64_t fill = val ^ FILL;
    memcpy(out, &val, 8);
    for (size_t off = 8; off + 8 <= VALUE_BYTES; off += 8)
        memcpy(out + off, &fill, 8);
    memcpy(out + VALUE_BYTES / 8 * 8, &fill, VALUE_BYTES % 8); /* the tail */
}

/* The word a 100-byte value holds; false if any of its bytes is wrong. */
static bool value_decode(const unsigned char *v, size_t vlen, uint64_t *val) {
    if (vlen != VALUE_BYTES)
        return false;
    memcpy(val, v, 8);
    uint64_t fill = *val ^ FILL, bad = 0, w;
    for (size_t off = 8; off + 8 <= VALUE_BYTES; off += 8) {
        memcpy(&w, v + off, 8);
        bad |= w ^ fill;
    }
    uint32_t tail, want;
    memcpy(&tail, v + VALUE_BYTES / 8 * 8, VALUE_BYTES % 8);
    memcpy(&want, &fill, VALUE_BYTES % 8);
    return bad == 0 && tail == want;
}

/* The memtable's large arena blocks are mapped on their own, where malloc's
 * statistics do not see them; memory() adds them to the heap in use since create.
 * (An internal call: the benchmark links the static library.) */
size_t larch__memtable_mapped_bytes(const larch_memtable *m);
static size_t heap_at_create;

static void *mt_create(size_t n_hint, int u64_keys) {
    (void)n_hint, (void)u64_keys;
    heap_at_create = heap_in_use();
    return larch_memtable_new();
}

static void *mt_create_btree(size_t n_hint, int u64_keys) {
    (void)n_hint, (void)u64_keys;
    heap_at_create = heap_in_use();
    return larch_memtable_new_btree();
}

static void mt_destroy(void *ix) {
    larch_memtable_free(ix);
}

static int mt_put(void *ix, const void *key, size_t len, uint64_t val) {
    unsigned char v[VALUE_BYTES];
    value_encode(v, val);
    return larch_memtable_put(ix, key, len, take_seq(), v, sizeof v);
}

static int mt_get(void *ix, const void *key, size_t len, uint64_t *val) {
    const void *v;
    size_t vlen;
    int rc = larch_memtable_get(ix, key, len, UINT64_MAX, &v, &vlen, NULL);
    if (rc == LARCH_DELETED)
        return LARCH_NOTFOUND;
    if (rc == LARCH_OK && !value_decode(v, vlen, val))
        return LARCH_ECORRUPT;
    return rc;
}

static int mt_del(void *ix, const void *key, size_t len) {
    return larch_memtable_del(ix, key, len, take_seq());
}

static long mt_scan(void *ix, const void *start, size_t len, bench_scan_fn fn, void *ctx) {
    if (scan_ix != ix) {
        mt_thread_end();
        if (!(scan_iter = larch_memtable_iter_new(ix, UINT64_MAX, 0)))
            return LARCH_ENOMEM;
        scan_ix = ix;
    }
    long calls = 0;
    for (larch_memtable_iter_seek(scan_iter, start, len); larch_memtable_iter_valid(scan_iter);
         larch_memtable_iter_next(scan_iter)) {
        size_t klen, vlen;
        const void *key = larch_memtable_iter_key(scan_iter, &klen);
        const void *v = larch_memtable_iter_value(scan_iter, &vlen);
        uint64_t val;
        if (!value_decode(v, vlen, &val))
            return LARCH_ECORRUPT;
        calls++;
        if (fn(ctx, key, klen, val))
            return calls;
    }
    int st = larch_memtable_iter_status(scan_iter);
    return st < 0 ? st : calls;
}

static size_t mt_memory(void *ix) {
    size_t heap = heap_in_use();
    return (heap > heap_at_create ? heap - heap_at_create : 0) + larch__memtable_mapped_bytes(ix);
}

/* Everything but the name and the constructor, shared by both indexes. */
#define MEMTABLE_CALLS                                                                             \
    .versioned = 1, .destroy = mt_destroy, .put = mt_put, .get = mt_get, .del = mt_del,            \
    .scan = mt_scan, .memory = mt_memory, .thread_begin = mt_thread_begin,                         \
    .thread_end = mt_thread_end

const struct bench_index bench_index_memtable = {
    .name = "memtable",
    .what = "larch_memtable: MVCC memtable, 100-byte values, reads at the latest snapshot",
    .create = mt_create,
    MEMTABLE_CALLS,
};

const struct bench_index bench_index_memtable_btree = {
    .name = "memtable-btree",
    .what = "larch_memtable over the B+ tree (larch_memtable_new_btree), the same workload",
    .create = mt_create_btree,
    MEMTABLE_CALLS,
};
