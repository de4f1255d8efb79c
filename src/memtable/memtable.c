/* The memtable's point operations. A write allocates everything it needs from the
 * arena first (for a key new to the memtable, its record and first version in one
 * piece), so the only step that publishes is the last: the index insert of a
 * record whose chain already holds the version, or the CAS of a version into an
 * existing chain. An error before that leaves nothing visible, and the arena takes
 * the unpublished bytes back when nothing was allocated after them. */
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/key.h"
#include "memtable/chain.h"
#include "memtable/memtable.h"

larch_memtable *memtable_new_with(const struct mt_index_ops *ops) {
    larch_memtable *m = larch__malloc(sizeof *m);
    if (!m)
        return NULL;
    m->ops = ops;
    if (arena_init(&m->arena) != LARCH_OK)
        goto no_arena;
    unsigned n = arena_shards(&m->arena);
    m->stripes = larch__aligned_alloc(LARCH_CACHE_PAD, n * sizeof *m->stripes);
    if (!m->stripes)
        goto no_stripes;
    for (unsigned i = 0; i < n; i++) {
        atomic_init(&m->stripes[i].versions, 0);
        atomic_init(&m->stripes[i].keys, 0);
        atomic_init(&m->stripes[i].key_bytes, 0);
    }
    m->index = ops->create();
    if (!m->index)
        goto no_index;
    return m;
no_index:
    larch__free(m->stripes);
no_stripes:
    arena_destroy(&m->arena);
no_arena:
    larch__free(m);
    return NULL;
}

larch_memtable *larch_memtable_new(void) {
    return memtable_new_with(MT_INDEX_DEFAULT);
}

larch_memtable *larch_memtable_new_btree(void) {
    return memtable_new_with(&larch__mt_index_btree);
}

larch_memtable *larch_memtable_new_art(void) {
    return memtable_new_with(&larch__mt_index_art);
}

void larch_memtable_free(larch_memtable *m) {
    if (!m)
        return;
    m->ops->destroy(m->index);
    larch__free(m->stripes);
    arena_destroy(&m->arena);
    larch__free(m);
}

/* ---- writes ------------------------------------------------------------------- */

static void count_add(_Atomic size_t *counter, size_t n) {
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Most puts into a memtable bring a key it does not hold yet; for those one index
 * insert is the whole index work. A put to a key it holds is better served by an
 * optimistic find, which locks nothing, before the chain CAS, where the index has
 * one (the ART's insert finds a present key without locking anyway). Each thread
 * guesses which kind comes next from the last one it made. */
static LARCH_TLS_IE bool last_key_was_present;

struct write {
    const void *key, *val;
    size_t klen, vlen;
    uint64_t seq;
    bool tombstone;
};

/* Adds the version to the chain of rec, a published record. */
static int add_to_record(larch_memtable *m, struct mt_record *rec, const struct write *w) {
    struct arena_spot spot;
    if (!arena_alloc(&m->arena, version_size(w->vlen), &spot))
        return LARCH_ENOMEM;
    struct mt_version *v = spot.p;
    version_init(v, w->seq, w->val, w->vlen, w->tombstone);
    if (chain_insert(rec, v) == LARCH_EXISTS) {
        arena_unalloc(&m->arena, &spot);
        return LARCH_EXISTS;
    }
    count_add(&m->stripes[spot.shard].versions, 1);
    return LARCH_OK;
}

/* Builds a record holding the version (the version right after it, chain.h) and
 * inserts it into the index; if the key is there already, adds the version to the
 * chain found instead. */
static int add_with_record(larch_memtable *m, const struct write *w) {
    size_t rsize = record_size(w->klen), vsize = version_size(w->vlen);
    struct arena_spot spot;
    if (!arena_alloc(&m->arena, rsize + vsize, &spot))
        return LARCH_ENOMEM;
    struct mt_record *rec = spot.p;
    struct mt_version *v = (struct mt_version *)((unsigned char *)spot.p + rsize);
    version_init(v, w->seq, w->val, w->vlen, w->tombstone);
    record_init(rec, w->key, w->klen, v);
    struct mt_record *found;
    int rc = m->ops->insert(m->index, rec, &found);
    if (rc == LARCH_OK) {
        struct mt_stripe *s = &m->stripes[spot.shard];
        count_add(&s->versions, 1);
        count_add(&s->keys, 1);
        count_add(&s->key_bytes, w->klen);
        last_key_was_present = false;
        return LARCH_OK;
    }
    if (rc < 0) {
        arena_unalloc(&m->arena, &spot);
        return rc;
    }
    /* Present (perhaps put there by another writer a moment ago): the version, moved
     * down over our record (neither was published), joins that record's chain, and
     * the rest goes back to the arena. */
    last_key_was_present = true;
    memmove(spot.p, v, vsize);
    v = spot.p;
    struct arena_spot tail = {spot.shard, (unsigned char *)spot.p + arena_round(vsize), rsize};
    arena_unalloc(&m->arena, &tail);
    if (chain_insert(found, v) == LARCH_EXISTS) {
        struct arena_spot version_spot = {spot.shard, v, arena_round(vsize)};
        arena_unalloc(&m->arena, &version_spot);
        return LARCH_EXISTS;
    }
    count_add(&m->stripes[spot.shard].versions, 1);
    return LARCH_OK;
}

static int add_version(larch_memtable *m, const struct write *w) {
    if (!m || (!w->val && w->vlen) || w->vlen >= VERSION_TOMBSTONE)
        return LARCH_EINVAL;
    int rc = larch__key_check(w->key, w->klen);
    if (rc != LARCH_OK)
        return rc;
    if (last_key_was_present && m->ops->find) {
        struct mt_record *rec;
        rc = m->ops->find(m->index, w->key, w->klen, &rec);
        if (rc == LARCH_OK)
            return add_to_record(m, rec, w);
        if (rc < 0)
            return rc;
    }
    return add_with_record(m, w);
}

int larch_memtable_put(larch_memtable *m, const void *key, size_t klen, uint64_t seq,
                       const void *val, size_t vlen) {
    struct write w = {key, val, klen, vlen, seq, false};
    return add_version(m, &w);
}

int larch_memtable_del(larch_memtable *m, const void *key, size_t klen, uint64_t seq) {
    struct write w = {key, NULL, klen, 0, seq, true};
    return add_version(m, &w);
}

/* ---- reads -------------------------------------------------------------------- */

int larch_memtable_get(larch_memtable *m, const void *key, size_t klen, uint64_t snapshot,
                       const void **val, size_t *vlen, uint64_t *seq_out) {
    if (!m)
        return LARCH_EINVAL;
    int rc = larch__key_check(key, klen);
    if (rc != LARCH_OK)
        return rc;
    const struct mt_version *newest = NULL, *v = NULL;
    rc = m->ops->newest(m->index, key, klen, &newest);
    if (rc < 0)
        return rc;
    if (rc == LARCH_OK)
        v = chain_visible(newest, snapshot);
    bool value = v && !version_is_tombstone(v);
    if (val)
        *val = value ? v->value : NULL;
    if (vlen)
        *vlen = value ? v->vlen : 0;
    if (seq_out)
        *seq_out = v ? v->seq : 0;
    return !v ? LARCH_NOTFOUND : value ? LARCH_OK : LARCH_DELETED;
}

enum stripe_field { STRIPE_VERSIONS, STRIPE_KEYS, STRIPE_KEY_BYTES };

static size_t stripes_sum(const larch_memtable *m, enum stripe_field f) {
    size_t total = 0;
    for (unsigned i = 0; i < arena_shards(&m->arena); i++) {
        struct mt_stripe *s = &m->stripes[i];
        _Atomic size_t *c = f == STRIPE_VERSIONS ? &s->versions
                            : f == STRIPE_KEYS   ? &s->keys
                                                 : &s->key_bytes;
        total += atomic_load_explicit(c, memory_order_relaxed);
    }
    return total;
}

size_t larch_memtable_len(larch_memtable *m) {
    return m ? stripes_sum(m, STRIPE_VERSIONS) : 0;
}

size_t larch_memtable_bytes(larch_memtable *m) {
    if (!m)
        return 0;
    size_t keys = stripes_sum(m, STRIPE_KEYS);
    size_t key_bytes = stripes_sum(m, STRIPE_KEY_BYTES);
    return sizeof *m + arena_shards(&m->arena) * sizeof *m->stripes + arena_bytes(&m->arena) +
           m->ops->bytes_estimate(keys, key_bytes);
}

size_t memtable_mapped_bytes(const larch_memtable *m) {
    return m ? arena_mapped_bytes(&m->arena) : 0;
}
