/* The B+ tree (larch/btree.h) as a memtable index: it keeps its own copy of each
 * key, and the record's address as the value. */
#include <larch/btree.h>

#include "btree/node.h"
#include "btree/tree.h"
#include "memtable/index.h"

static void *bt_create(void) {
    return larch_btree_new();
}
static void bt_destroy(void *ix) {
    larch_btree_free(ix);
}
static int bt_insert(void *ix, struct mt_record *rec, struct mt_record **found) {
    uint64_t cur;
    int rc = larch_btree_insert(ix, rec->key, rec->klen, (uint64_t)(uintptr_t)rec, &cur);
    if (rc == LARCH_EXISTS)
        *found = (struct mt_record *)(uintptr_t)cur;
    return rc;
}
static int bt_find(void *ix, const void *key, size_t len, struct mt_record **rec) {
    uint64_t found;
    int rc = larch_btree_get(ix, key, len, &found);
    if (rc == LARCH_OK)
        *rec = (struct mt_record *)(uintptr_t)found;
    return rc;
}
static int bt_newest(void *ix, const void *key, size_t len, const struct mt_version **v) {
    struct mt_record *rec;
    int rc = bt_find(ix, key, len, &rec);
    if (rc == LARCH_OK)
        *v = record_newest(rec);
    return rc;
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
static const struct mt_record *bt_iter_record(const void *it) {
    return (const struct mt_record *)(uintptr_t)larch_btree_iter_value(it);
}
static const void *bt_iter_ahead(const void *it, unsigned ahead) {
    return (const void *)(uintptr_t)larch__bt_iter_value_ahead(it, ahead);
}
static int bt_iter_status(const void *it) {
    return larch_btree_iter_status(it);
}

const struct mt_index_ops larch__mt_index_btree = {
    .name = "btree",
    .create = bt_create,
    .destroy = bt_destroy,
    .insert = bt_insert,
    .find = bt_find,
    .newest = bt_newest,
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
    .iter_record = bt_iter_record,
    .iter_ahead = bt_iter_ahead,
    .iter_status = bt_iter_status,
};
