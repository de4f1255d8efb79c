/* Scans and iterators. Both copy a batch of entries from one leaf under optimistic
 * validation and continue from the last key they handed out (or from the leaf's
 * fence, when the batch reached the end of its leaf), so they hold no lock between
 * calls and block nobody. A batch copied before the caller's current pin began is
 * read again before a value from it is handed out, so that values returned while
 * pinned are protected. */
#include <stdlib.h>
#include <string.h>

#include "btree/tree.h"
#include "common/alloc.h"
#include "common/seek_key.h"
#include "common/backoff.h"
#include "epoch/epoch.h"

/* Entries per batch. A scan goes on from where its batch ended in the same leaf
 * without a descent (see struct resume_at), so its batches can be small: what it
 * copies past the entry where fn stops is wasted. An iterator copies few after a
 * seek (a seek followed by a couple of moves should not copy a whole leaf), and
 * each further batch in the same direction twice as many as the last, up to
 * BATCH_MAX: a long pass descends once per 64 entries rather than per 16. A whole
 * leaf's keys always fit in the key buffer. */
#define SCAN_BATCH 32
#define ITER_BATCH 16
#define BATCH_MAX 64
#define BATCH_BYTES (NODE_SIZE + NODE_KEY_BUF)

struct batch {
    unsigned n;
    uint64_t pin_gen; /* pin generation the values were read in */
    bool leaf_end;    /* the batch reached the end of its leaf (in its direction) */
    bool has_fence;   /* the leaf is bounded in that direction by fence */
    uint8_t format;   /* a fixed-format leaf's (key length + 1): the keys lie 8 bytes
                         apart; 0: off and len say where each key is */
    size_t fence_len;
    uint8_t fence[NODE_KEY_BUF];
    uint32_t off[BATCH_MAX];
    uint16_t len[BATCH_MAX];
    uint64_t val[BATCH_MAX];
    uint8_t keys[BATCH_BYTES];
};

static const uint8_t *batch_key(const struct batch *b, unsigned i, size_t *len) {
    if (b->format) {
        *len = format_key_len(b->format);
        return b->keys + 8 * i;
    }
    *len = b->len[i];
    return b->keys + b->off[i];
}

/* Copy entry i of a leaf being read optimistically (torn data is caught by the
 * validation that follows). */
static void batch_add(struct batch *b, const struct node *leaf, unsigned i, size_t *bytes) {
    size_t len = node_entry_copy(leaf, i, b->keys + *bytes, &b->val[b->n]);
    b->off[b->n] = (uint32_t)*bytes;
    b->len[b->n] = (uint16_t)len;
    b->n++;
    *bytes += len;
}

/* Prefetch the lines of up to ahead entries of a fixed-format leaf from entry
 * `from` on (4 pairs a line): a leaf out of cache then costs one wait for the
 * batch being copied and the next one, not one per line. */
static void prefetch_pairs(const struct node *leaf, uint64_t m, unsigned from, unsigned count,
                           unsigned ahead) {
    if (from >= count)
        return;
    unsigned to = count - from < ahead ? count : from + ahead;
    for (unsigned i = from; i < to; i += 4)
        __builtin_prefetch((const void *)&leaf->w[fixed_entry_word(m, i) - 1]);
    __builtin_prefetch((const void *)&leaf->w[fixed_entry_word(m, to - 1) - 1]);
}

/* The lines a scan will read first in the leaf after its own: the header and, from
 * the hint in the parent's word for it (node.h), its first pairs. Asked for once
 * the scan is within NEXT_LEAF_AHEAD entries of its leaf's end, they arrive while
 * it copies and delivers what is left, instead of after: at 10M random keys a
 * scan of 100 crosses into the next leaf about one time in two. The parent is
 * read optimistically; a torn word prefetches some line, which cannot fault. */
#define NEXT_LEAF_AHEAD 64
static void prefetch_next_leaf(const struct leaf_parent *p, unsigned left) {
    if (!p->node || left > NEXT_LEAF_AHEAD || p->pos >= p->count)
        return;
    uint64_t w = node_child_word(p->node, p->pos + 1, p->count);
    __builtin_prefetch((const void *)child_at(w));
    unsigned hint = word_hint(w);
    if (hint_count(hint)) {
        uintptr_t first = child_pair_addr(w, hint_start(hint));
        __builtin_prefetch((const void *)first);
        __builtin_prefetch((const void *)(first + 64));
    }
}

/* Copy up to cap entries of a leaf being read optimistically, forward from entry
 * `from` (count: node_count). Returns the index after the last one copied. A
 * fixed-format leaf is copied a pair of words an entry, its format read once. */
static unsigned copy_forward(struct batch *b, const struct node *leaf, unsigned from,
                             unsigned count, unsigned cap) {
    size_t bytes = 0;
    uint64_t m = node_meta(leaf);
    unsigned i = from, format = meta_format(m);
    b->n = 0;
    b->format = 0;
    if (format) {
        /* Pairs [start + from, start + to) are copied: to is clamped to the pair
         * places, so a torn read stays inside the leaf (it copies fewer entries,
         * and fails validation), and format_key_len is at most 8. The keys go 8
         * bytes apart, so the batch needs no offsets or lengths. */
        unsigned start = meta_start(m), to = count - from < cap ? count : from + cap;
        if (to > NODE_FIXED_MAX - start)
            to = NODE_FIXED_MAX - start;
        if (from >= to)
            return from;
        prefetch_pairs(leaf, m, from, count, 2 * cap);
        _Atomic uint64_t *pair = &((struct node *)leaf)->w[fixed_word(start + from) - 1];
        unsigned n = to - from;
        for (unsigned j = 0; j < n; j++, pair += 2) {
            /* relaxed: an optimistic copy, validated by the caller (node_load). */
            uint64_t key = larch__be64(atomic_load_explicit(pair, memory_order_relaxed));
            memcpy(b->keys + 8 * j, &key, 8);
            b->val[j] = atomic_load_explicit(pair + 1, memory_order_relaxed);
        }
        b->n = n;
        b->format = (uint8_t)format;
        return to;
    }
    /* A consistent leaf holds under NODE_SIZE bytes of keys; a torn read may see
     * more, and must not write past the buffer before validation fails. */
    for (; i < count && b->n < cap && bytes <= NODE_SIZE; i++)
        batch_add(b, leaf, i, &bytes);
    return i;
}

/* Where a scan's batch ended in its leaf. The scan stays pinned, so the leaf is not
 * freed; while its version holds, the next batch is copied from there without a
 * descent (the fence copied with the first batch still bounds the leaf: its range
 * changes only by a split or merge, which changes its version). When the batch
 * ended the leaf, the next leaf is the parent's next child while the parent's
 * version holds (its children and separators are then as the descent saw them). */
struct resume_at {
    struct node *leaf; /* the batch ended inside it; NULL: it ended its leaf */
    uint64_t version;
    unsigned next;
    struct leaf_parent parent; /* the leaf's parent; node NULL: descend */
};

/* copy_forward for a batch that notes whether it reached its leaf's end and, for a
 * scan that knows the leaf's parent, prefetches the next leaf once that end is
 * near. */
static unsigned copy_batch(struct batch *b, const struct node *leaf, unsigned from, unsigned count,
                           unsigned cap, const struct leaf_parent *parent) {
    unsigned i = copy_forward(b, leaf, from, count, cap);
    b->leaf_end = i >= count;
    if (parent)
        prefetch_next_leaf(parent, count - i);
    return i;
}

/* A batch from entry `from` of leaf, read at version v, and the scan left where it
 * ends; false (at untouched) if the leaf changed or has nothing from there. */
static bool read_leaf_from(struct resume_at *at, struct node *leaf, uint64_t v, unsigned from,
                           unsigned cap, struct batch *b) {
    unsigned count = node_count(leaf);
    unsigned i = copy_batch(b, leaf, from, count, cap, &at->parent);
    if (!vlock_validate(&leaf->lock, v) || b->n == 0)
        return false;
    at->leaf = leaf;
    at->version = v;
    at->next = i;
    b->pin_gen = larch__epoch_pin_generation();
    return true;
}

/* The next batch from where the last one ended inside its leaf, or false (descend
 * instead). */
static bool read_on(struct resume_at *at, unsigned cap, struct batch *b) {
    struct node *leaf = at->leaf;
    at->leaf = NULL;
    return read_leaf_from(at, leaf, at->version, at->next, cap, b);
}

/* The first batch of the leaf after the one a scan finished, reached through their
 * parent, or false (descend instead). Only a child with a separator above it is
 * taken, which gives the new leaf's fence; the parent's last child is bounded by
 * a separator further up, and is reached by a descent. */
static bool read_next_leaf(struct resume_at *at, unsigned cap, struct batch *b) {
    struct leaf_parent p = at->parent;
    at->parent.node = NULL;
    if (!p.node || p.pos + 1 >= p.count)
        return false;
    p.pos++;
    b->fence_len = node_key_copy(p.node, p.pos, b->fence);
    struct node *leaf = node_child(p.node, p.pos, p.count);
    uint64_t v;
    /* The child pointer and the fence may be torn until the parent validates. */
    if (!vlock_validate(&p.node->lock, p.version) || !vlock_read_begin(&leaf->lock, &v) ||
        !vlock_validate(&p.node->lock, p.version))
        return false;
    b->has_fence = true;
    at->parent = p; /* (before the copy, for prefetch_next_leaf) */
    if (read_leaf_from(at, leaf, v, 0, cap, b))
        return true;
    at->parent.node = NULL;
    return false;
}

/* A batch that keeps failing validation (writers changing its leaf all the time)
 * is shrunk, down to one entry, so the window a writer can break shrinks with it. */
static void copy_failed(larch_btree *t, struct larch__backoff *backoff, unsigned *cap,
                        unsigned *failures) {
    tree_count_restart(t);
    larch__backoff_wait(backoff);
    (*failures)++;
    if (*cap > 1)
        *cap /= 2;
}

/* Fill b with up to cap entries in ascending order from the first key >= start (>
 * start if !inclusive). The caller is pinned. With at (a scan), first try to go on
 * from where the last batch ended, and leave there where this one ends. */
static void read_forward(larch_btree *t, const uint8_t *start, size_t start_len, bool inclusive,
                         unsigned cap, struct batch *b, struct resume_at *at) {
    if (at && (at->leaf ? read_on(at, cap, b) : read_next_leaf(at, cap, b)))
        return;
    uint8_t next[NODE_KEY_BUF];
    struct larch__backoff backoff = {0};
    unsigned failures = 0;
    for (;;) {
        struct search_key k;
        search_key_init(&k, start, start_len);
        uint64_t v = 0;
        bool has_upper;
        /* After repeated failures, copy under the leaf's lock (see tree_lock_leaf). */
        bool locked = failures >= TREE_OPTIMISTIC_ATTEMPTS;
        struct node *leaf =
            locked ? tree_lock_leaf(t, &k, false, b->fence, &b->fence_len, &has_upper, NULL, NULL,
                                    NULL)
                   : tree_descend_to_leaf(t, &k, false, &v, b->fence, &b->fence_len, &has_upper,
                                          NULL, NULL, NULL, at ? &at->parent : NULL);
        if (!leaf) {
            copy_failed(t, &backoff, &cap, &failures);
            continue;
        }
        bool eq;
        unsigned pos = node_lower_bound(leaf, &k, &eq), count = node_count(leaf);
        if (eq && !inclusive)
            pos++;
        /* (A locked descent sets no parent: at->parent is an earlier leaf's.) */
        unsigned i = copy_batch(b, leaf, pos, count, cap, at && !locked ? &at->parent : NULL);
        b->has_fence = has_upper;
        if (locked) {
            vlock_unlock_unchanged(&leaf->lock);
        } else if (!vlock_validate(&leaf->lock, v)) {
            copy_failed(t, &backoff, &cap, &failures);
            continue;
        }
        b->pin_gen = larch__epoch_pin_generation();
        if (at) {
            /* Resumable only from an optimistic descent, which set at->parent. */
            at->leaf = locked ? NULL : leaf;
            at->version = v;
            at->next = i;
            if (locked)
                at->parent.node = NULL;
        }
        if (b->n || !b->has_fence)
            return;
        /* Nothing at or after start in this leaf: the next leaf begins at the fence. */
        memcpy(next, b->fence, b->fence_len);
        start = next;
        start_len = b->fence_len;
        inclusive = true;
    }
}

/* Fill b with up to cap entries in descending order from the last key <= start (<
 * start if !inclusive; start NULL: the last key). The caller is pinned. */
static void read_backward(larch_btree *t, const uint8_t *start, size_t start_len, bool inclusive,
                          unsigned cap, struct batch *b) {
    uint8_t next[NODE_KEY_BUF];
    struct larch__backoff backoff = {0};
    unsigned failures = 0;
    for (;;) {
        struct search_key k;
        if (start)
            search_key_init(&k, start, start_len);
        uint64_t v = 0;
        bool has_lower;
        bool locked = failures >= TREE_OPTIMISTIC_ATTEMPTS;
        struct node *leaf =
            locked ? tree_lock_leaf(t, start ? &k : NULL, !inclusive, NULL, NULL, NULL, b->fence,
                                    &b->fence_len, &has_lower)
                   : tree_descend_to_leaf(t, start ? &k : NULL, !inclusive, &v, NULL, NULL, NULL,
                                          b->fence, &b->fence_len, &has_lower, NULL);
        if (!leaf) {
            copy_failed(t, &backoff, &cap, &failures);
            continue;
        }
        unsigned count = node_count(leaf), end; /* entries [0, end) qualify */
        if (!start) {
            end = count;
        } else if (inclusive) {
            end = node_upper_bound(leaf, &k);
        } else {
            bool eq;
            end = node_lower_bound(leaf, &k, &eq);
        }
        size_t bytes = 0;
        b->n = 0;
        b->format = 0;
        unsigned i = end < count ? end : count;
        for (; i > 0 && b->n < cap && bytes <= NODE_SIZE; i--)
            batch_add(b, leaf, i - 1, &bytes);
        b->leaf_end = i == 0;
        b->has_fence = has_lower;
        if (locked) {
            vlock_unlock_unchanged(&leaf->lock);
        } else if (!vlock_validate(&leaf->lock, v)) {
            copy_failed(t, &backoff, &cap, &failures);
            continue;
        }
        b->pin_gen = larch__epoch_pin_generation();
        if (b->n || !b->has_fence)
            return;
        /* Nothing at or before start here: the previous leaf ends below the fence. */
        memcpy(next, b->fence, b->fence_len);
        start = next;
        start_len = b->fence_len;
        inclusive = false;
    }
}

/* ---- scan ------------------------------------------------------------------------ */

/* Hand b's entries below hi (NULL: no bound) to fn, counting the calls. True when
 * the scan is over: fn asked to stop, or an entry reached hi. A batch of a
 * fixed-format leaf has a loop of its own: its keys lie 8 bytes apart, one length. */
static bool deliver(const struct batch *b, const uint8_t *hi, size_t hilen, larch_scan_fn fn,
                    void *ctx, long *calls) {
    unsigned n = b->n;
    if (b->format && !hi) {
        size_t len = format_key_len(b->format);
        for (unsigned i = 0; i < n; i++) {
            ++*calls;
            if (fn(ctx, b->keys + 8 * i, len, b->val[i]))
                return true;
        }
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        size_t len;
        const uint8_t *key = batch_key(b, i, &len);
        if (hi && larch__key_cmp(key, len, hi, hilen) >= 0)
            return true;
        ++*calls;
        if (fn(ctx, key, len, b->val[i]))
            return true;
    }
    return false;
}

long larch_btree_scan(larch_btree *t, const void *lo, size_t lolen, const void *hi, size_t hilen,
                      larch_scan_fn fn, void *ctx) {
    if (!t || !fn || (!lo && lolen))
        return LARCH_EINVAL;
    /* On the stack: a scan of 100 keys should not pay for two allocations. */
    struct batch b;
    uint8_t resume[NODE_KEY_BUF];
    struct resume_at at = {NULL, 0, 0, {NULL, 0, 0, 0, 0}};
    const uint8_t *start = lo ? lo : (const uint8_t *)"";
    size_t start_len = lolen;
    bool inclusive = true;
    long calls = 0;
    larch_epoch_pin();
    for (;;) {
        read_forward(t, start, start_len, inclusive, SCAN_BATCH, &b, &at);
        bool stop = b.n == 0 || deliver(&b, hi, hilen, fn, ctx, &calls);
        /* Done at the last leaf, or when the next leaf starts at or past hi. */
        if (stop || (b.leaf_end && !b.has_fence) ||
            (b.leaf_end && hi && larch__key_cmp(b.fence, b.fence_len, hi, hilen) >= 0))
            break;
        if (b.leaf_end) {
            memcpy(resume, b.fence, b.fence_len);
            start_len = b.fence_len;
            inclusive = true;
            at.leaf = NULL;
        } else {
            size_t len;
            const uint8_t *last = batch_key(&b, b.n - 1, &len);
            memcpy(resume, last, len);
            start_len = len;
            inclusive = false;
        }
        start = resume;
    }
    larch_epoch_unpin();
    return calls;
}

/* ---- iterators --------------------------------------------------------------------- */

enum { DIR_NONE, DIR_FORWARD, DIR_BACKWARD };

struct larch_btree_iter {
    larch_btree *t;
    int dir;      /* DIR_NONE: not positioned */
    unsigned cap; /* entries the next batch may hold */
    unsigned idx;
    int status;
    uint8_t scratch[NODE_KEY_BUF];
    struct batch b;
};

larch_btree_iter *larch_btree_iter_new(larch_btree *t) {
    if (!t)
        return NULL;
    larch_btree_iter *it = larch__malloc(sizeof *it);
    if (!it)
        return NULL;
    it->t = t;
    it->dir = DIR_NONE;
    it->idx = 0;
    it->status = LARCH_OK;
    it->b.n = 0;
    it->cap = ITER_BATCH;
    return it;
}

void larch_btree_iter_free(larch_btree_iter *it) {
    larch__free(it);
}

static void position(larch_btree_iter *it, int dir) {
    it->idx = 0;
    it->dir = it->b.n ? dir : DIR_NONE;
    it->status = LARCH_OK;
}

static void seek_forward(larch_btree_iter *it, const uint8_t *key, size_t len, bool inclusive) {
    larch_epoch_pin();
    read_forward(it->t, key, len, inclusive, it->cap, &it->b, NULL);
    larch_epoch_unpin();
    position(it, DIR_FORWARD);
}

static void seek_backward(larch_btree_iter *it, const uint8_t *key, size_t len, bool inclusive) {
    larch_epoch_pin();
    read_backward(it->t, key, len, inclusive, it->cap, &it->b);
    larch_epoch_unpin();
    position(it, DIR_BACKWARD);
}

static void seek_dir(larch_btree_iter *it, int dir, const uint8_t *key, size_t len,
                     bool inclusive) {
    if (dir == DIR_FORWARD)
        seek_forward(it, key, len, inclusive);
    else
        seek_backward(it, key, len, inclusive);
}

/* The key to seek from (common/seek_key.h), or NULL: a NULL key with a length
 * ends the iterator with LARCH_EINVAL. */
static const uint8_t *seek_key(larch_btree_iter *it, const void *key, size_t len) {
    const uint8_t *k = larch__seek_key(it, sizeof *it, it->scratch, key, len);
    if (!k) {
        it->dir = DIR_NONE;
        it->status = LARCH_EINVAL;
    }
    return k;
}

/* A seek's batch: a small one (see ITER_BATCH). */
static void seek_batch(larch_btree_iter *it, int dir, const uint8_t *key, size_t len) {
    it->cap = ITER_BATCH;
    seek_dir(it, dir, key, len, true);
}

void larch_btree_iter_seek(larch_btree_iter *it, const void *key, size_t len) {
    const uint8_t *k = it ? seek_key(it, key, len) : NULL;
    if (k)
        seek_batch(it, DIR_FORWARD, k, len);
}

void larch_btree_iter_seek_for_prev(larch_btree_iter *it, const void *key, size_t len) {
    const uint8_t *k = it ? seek_key(it, key, len) : NULL;
    if (k)
        seek_batch(it, DIR_BACKWARD, k, len);
}

void larch_btree_iter_seek_first(larch_btree_iter *it) {
    if (it)
        seek_batch(it, DIR_FORWARD, (const uint8_t *)"", 0);
}

void larch_btree_iter_seek_last(larch_btree_iter *it) {
    if (it)
        seek_batch(it, DIR_BACKWARD, NULL, 0);
}

int larch_btree_iter_valid(const larch_btree_iter *it) {
    return it && it->dir != DIR_NONE;
}

/* The current key, copied out of the batch that is about to be replaced. */
static size_t save_current(larch_btree_iter *it) {
    size_t len;
    const uint8_t *key = batch_key(&it->b, it->idx, &len);
    memmove(it->scratch, key, len);
    return len;
}

/* If the caller is pinned in another section than the one the batch was read in,
 * read it again from the current key, so the value handed out is protected. */
static void refresh_if_stale(larch_btree_iter *it) {
    uint64_t gen = larch__epoch_pin_generation();
    if (!gen || gen == it->b.pin_gen)
        return;
    size_t len = save_current(it);
    seek_dir(it, it->dir, it->scratch, len, true);
}

/* One move in direction dir: within the batch if it goes on that way, else a new
 * batch from the leaf's fence (the batch ended its leaf) or from the current key. */
static void step(larch_btree_iter *it, int dir) {
    if (!larch_btree_iter_valid(it))
        return;
    if (it->dir == dir && it->idx + 1 < it->b.n) {
        it->idx++;
        refresh_if_stale(it);
        return;
    }
    it->cap = larch__iter_next_cap(it->cap, it->dir == dir, ITER_BATCH, BATCH_MAX);
    if (it->dir == dir && it->b.leaf_end) {
        if (!it->b.has_fence) {
            it->dir = DIR_NONE;
            return;
        }
        /* Forward, the next leaf starts at the fence; backward, the previous one
         * ends just below it. */
        memcpy(it->scratch, it->b.fence, it->b.fence_len);
        seek_dir(it, dir, it->scratch, it->b.fence_len, dir == DIR_FORWARD);
        return;
    }
    size_t len = save_current(it);
    seek_dir(it, dir, it->scratch, len, false);
}

void larch_btree_iter_next(larch_btree_iter *it) {
    step(it, DIR_FORWARD);
}

void larch_btree_iter_prev(larch_btree_iter *it) {
    step(it, DIR_BACKWARD);
}

const void *larch_btree_iter_key(const larch_btree_iter *it, size_t *len) {
    if (!larch_btree_iter_valid(it)) {
        if (len)
            *len = 0;
        return NULL;
    }
    size_t l;
    const uint8_t *key = batch_key(&it->b, it->idx, &l);
    if (len)
        *len = l;
    return key;
}

uint64_t larch_btree_iter_value(const larch_btree_iter *it) {
    return larch_btree_iter_valid(it) ? it->b.val[it->idx] : 0;
}

uint64_t larch__bt_iter_value_ahead(const larch_btree_iter *it, unsigned ahead) {
    return larch_btree_iter_valid(it) && it->b.n - it->idx > ahead ? it->b.val[it->idx + ahead] : 0;
}

int larch_btree_iter_status(const larch_btree_iter *it) {
    return it ? it->status : LARCH_EINVAL;
}
