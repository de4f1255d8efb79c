/* index_rwlock.c: the "RwLock<BTreeMap>" baseline: one pthread_rwlock_t around a
 * Judy array (libjudy), JudyL for 8-byte integer keys (unsigned word order is
 * big-endian memcmp order), JudySL for string keys (which hold no NUL byte). The
 * lock prefers writers, like Rust's RwLock, so writers are not starved. */
#define _GNU_SOURCE
#include "index.h"

#include <larch/larch.h>

#include <Judy.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct rw {
    pthread_rwlock_t lock;
    Pvoid_t judy;
    int u64;
};

/* Judy cannot tell a new slot from a stored 0, so a slot holds value + 1 and 0
 * means "just created". The benchmark never stores UINT64_MAX. */
#define STORED(v) ((Word_t)(v) + 1)

static Word_t word_of(const void *key) {
    uint64_t be;
    memcpy(&be, key, 8);
    return (Word_t)__builtin_bswap64(be);
}

static void *rw_create(size_t n_hint, int u64_keys) {
    (void)n_hint;
    struct rw *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&t->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    t->u64 = u64_keys;
    return t;
}

static void rw_destroy(void *ix) {
    struct rw *t = ix;
    if (t->u64)
        JudyLFreeArray(&t->judy, PJE0);
    else
        JudySLFreeArray(&t->judy, PJE0);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

/* String keys reach JudySL as they are: the key sets end every key with a NUL. */
static int rw_put(void *ix, const void *key, size_t len, uint64_t val) {
    struct rw *t = ix;
    if ((t->u64 && len != 8) || val == UINT64_MAX)
        return LARCH_EINVAL;
    pthread_rwlock_wrlock(&t->lock);
    PPvoid_t slot = t->u64 ? JudyLIns(&t->judy, word_of(key), PJE0)
                           : JudySLIns(&t->judy, (const uint8_t *)key, PJE0);
    int status = LARCH_ENOMEM;
    if (slot != PPJERR) {
        status = *(Word_t *)slot ? LARCH_EXISTS : LARCH_OK;
        *(Word_t *)slot = STORED(val);
    }
    pthread_rwlock_unlock(&t->lock);
    return status;
}

static int rw_get(void *ix, const void *key, size_t len, uint64_t *val) {
    struct rw *t = ix;
    if (t->u64 && len != 8)
        return LARCH_NOTFOUND;
    pthread_rwlock_rdlock(&t->lock);
    PPvoid_t slot = t->u64 ? JudyLGet(t->judy, word_of(key), PJE0)
                           : JudySLGet(t->judy, (const uint8_t *)key, PJE0);
    if (slot)
        *val = (uint64_t)(*(Word_t *)slot - 1);
    pthread_rwlock_unlock(&t->lock);
    return slot ? LARCH_OK : LARCH_NOTFOUND;
}

static int rw_del(void *ix, const void *key, size_t len) {
    struct rw *t = ix;
    if (t->u64 && len != 8)
        return LARCH_NOTFOUND;
    pthread_rwlock_wrlock(&t->lock);
    int removed = t->u64 ? JudyLDel(&t->judy, word_of(key), PJE0)
                         : JudySLDel(&t->judy, (const uint8_t *)key, PJE0);
    pthread_rwlock_unlock(&t->lock);
    return removed == 1 ? LARCH_OK : removed == 0 ? LARCH_NOTFOUND : LARCH_ENOMEM;
}

static long scan_words(struct rw *t, const void *start, bench_scan_fn fn, void *ctx) {
    Word_t index = word_of(start);
    long calls = 0;
    for (PPvoid_t slot = JudyLFirst(t->judy, &index, PJE0); slot;
         slot = JudyLNext(t->judy, &index, PJE0)) {
        unsigned char key[8];
        uint64_t be = __builtin_bswap64((uint64_t)index);
        memcpy(key, &be, 8);
        calls++;
        if (fn(ctx, key, 8, (uint64_t)(*(Word_t *)slot - 1)))
            break;
    }
    return calls;
}

static long scan_strings(struct rw *t, const void *start, size_t len, bench_scan_fn fn, void *ctx) {
    /* JudySL walks in place in a buffer that must hold the longest key stored. */
    uint8_t index[LARCH_KEY_MAX + 1];
    if (len > LARCH_KEY_MAX)
        len = LARCH_KEY_MAX;
    memcpy(index, start, len);
    index[len] = 0;
    long calls = 0;
    for (PPvoid_t slot = JudySLFirst(t->judy, index, PJE0); slot;
         slot = JudySLNext(t->judy, index, PJE0)) {
        calls++;
        if (fn(ctx, index, strlen((char *)index), (uint64_t)(*(Word_t *)slot - 1)))
            break;
    }
    return calls;
}

static long rw_scan(void *ix, const void *start, size_t len, bench_scan_fn fn, void *ctx) {
    struct rw *t = ix;
    if (t->u64 && len != 8)
        return LARCH_EINVAL;
    pthread_rwlock_rdlock(&t->lock);
    long calls = t->u64 ? scan_words(t, start, fn, ctx) : scan_strings(t, start, len, fn, ctx);
    pthread_rwlock_unlock(&t->lock);
    return calls;
}

static size_t rw_memory(void *ix) {
    (void)ix;
    return 0;
}

const struct bench_index bench_index_rwlock = {
    .name = "rwlock",
    .what = "pthread_rwlock_t around a Judy array (JudyL / JudySL), the RwLock<BTreeMap> baseline",
    .create = rw_create,
    .destroy = rw_destroy,
    .put = rw_put,
    .get = rw_get,
    .del = rw_del,
    .scan = rw_scan,
    .memory = rw_memory,
};
