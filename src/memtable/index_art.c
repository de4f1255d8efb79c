/* The ART (larch/art.h) as a memtable index, the default: one-line wrappers. */
#include "memtable/index.h"

#include <larch/art.h>

static void *art_create(void) {
    return larch_art_new();
}
static void art_destroy(void *ix) {
    larch_art_free(ix);
}
static int art_insert(void *ix, const void *key, size_t len, uint64_t val, uint64_t *cur) {
    return larch_art_insert(ix, key, len, val, cur);
}
static int art_get(void *ix, const void *key, size_t len, uint64_t *val) {
    return larch_art_get(ix, key, len, val);
}

/* A rough figure until the ART reports its own: a leaf (header, value, key) per key
 * plus about 16 bytes of inner nodes per key. */
static size_t art_bytes_estimate(size_t keys, size_t key_bytes) {
    return keys * 40 + key_bytes;
}

static void *art_iter_new(void *ix) {
    return larch_art_iter_new(ix);
}
static void art_iter_free(void *it) {
    larch_art_iter_free(it);
}
static void art_iter_seek(void *it, const void *key, size_t len) {
    larch_art_iter_seek(it, key, len);
}
static void art_iter_seek_for_prev(void *it, const void *key, size_t len) {
    larch_art_iter_seek_for_prev(it, key, len);
}
static void art_iter_seek_first(void *it) {
    larch_art_iter_seek_first(it);
}
static void art_iter_seek_last(void *it) {
    larch_art_iter_seek_last(it);
}
static int art_iter_valid(const void *it) {
    return larch_art_iter_valid(it);
}
static void art_iter_next(void *it) {
    larch_art_iter_next(it);
}
static void art_iter_prev(void *it) {
    larch_art_iter_prev(it);
}
static uint64_t art_iter_value(const void *it) {
    return larch_art_iter_value(it);
}
static int art_iter_status(const void *it) {
    return larch_art_iter_status(it);
}

const struct mt_index_ops larch__mt_index_art = {
    .name = "art",
    .create = art_create,
    .destroy = art_destroy,
    .insert = art_insert,
    .get = art_get,
    .bytes_estimate = art_bytes_estimate,
    .iter_new = art_iter_new,
    .iter_free = art_iter_free,
    .iter_seek = art_iter_seek,
    .iter_seek_for_prev = art_iter_seek_for_prev,
    .iter_seek_first = art_iter_seek_first,
    .iter_seek_last = art_iter_seek_last,
    .iter_valid = art_iter_valid,
    .iter_next = art_iter_next,
    .iter_prev = art_iter_prev,
    .iter_value = art_iter_value,
    .iter_status = art_iter_status,
};
