/* Memtable iterators: the index's iterator walks the user keys (each key once, its
 * value the key's record), and the iterator picks the entries of each key from
 * its chain. Records and versions never move or go away before the memtable, so
 * the iterator keeps plain pointers to its current entry and hands out pointers
 * into the arena; the index's iterator stays on the current key, so a step to
 * another key is one index step in either direction.
 *
 * With LARCH_ITER_ALL_VERSIONS, next follows the chain to the next older version
 * (every version older than a visible one is visible too). Chains are linked one
 * way only, so prev walks the chain from the newest once, keeping the visible
 * versions down to the current one in a stack that the following prevs pop: a
 * backward pass over a chain costs one walk, not one per step. A version
 * published meanwhile may show up or not, but entries still come strictly in
 * order: within a key every step moves seq strictly. */
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "memtable/chain.h"
#include "memtable/memtable.h"

struct larch_memtable_iter {
    larch_memtable *m;
    void *keys; /* the index's iterator: on rec's key while the iterator is valid */
    uint64_t snapshot;
    int flags;
    int status;
    const struct mt_record *rec; /* the current entry; NULL when invalid */
    const struct mt_version *ver;
    /* For prev with ALL_VERSIONS: visible versions of newer_rec, newest first, the
     * last one the current entry when it is still valid. */
    const struct mt_record *newer_rec;
    const struct mt_version **newer;
    size_t newer_len, newer_cap;
};

#define ITER_FLAGS (LARCH_ITER_ALL_VERSIONS | LARCH_ITER_TOMBSTONES)

larch_memtable_iter *larch_memtable_iter_new(larch_memtable *m, uint64_t snapshot, int flags) {
    if (!m || (flags & ~ITER_FLAGS))
        return NULL;
    larch_memtable_iter *it = larch__malloc(sizeof *it);
    if (!it)
        return NULL;
    it->keys = m->ops->iter_new(m->index);
    if (!it->keys) {
        larch__free(it);
        return NULL;
    }
    it->m = m;
    it->snapshot = snapshot;
    it->flags = flags;
    it->status = LARCH_OK;
    it->rec = NULL;
    it->ver = NULL;
    it->newer_rec = NULL;
    it->newer = NULL;
    it->newer_len = it->newer_cap = 0;
    return it;
}

void larch_memtable_iter_free(larch_memtable_iter *it) {
    if (!it)
        return;
    it->m->ops->iter_free(it->keys);
    larch__free(it->newer);
    larch__free(it);
}

/* The entry rec shows when the iterator arrives at it moving forward (its first
 * entry) or backward (its last); NULL if it shows none. */
static const struct mt_version *arrival(const larch_memtable_iter *it, const struct mt_record *rec,
                                        bool backward) {
    if (it->flags & LARCH_ITER_ALL_VERSIONS)
        return backward ? chain_oldest_visible(record_newest(rec), it->snapshot)
                        : chain_visible(record_newest(rec), it->snapshot);
    const struct mt_version *v = chain_visible(record_newest(rec), it->snapshot);
    if (v && version_is_tombstone(v) && !(it->flags & LARCH_ITER_TOMBSTONES))
        return NULL;
    return v;
}

/* Records lie scattered over the arena (allocated in the order keys arrived,
 * walked in key order), and each costs misses of its own: its record, its version,
 * its value. Prefetching the entry a few keys ahead as the iterator reaches each
 * key overlaps those misses with the ones of the keys in between. */
#define PREFETCH_AHEAD 4

static void prefetch_entry(const larch_memtable_iter *it, unsigned ahead) {
    const char *p = it->m->ops->iter_ahead(it->keys, ahead);
    if (p) {
        /* A record and its first version with a 100-byte value span three lines. */
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
        __builtin_prefetch(p + 128);
    }
}

/* From the index iterator's key on, in the given direction, the first key that
 * shows an entry. */
static void settle(larch_memtable_iter *it, bool backward) {
    const struct mt_index_ops *ops = it->m->ops;
    while (ops->iter_valid(it->keys)) {
        prefetch_entry(it, PREFETCH_AHEAD);
        const struct mt_record *rec = ops->iter_record(it->keys);
        const struct mt_version *v = arrival(it, rec, backward);
        if (v) {
            it->rec = rec;
            it->ver = v;
            return;
        }
        if (backward)
            ops->iter_prev(it->keys);
        else
            ops->iter_next(it->keys);
    }
    it->rec = NULL;
    it->ver = NULL;
    it->status = ops->iter_status(it->keys);
}

/* settle after a seek, with the entries before the one settle prefetches at each
 * key prefetched first. */
static void settle_after_seek(larch_memtable_iter *it, bool backward) {
    for (unsigned ahead = 1; ahead < PREFETCH_AHEAD; ahead++)
        prefetch_entry(it, ahead);
    settle(it, backward);
}

/* Starts a pass; false (the iterator invalid, status EINVAL) for a bad seek key.
 * A stack of newer versions built in an earlier pass may lack versions published
 * since, so it goes. */
static bool start(larch_memtable_iter *it, const void *key, size_t klen) {
    it->rec = NULL;
    it->ver = NULL;
    it->newer_rec = NULL;
    it->status = !key && klen ? LARCH_EINVAL : LARCH_OK;
    return it->status == LARCH_OK;
}

void larch_memtable_iter_seek(larch_memtable_iter *it, const void *key, size_t klen) {
    if (!it || !start(it, key, klen))
        return;
    it->m->ops->iter_seek(it->keys, key, klen);
    settle_after_seek(it, false);
}

void larch_memtable_iter_seek_for_prev(larch_memtable_iter *it, const void *key, size_t klen) {
    if (!it || !start(it, key, klen))
        return;
    it->m->ops->iter_seek_for_prev(it->keys, key, klen);
    settle_after_seek(it, true);
}

void larch_memtable_iter_seek_first(larch_memtable_iter *it) {
    if (!it || !start(it, NULL, 0))
        return;
    it->m->ops->iter_seek_first(it->keys);
    settle_after_seek(it, false);
}

void larch_memtable_iter_seek_last(larch_memtable_iter *it) {
    if (!it || !start(it, NULL, 0))
        return;
    it->m->ops->iter_seek_last(it->keys);
    settle_after_seek(it, true);
}

int larch_memtable_iter_valid(const larch_memtable_iter *it) {
    return it && it->rec;
}

void larch_memtable_iter_next(larch_memtable_iter *it) {
    if (!larch_memtable_iter_valid(it))
        return;
    if (it->flags & LARCH_ITER_ALL_VERSIONS) {
        const struct mt_version *older = version_older(it->ver);
        if (older) {
            it->ver = older;
            return;
        }
    }
    it->m->ops->iter_next(it->keys);
    settle(it, false);
}

static bool newer_push(larch_memtable_iter *it, const struct mt_version *v) {
    if (it->newer_len == it->newer_cap) {
        size_t cap = it->newer_cap ? 2 * it->newer_cap : 16;
        const struct mt_version **grown = larch__malloc(cap * sizeof *grown);
        if (!grown)
            return false;
        if (it->newer_len)
            memcpy(grown, it->newer, it->newer_len * sizeof *grown);
        larch__free(it->newer);
        it->newer = grown;
        it->newer_cap = cap;
    }
    it->newer[it->newer_len++] = v;
    return true;
}

/* The next newer visible version of the current entry's key, or NULL. */
static const struct mt_version *newer_version(larch_memtable_iter *it) {
    bool stacked =
        it->newer_rec == it->rec && it->newer_len > 0 && it->newer[it->newer_len - 1] == it->ver;
    if (!stacked) {
        it->newer_rec = NULL;
        it->newer_len = 0;
        const struct mt_version *newest = record_newest(it->rec), *w = newest;
        for (; w && w != it->ver; w = version_older(w))
            if (w->seq <= it->snapshot && !newer_push(it, w))
                break;
        if (w != it->ver || !newer_push(it, w)) /* out of memory: one walk per step */
            return chain_newer(newest, it->ver, it->snapshot);
        it->newer_rec = it->rec;
    }
    it->newer_len--; /* the current entry */
    return it->newer_len ? it->newer[it->newer_len - 1] : NULL;
}

void larch_memtable_iter_prev(larch_memtable_iter *it) {
    if (!larch_memtable_iter_valid(it))
        return;
    if (it->flags & LARCH_ITER_ALL_VERSIONS) {
        const struct mt_version *newer = newer_version(it);
        if (newer) {
            it->ver = newer;
            return;
        }
    }
    it->m->ops->iter_prev(it->keys);
    settle(it, true);
}

const void *larch_memtable_iter_key(const larch_memtable_iter *it, size_t *klen) {
    bool valid = larch_memtable_iter_valid(it);
    if (klen)
        *klen = valid ? it->rec->klen : 0;
    return valid ? it->rec->key : NULL;
}

const void *larch_memtable_iter_value(const larch_memtable_iter *it, size_t *vlen) {
    bool value = larch_memtable_iter_valid(it) && !version_is_tombstone(it->ver);
    if (vlen)
        *vlen = value ? it->ver->vlen : 0;
    return value ? it->ver->value : NULL;
}

uint64_t larch_memtable_iter_seq(const larch_memtable_iter *it) {
    return larch_memtable_iter_valid(it) ? it->ver->seq : 0;
}

int larch_memtable_iter_is_tombstone(const larch_memtable_iter *it) {
    return larch_memtable_iter_valid(it) && version_is_tombstone(it->ver);
}

int larch_memtable_iter_status(const larch_memtable_iter *it) {
    return it ? it->status : LARCH_EINVAL;
}
