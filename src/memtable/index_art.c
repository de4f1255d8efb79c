/* The ART (larch/art.h) as a memtable index, the default. The records are the
 * tree's leaves: a record is laid out as struct art_leaf (checked below), built in
 * the memtable's arena and linked by larch__art_insert_leaf, so a key is stored
 * once; the leaf's value word is the chain head, which the memtable CASes without
 * the tree (the tree never writes a leaf's value for inserts). The tree never
 * frees these leaves: larch__art_free_nodes frees its nodes only. */
#include "memtable/index.h"

#include <larch/art.h>

#include "art/tree.h"

_Static_assert(offsetof(struct mt_record, newest) == offsetof(struct art_leaf, value) &&
                   sizeof(((struct mt_record *)0)->newest) ==
                       sizeof(((struct art_leaf *)0)->value) &&
                   offsetof(struct mt_record, klen) == offsetof(struct art_leaf, len) &&
                   sizeof(((struct mt_record *)0)->klen) == sizeof(((struct art_leaf *)0)->len) &&
                   offsetof(struct mt_record, key) == offsetof(struct art_leaf, key),
               "a memtable record is laid out as an ART leaf");

/* A get reads the record's first line (the chain head, the key), then the newest
 * version and its value, which follow in the next lines (chain.h): the tree
 * prefetches them when it meets the record (1M k16 keys, 100-byte values, 3
 * alternated runs: gets 1.23 / 1.21 / 1.26 -> 1.39 / 1.28 / 1.31 M/s). */
static void *art_create(void) {
    larch_art *t = larch_art_new();
    if (t)
        t->leaf_lines_after = 2;
    return t;
}
static void art_destroy(void *ix) {
    larch__art_free_nodes(ix);
}
static int art_insert(void *ix, struct mt_record *rec, struct mt_record **found) {
    struct art_leaf *leaf;
    int rc = larch__art_insert_leaf(ix, (struct art_leaf *)rec, &leaf);
    if (rc == LARCH_EXISTS)
        *found = (struct mt_record *)leaf;
    return rc;
}
static int art_newest(void *ix, const void *key, size_t len, const struct mt_version **v) {
    uint64_t word;
    /* larch_art_get loads the leaf's value with acquire: the version is seen whole. */
    int rc = larch_art_get(ix, key, len, &word);
    if (rc == LARCH_OK)
        *v = version_at(word);
    return rc;
}

/* Inner nodes only (the leaves are the records): about 44 bytes a key on 1M random
 * 16-digit keys (larch-bench k16), mostly the Node16s and Node4s of the last
 * levels. */
static size_t art_bytes_estimate(size_t keys, size_t key_bytes) {
    (void)key_bytes;
    return keys * 44;
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
/* The iterator hands out the leaf's value, the chain head, and a copy of the key;
 * the chain and the key's length lead to the record. */
static const struct mt_record *art_iter_record(const void *it) {
    size_t klen;
    larch_art_iter_key(it, &klen);
    return record_of_chain(version_at(larch_art_iter_value(it)), klen);
}
/* The chain head: the newest version, which follows its record. */
static const void *art_iter_ahead(const void *it, unsigned ahead) {
    return version_at(larch__art_iter_value_ahead(it, ahead));
}
static int art_iter_status(const void *it) {
    return larch_art_iter_status(it);
}

const struct mt_index_ops larch__mt_index_art = {
    .name = "art",
    .create = art_create,
    .destroy = art_destroy,
    .insert = art_insert,
    .find = NULL,
    .newest = art_newest,
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
    .iter_record = art_iter_record,
    .iter_ahead = art_iter_ahead,
    .iter_status = art_iter_status,
};
