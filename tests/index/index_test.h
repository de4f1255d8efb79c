/* What every suite in tests/index shares: the list of indexes built into this
 * executable, the one under test (IX), and helpers to build keys and to read a whole
 * index into an array so that two indexes, or an index and an expectation, can be
 * compared entry by entry. */
#ifndef LARCH_TESTS_INDEX_TEST_H
#define LARCH_TESTS_INDEX_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "index_ops.h"

/* The index the tests of a suite are running against. */
extern const struct index_ops *IX;

/* Selects the i-th index built in (ref first), announces it, and returns 1; returns
 * 0 past the last one. */
int index_select(size_t i);
#define FOR_EACH_INDEX for (size_t index_i_ = 0; index_select(index_i_); index_i_++)

/* An update callback that records how it was called (calls, present, the value it
 * saw) and answers `action`, storing `store`. */
struct update_call {
    int action, calls, present;
    uint64_t store, seen;
};
int update_call_fn(void *ctx, uint64_t *val, int present);

/* memcmp order, the shorter key first when one is a prefix of the other. */
int key_cmp(const void *a, size_t alen, const void *b, size_t blen);

/* Writes v as 8 big-endian bytes (so that key order is numeric order); returns 8. */
size_t key_u64(unsigned char *buf, uint64_t v);
uint64_t key_u64_read(const unsigned char *buf);

struct entry {
    unsigned char *key;
    size_t len;
    uint64_t val;
};

/* A growable array of owned entries. */
struct dump {
    struct entry *e;
    size_t n, cap;
};

void dump_add(struct dump *d, const void *key, size_t len, uint64_t val);
void dump_clear(struct dump *d);
void dump_free(struct dump *d);
/* Sorts by key and keeps the last value added for each key. */
void dump_sort_unique(struct dump *d);
/* Index of the entry with this key, or -1. */
long dump_find(const struct dump *d, const void *key, size_t len);

/* The whole index through scan, forward through an iterator, backward through an
 * iterator (reversed, so that all three compare equal). Return 0 if a call failed. */
int dump_scan(const struct index_ops *ops, void *t, struct dump *d);
int dump_iter_forward(const struct index_ops *ops, void *t, struct dump *d);
int dump_iter_backward(const struct index_ops *ops, void *t, struct dump *d);

/* 1 if equal; otherwise prints the first difference under `what` and returns 0. */
int dump_equal(const struct dump *a, const struct dump *b, const char *what);

/* check() passes, len() matches, and scan and both iterator directions give
 * exactly `expected`: 1, or 0 after printing what differs under `what`. (The harness
 * counts failures per file, so helpers here report and the tests CHECK.) */
int index_matches(const struct index_ops *ops, void *t, const struct dump *expected,
                  const char *what);

/* Puts every entry of d into t; 0 if any put failed. */
int index_fill(const struct index_ops *ops, void *t, const struct dump *d);

/* A scan callback that appends to the struct dump in ctx. */
int scan_collect(void *ctx, const void *key, size_t len, uint64_t val);

/* Runs fn(arg_i) on n threads, args[i] for thread i, and joins them. */
void run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size);

#endif /* LARCH_TESTS_INDEX_TEST_H */
