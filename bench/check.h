/* check.h: the honesty checks. Every value stored is the key's id (its rank, or
 * n + its place among the absent keys) in the low 32 bits and a run number above,
 * so any value read back names the one key it may belong to. A failed check
 * prints what went wrong and ends the program with status 1. */
#ifndef LARCH_BENCH_CHECK_H
#define LARCH_BENCH_CHECK_H

#include "keys.h"

#include <stdint.h>

#define VALUE(id, run) (((uint64_t)(run) << 32) | (uint32_t)(id))
#define VALUE_ID(val) ((uint32_t)(val))

/* What is being measured, for failure messages ("btree email lookup, 2 threads"). */
void check_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "larch-bench: FAILED (context): message" on stderr and exits 1. */
_Noreturn void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One scan's verifier, the scan callback's context. */
struct scan_check {
    const struct keyset *ks;
    uint32_t start;                 /* id of the (present) start key */
    const unsigned char *start_key; /* its bytes, from the request (in cache) */
    size_t start_len;
    long limit; /* entries wanted */
    long seen;
    uint32_t next_present; /* id of the present key the scan must reach next */
    int exact;             /* no keys were added: entries are ids start, start+1, ... */
    int full;              /* compare every entry's key bytes, not only the first's */
    size_t prev_len;       /* otherwise: each key must exceed the one before */
    unsigned char prev[BENCH_KEY_LEN_MAX];
};

/* The values alone prove the order and that no present key was skipped; reading
 * every expected key back as well doubles a scan's memory traffic, so callers ask
 * for `full` checks on a fixed sample of scans (SCAN_FULL_CHECK_EVERY). */
#define SCAN_FULL_CHECK_EVERY 8
void scan_check_begin(struct scan_check *c, const struct keyset *ks, uint32_t start,
                      const unsigned char *start_key, size_t start_len, long limit, int exact,
                      int full);
/* The bench_scan_fn: checks one entry, returns non-zero once `limit` were seen. */
int scan_check_entry(void *ctx, const void *key, size_t len, uint64_t val);
/* Checks the count: `limit` entries, or fewer only when the keys ran out. */
void scan_check_end(struct scan_check *c, long returned);

#endif /* LARCH_BENCH_CHECK_H */
