/* index_btree.c: larch's B+ tree (larch/btree.h) as a larch-bench index. Compiled
 * only when the header exists (bench/CMakeLists.txt); the calls map one to one. */
#include "index.h"

#include <larch/btree.h>
#include <larch/epoch.h>
#include <larch/larch.h>

static void *bt_create(size_t n_hint, int u64_keys) {
    (void)n_hint, (void)u64_keys;
    return larch_btree_new();
}

static void bt_destroy(void *ix) {
    larch_btree_free(ix);
}

static int bt_put(void *ix, const void *key, size_t len, uint64_t val) {
    return larch_btree_put(ix, key, len, val, NULL);
}

static int bt_get(void *ix, const void *key, size_t len, uint64_t *val) {
    return larch_btree_get(ix, key, len, val);
}

static int bt_del(void *ix, const void *key, size_t len) {
    return larch_btree_del(ix, key, len, NULL);
}

static long bt_scan(void *ix, const void *start, size_t len, bench_scan_fn fn, void *ctx) {
    return larch_btree_scan(ix, start, len, NULL, 0, fn, ctx);
}

static size_t bt_memory(void *ix) {
    (void)ix;
    larch_epoch_barrier(); /* run every retired node's free */
    return 0;
}

const struct bench_index bench_index_btree = {
    .name = "btree",
    .what = "larch_btree: B+ tree with optimistic lock coupling",
    .create = bt_create,
    .destroy = bt_destroy,
    .put = bt_put,
    .get = bt_get,
    .del = bt_del,
    .scan = bt_scan,
    .memory = bt_memory,
};
