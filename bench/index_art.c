/* index_art.c: larch's Adaptive Radix Tree (larch/art.h) as a larch-bench index. Compiled
 * only when the header exists (bench/CMakeLists.txt); the calls map one to one. */
#include "index.h"

#include <larch/art.h>
#include <larch/epoch.h>
#include <larch/larch.h>

static void *art_create(size_t n_hint, int u64_keys) {
    (void)n_hint, (void)u64_keys;
    return larch_art_new();
}

static void art_destroy(void *ix) {
    larch_art_free(ix);
}

static int art_put(void *ix, const void *key, size_t len, uint64_t val) {
    return larch_art_put(ix, key, len, val, NULL);
}

static int art_get(void *ix, const void *key, size_t len, uint64_t *val) {
    return larch_art_get(ix, key, len, val);
}

static int art_del(void *ix, const void *key, size_t len) {
    return larch_art_del(ix, key, len, NULL);
}

static long art_scan(void *ix, const void *start, size_t len, bench_scan_fn fn, void *ctx) {
    return larch_art_scan(ix, start, len, NULL, 0, fn, ctx);
}

static size_t art_memory(void *ix) {
    (void)ix;
    larch_epoch_barrier(); /* run every retired node's free */
    return 0;
}

const struct bench_index bench_index_art = {
    .name = "art",
    .what = "larch_art: Adaptive Radix Tree with optimistic lock coupling",
    .create = art_create,
    .destroy = art_destroy,
    .put = art_put,
    .get = art_get,
    .del = art_del,
    .scan = art_scan,
    .memory = art_memory,
};
