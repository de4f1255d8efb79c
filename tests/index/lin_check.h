/* A linearizability checker for the history of one key of an ordered index: the
 * Wing-Gong search with Lowe's memoisation (Lowe, "Testing for linearizability",
 * 2017), against a sequential register that is either absent or holds a 64-bit
 * value. Per-key checking is sound for a map: the operations here touch one key
 * each, and a history is linearizable iff each key's sub-history is (locality,
 * Herlihy and Wing 1990). */
#ifndef LARCH_TESTS_LIN_CHECK_H
#define LARCH_TESTS_LIN_CHECK_H

#include <stddef.h>
#include <stdint.h>

enum lin_kind { LIN_PUT, LIN_INSERT, LIN_GET, LIN_DEL, LIN_CAS, LIN_UPDATE };

/* What update's fn decides, as a function of what it sees. */
enum lin_update_mode {
    LIN_UPDATE_STORE,     /* store `arg` */
    LIN_UPDATE_DELETE,    /* delete */
    LIN_UPDATE_KEEP,      /* keep */
    LIN_UPDATE_INCREMENT, /* present: store the value + 1; absent: keep */
};

/* One completed call: invoke < ret, both from one clock shared by all threads, so
 * that a.ret < b.invoke means a returned before b was called. */
struct lin_op {
    enum lin_kind kind;
    int key;
    uint64_t arg;  /* put/insert: the value; cas: desired; update: the value to store */
    uint64_t arg2; /* cas: expected; update: enum lin_update_mode */
    int rc;
    uint64_t out; /* old (put, del), cur (insert, cas), val (get) */
    int fn_present;
    uint64_t fn_seen; /* update: what fn saw */
    uint64_t invoke, ret;
};

struct lin_state {
    int present;
    uint64_t val;
};

/* Applies op to s if its recorded result is what the register gives in state s;
 * returns 0 (s unchanged) if not. */
int lin_apply(const struct lin_op *op, struct lin_state *s);

/* 1 if the n operations (n <= LIN_MAX_OPS, all on one key, in any order) have a
 * linearization from state `initial`; 0 if not. *steps (if not NULL) gets the
 * number of search steps taken. */
enum { LIN_MAX_OPS = 128 };
int lin_check(const struct lin_op *ops, size_t n, struct lin_state initial, long *steps);

#endif /* LARCH_TESTS_LIN_CHECK_H */
