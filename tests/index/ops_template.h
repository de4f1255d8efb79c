/* The body of ops_btree.c and ops_art.c: wrappers that turn the void handles of
 * struct index_ops back into an index's own types (an implicit conversion, no cast)
 * and call it. The includer defines OPS_TABLE, OPS_NAME and OPS_FN(name), which
 * names the index's call, e.g. larch_btree_##name. */
#ifndef OPS_FN
#error "define OPS_TABLE, OPS_NAME and OPS_FN before including ops_template.h"
#endif

#include "index_ops.h"

static void *ops_new(void) {
    return OPS_FN(new)();
}

static void ops_free(void *t) {
    OPS_FN(free)(t);
}

static int ops_put(void *t, const void *key, size_t len, uint64_t val, uint64_t *old) {
    return OPS_FN(put)(t, key, len, val, old);
}

static int ops_insert(void *t, const void *key, size_t len, uint64_t val, uint64_t *cur) {
    return OPS_FN(insert)(t, key, len, val, cur);
}

static int ops_get(void *t, const void *key, size_t len, uint64_t *val) {
    return OPS_FN(get)(t, key, len, val);
}

static int ops_del(void *t, const void *key, size_t len, uint64_t *old) {
    return OPS_FN(del)(t, key, len, old);
}

static int ops_cas(void *t, const void *key, size_t len, uint64_t expected, uint64_t desired,
                   uint64_t *cur) {
    return OPS_FN(cas)(t, key, len, expected, desired, cur);
}

static int ops_update(void *t, const void *key, size_t len, larch_update_fn fn, void *ctx) {
    return OPS_FN(update)(t, key, len, fn, ctx);
}

static long ops_scan(void *t, const void *lo, size_t lolen, const void *hi, size_t hilen,
                     larch_scan_fn fn, void *ctx) {
    return OPS_FN(scan)(t, lo, lolen, hi, hilen, fn, ctx);
}

static size_t ops_len(void *t) {
    return OPS_FN(len)(t);
}

static int ops_height(void *t) {
    return OPS_FN(height)(t);
}

static int ops_check(void *t, FILE *err) {
    return OPS_FN(check)(t, err);
}

static void *ops_iter_new(void *t) {
    return OPS_FN(iter_new)(t);
}

static void ops_iter_free(void *it) {
    OPS_FN(iter_free)(it);
}

static void ops_iter_seek(void *it, const void *key, size_t len) {
    OPS_FN(iter_seek)(it, key, len);
}

static void ops_iter_seek_for_prev(void *it, const void *key, size_t len) {
    OPS_FN(iter_seek_for_prev)(it, key, len);
}

static void ops_iter_seek_first(void *it) {
    OPS_FN(iter_seek_first)(it);
}

static void ops_iter_seek_last(void *it) {
    OPS_FN(iter_seek_last)(it);
}

static int ops_iter_valid(const void *it) {
    return OPS_FN(iter_valid)(it);
}

static void ops_iter_next(void *it) {
    OPS_FN(iter_next)(it);
}

static void ops_iter_prev(void *it) {
    OPS_FN(iter_prev)(it);
}

static const void *ops_iter_key(const void *it, size_t *len) {
    return OPS_FN(iter_key)(it, len);
}

static uint64_t ops_iter_value(const void *it) {
    return OPS_FN(iter_value)(it);
}

static int ops_iter_status(const void *it) {
    return OPS_FN(iter_status)(it);
}

const struct index_ops OPS_TABLE = {
    .name = OPS_NAME,
    .honours_alloc_hook = 1,
    .has_levels = 1,
    .new_ = ops_new,
    .free_ = ops_free,
    .put = ops_put,
    .insert = ops_insert,
    .get = ops_get,
    .del = ops_del,
    .cas = ops_cas,
    .update = ops_update,
    .scan = ops_scan,
    .len = ops_len,
    .height = ops_height,
    .check = ops_check,
    .iter_new = ops_iter_new,
    .iter_free = ops_iter_free,
    .iter_seek = ops_iter_seek,
    .iter_seek_for_prev = ops_iter_seek_for_prev,
    .iter_seek_first = ops_iter_seek_first,
    .iter_seek_last = ops_iter_seek_last,
    .iter_valid = ops_iter_valid,
    .iter_next = ops_iter_next,
    .iter_prev = ops_iter_prev,
    .iter_key = ops_iter_key,
    .iter_value = ops_iter_value,
    .iter_status = ops_iter_status,
};
