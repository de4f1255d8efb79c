/* Scans and iterators over the ordered walk. A scan hands each leaf's key to the
 * caller straight from the tree (it stays pinned throughout), or a bucket's key
 * copied out of it. An iterator copies a
 * small batch of entries and continues from the last key it handed out, so it holds
 * no pin or lock between calls; a batch copied before the caller's current pin
 * began is read again before a value from it is handed out, so that values
 * returned while pinned are protected. */
#include <string.h>

#include "art/tree.h"
#include "art/walk.h"
#include "common/alloc.h"
#include "common/seek_key.h"
#include "common/key.h"
#include "epoch/epoch.h"

/* ---- scan ------------------------------------------------------------------------ */

struct scan_ctx {
    const uint8_t *hi;
    size_t hilen;
    larch_scan_fn fn;
    void *ctx;
    long calls;
};

static int scan_emit(void *p, const uint8_t *key, size_t len, uint64_t value) {
    struct scan_ctx *s = p;
    if (s->hi && larch__key_cmp(key, len, s->hi, s->hilen) >= 0)
        return WALK_REFUSED_STOP;
    s->calls++;
    return s->fn(s->ctx, key, len, value) ? WALK_TAKEN_STOP : WALK_MORE;
}

long larch_art_scan(larch_art *t, const void *lo, size_t lolen, const void *hi, size_t hilen,
                    larch_scan_fn fn, void *ctx) {
    if (!t || !fn || (!lo && lolen))
        return LARCH_EINVAL;
    struct scan_ctx s = {.hi = hi, .hilen = hilen, .fn = fn, .ctx = ctx};
    struct walk w;
    art_walk_init(&w, 1, lo ? lo : (const uint8_t *)"", lolen, true);
    larch_epoch_pin();
    int r = art_walk(t, &w, scan_emit, &s);
    larch_epoch_unpin();
    art_walk_fini(&w);
    return r < 0 ? r : s.calls;
}

/* ---- iterators --------------------------------------------------------------------- */

/* Entries per batch: a seek copies few (a seek followed by a couple of moves
 * should not pay for a long walk), and each further batch in the same direction
 * twice as many as the last, up to the most, so that a long pass (a flush) pays
 * for one walk from the root per 128 entries rather than per 16. */
#define ITER_BATCH_MIN 16
#define ITER_BATCH_MAX 128
/* Room for a batch of ordinary keys, and always for one of the longest. */
#define ITER_KEY_BYTES (2 * LARCH_KEY_MAX)

enum { DIR_NONE = 0 };

struct larch_art_iter {
    larch_art *t;
    int dir; /* +1 / -1 as the batch was read; DIR_NONE: not positioned */
    int status;
    unsigned idx, n, cap; /* cap: entries the next batch may hold */
    bool exhausted;       /* nothing lies beyond the batch in its direction */
    uint64_t pin_gen;
    size_t bytes;
    uint32_t off[ITER_BATCH_MAX], len[ITER_BATCH_MAX];
    uint64_t val[ITER_BATCH_MAX];
    uint8_t keys[ITER_KEY_BYTES];
    uint8_t scratch[LARCH_KEY_MAX];
};

static int batch_emit(void *p, const uint8_t *key, size_t len, uint64_t value) {
    larch_art_iter *it = p;
    if (it->n == it->cap || it->bytes + len > ITER_KEY_BYTES)
        return WALK_REFUSED_STOP;
    memcpy(it->keys + it->bytes, key, len);
    it->off[it->n] = (uint32_t)it->bytes;
    it->len[it->n] = (uint32_t)len;
    it->val[it->n] = value;
    it->bytes += len;
    it->n++;
    return WALK_MORE;
}

/* Read a batch of up to it->cap entries in direction dir from key (NULL: from the
 * first / last key). */
static void read_batch(larch_art_iter *it, int dir, const uint8_t *key, size_t len,
                       bool inclusive) {
    it->n = 0;
    it->bytes = 0;
    it->idx = 0;
    struct walk w;
    art_walk_init(&w, dir, key, len, inclusive);
    larch_epoch_pin();
    int r = art_walk(it->t, &w, batch_emit, it);
    it->pin_gen = larch__epoch_pin_generation();
    larch_epoch_unpin();
    art_walk_fini(&w);
    it->status = r < 0 ? r : LARCH_OK;
    it->exhausted = r == WALK_END;
    it->dir = r >= 0 && it->n ? dir : DIR_NONE;
}

larch_art_iter *larch_art_iter_new(larch_art *t) {
    if (!t)
        return NULL;
    larch_art_iter *it = larch__malloc(sizeof *it);
    if (!it)
        return NULL;
    it->t = t;
    it->dir = DIR_NONE;
    it->status = LARCH_OK;
    it->idx = it->n = 0;
    it->cap = ITER_BATCH_MIN;
    return it;
}

void larch_art_iter_free(larch_art_iter *it) {
    larch__free(it);
}

/* The key to seek from (common/seek_key.h), or NULL: a NULL key with a length
 * ends the iterator with LARCH_EINVAL. */
static const uint8_t *seek_key(larch_art_iter *it, const void *key, size_t len) {
    const uint8_t *k = larch__seek_key(it, sizeof *it, it->scratch, key, len);
    if (!k) {
        it->dir = DIR_NONE;
        it->status = LARCH_EINVAL;
    }
    return k;
}

/* A seek's batch: a small one (see ITER_BATCH_MIN). */
static void seek_batch(larch_art_iter *it, int dir, const uint8_t *key, size_t len) {
    it->cap = ITER_BATCH_MIN;
    read_batch(it, dir, key, len, true);
}

void larch_art_iter_seek(larch_art_iter *it, const void *key, size_t len) {
    const uint8_t *k = it ? seek_key(it, key, len) : NULL;
    if (k)
        seek_batch(it, 1, k, len);
}

void larch_art_iter_seek_for_prev(larch_art_iter *it, const void *key, size_t len) {
    const uint8_t *k = it ? seek_key(it, key, len) : NULL;
    if (k)
        seek_batch(it, -1, k, len);
}

void larch_art_iter_seek_first(larch_art_iter *it) {
    if (it)
        seek_batch(it, 1, NULL, 0);
}

void larch_art_iter_seek_last(larch_art_iter *it) {
    if (it)
        seek_batch(it, -1, NULL, 0);
}

int larch_art_iter_valid(const larch_art_iter *it) {
    return it && it->dir != DIR_NONE;
}

/* The current key, copied out of the batch that is about to be replaced. */
static size_t save_current(larch_art_iter *it) {
    size_t len = it->len[it->idx];
    memcpy(it->scratch, it->keys + it->off[it->idx], len);
    return len;
}

/* If the caller is pinned in another section than the one the batch was read in,
 * read it again from the current key, so the value handed out is protected. */
static void refresh_if_stale(larch_art_iter *it) {
    uint64_t gen = larch__epoch_pin_generation();
    if (!gen || gen == it->pin_gen)
        return;
    size_t len = save_current(it);
    read_batch(it, it->dir, it->scratch, len, true);
}

static void step(larch_art_iter *it, int dir) {
    if (!larch_art_iter_valid(it))
        return;
    if (it->dir == dir && it->idx + 1 < it->n) {
        it->idx++;
        refresh_if_stale(it);
        return;
    }
    if (it->dir == dir && it->exhausted) {
        it->dir = DIR_NONE;
        return;
    }
    it->cap = larch__iter_next_cap(it->cap, it->dir == dir, ITER_BATCH_MIN, ITER_BATCH_MAX);
    size_t len = save_current(it);
    read_batch(it, dir, it->scratch, len, false);
}

void larch_art_iter_next(larch_art_iter *it) {
    step(it, 1);
}

void larch_art_iter_prev(larch_art_iter *it) {
    step(it, -1);
}

const void *larch_art_iter_key(const larch_art_iter *it, size_t *len) {
    if (!larch_art_iter_valid(it)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = it->len[it->idx];
    return it->keys + it->off[it->idx];
}

uint64_t larch_art_iter_value(const larch_art_iter *it) {
    return larch_art_iter_valid(it) ? it->val[it->idx] : 0;
}

uint64_t larch__art_iter_value_ahead(const larch_art_iter *it, unsigned ahead) {
    return larch_art_iter_valid(it) && it->n - it->idx > ahead ? it->val[it->idx + ahead] : 0;
}

int larch_art_iter_status(const larch_art_iter *it) {
    return it ? it->status : LARCH_EINVAL;
}
