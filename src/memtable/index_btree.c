/* The B+ tree (larch/btree.h) as a memtable index: one-line wrappers. */
#include <larch/btree.h>

#include "btree/node.h"
#include "memtable/index.h"

static void *bt_create(void) {
    return larch_btree_new();
}
static void bt_destroy(void *ix) {
    larch_btree_free(ix);
}
static int bt_insert(void *ix, const void *key, size_t len, uint64_t val, uint64_t *cur) {
    return larch_btree_insert(ix, key, len, val, cur);
}
static int bt_get(void *ix, const void *key, size_t len, uint64_t *val) {
    return larch_btree_get(ix, key, len, val);
}

/* A leaf entry is a slot word, a value word and the key padded to words; random
 * inserts leave leaves about 70% full, and inner nodes add a few percent. */
static size_t bt_bytes_estimate(size_t keys, size_t key_bytes) {
    size_t entries = keys * 16 + key_bytes + keys * 4; /* padding: 4 bytes a key on average */
    return NODE_SIZE + entries / 7 * 10 + entries / 25;
}

static void *bt_iter_new(void *ix) {
    return larch_btree_iter_new(ix);
}
static void bt_iter_free(void *it) {
    larch_btree_iter_free(it);
}
static void bt_iter_seek(void *it, const void *key, size_t len) {
    larch_btree_iter_seek(it, key, len);
}
static void bt_iter_seek_for_prev(void *it, const void *key, size_t len) {
    larch_btree_iter_seek_for_prev(it, key, len);
}
static void bt_iter_seek_first(void *it) {
    larch_btree_iter_seek_first(it);
}
static void bt_iter_seek_last(void *it) {
    larch_btree_iter_seek_last(it);
}
static int bt_iter_valid(const void *it) {
    return larch_btree_iter_valid(it);
}
static void bt_iter_next(void *it) {
    larch_btree_iter_next(it);
}
static void bt_iter_prev(void *it) {
    larch_btree_iter_prev(it);
}
static uint64_t bt_iter_value(const void *it) {
    return larch_btree_iter_value(it);
}
static int bt_iter_status(const void *it) {
    return larch_btree_iter_status(it);
}

const struct mt_index_ops larch__mt_index_btree = {
    .name = "btree",
    .create = bt_create,
    .destroy = bt_destroy,
    .insert = bt_insert,
    .get = bt_get,
    .bytes_estimate = bt_bytes_estimate,
    .iter_new = bt_iter_new,
    .iter_free = bt_iter_free,
    .iter_seek = bt_iter_seek,
    .iter_seek_for_prev = bt_iter_seek_for_prev,
    .iter_seek_first = bt_iter_seek_first,
    .iter_seek_last = bt_iter_seek_last,
    .iter_valid = bt_iter_valid,
    .iter_next = bt_iter_next,
    .iter_prev = bt_iter_prev,
    .iter_value = bt_iter_value,
    .iter_status = bt_iter_status,
};
