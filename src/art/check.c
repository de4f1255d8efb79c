/* larch_art_check: walks the whole tree (no writer may run) and verifies every
 * structural invariant: node kinds and counts within bounds, Node4/16 keys sorted,
 * Node48 index and slots consistent, no reachable node locked or obsolete, every
 * non-root node holding at least two entries (else it should have been folded),
 * prefixes and branch bytes consistent with the keys of the leaves below them, end
 * leaves ending where they hang, buckets sorted, within capacity and carrying
 * their path, and the key count. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "art/bucket.h"
#include "art/tree.h"

struct check {
    FILE *err;
    size_t leaves;
    int status;
    uint8_t path[LARCH_KEY_MAX + 1]; /* the key bytes leading to the node being checked */
};

static void fail(struct check *c, const void *at, const char *fmt, ...) {
    if (c->status == LARCH_OK && c->err) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(c->err, "larch_art_check: %p: ", at);
        vfprintf(c->err, fmt, ap);
        fputc('\n', c->err);
        va_end(ap);
    }
    c->status = LARCH_ECORRUPT;
}

/* A leaf hanging where the first `depth` key bytes are c->path, ending there
 * (`ends`) or going on past it. */
static void check_leaf(struct check *c, uintptr_t w, size_t depth, bool ends) {
    if (!art_is_leaf(w)) {
        fail(c, (void *)w, "a node where a leaf must be (an end slot)");
        return;
    }
    const struct art_leaf *l = art_leaf_of(w);
    c->leaves++;
    if (l->len > LARCH_KEY_MAX || (ends ? l->len != depth : l->len < depth))
        fail(c, l, "leaf of %u bytes hangs at depth %zu%s", l->len, depth, ends ? " (end)" : "");
    else if (depth && memcmp(l->key, c->path, depth) != 0)
        fail(c, l, "leaf key differs from its path in the first %zu bytes", depth);
}

static void check_node(struct check *c, struct art_node *n, size_t depth, bool root);

/* A bucket hanging where the first `depth` key bytes are c->path. */
static void check_bucket(struct check *c, struct art_bucket *b, size_t depth) {
    uint64_t version = atomic_load_explicit(&b->h.lock.word, memory_order_relaxed);
    if (vlock_is_locked(version) || vlock_is_obsolete(version))
        fail(c, b, "reachable bucket is %s", vlock_is_locked(version) ? "locked" : "obsolete");
    unsigned count = art_count(&b->h), used = 0;
    if (b->cap < 2 || b->cap > ART_BUCKET_MAX || count < 1 || count > b->cap) {
        fail(c, b, "bucket of %u entries, capacity %u", count, b->cap);
        return;
    }
    if (b->klen > ART_BUCKET_KEY_MAX || b->klen < depth) {
        fail(c, b, "bucket of %u-byte keys at depth %zu", b->klen, depth);
        return;
    }
    if (art_prefix_len(&b->h) || atomic_load_explicit(&b->h.end, memory_order_relaxed))
        fail(c, b, "bucket with a prefix or an end slot");
    for (unsigned i = 0; i < ART_BUCKET_USED_WORDS; i++) {
        uint64_t w = art_bucket_used(b, i);
        used += (unsigned)__builtin_popcountll(w);
        if (b->cap < 64 * (i + 1) && (b->cap <= 64 * i ? w : w >> (b->cap - 64 * i)))
            fail(c, b, "bucket marks slots past its %u as used", b->cap);
    }
    if (used != count)
        fail(c, b, "bucket of %u entries marks %u slots used", count, used);
    c->leaves += count;
    /* Entries ascend strictly; a gap holds the next entry's key (ART_GAP_KEY past
     * the last) and no value. */
    uint64_t next_key = ART_GAP_KEY, prev_key = 0;
    bool seen = false;
    for (int at = (int)b->cap - 1; at >= 0; at--) {
        uint64_t kw = art_bucket_key(b, (unsigned)at);
        if (!art_bucket_is_used(b, (unsigned)at)) {
            if (kw != next_key || art_bucket_value_relaxed(b, (unsigned)at))
                fail(c, b, "bucket gap %d does not hold the next entry's key alone", at);
            continue;
        }
        if (seen && kw >= next_key)
            fail(c, b, "bucket keys not strictly ascending at slot %d", at);
        uint8_t k[ART_BUCKET_KEY_MAX];
        art_word_key(kw, k);
        if (b->klen < 8 && (kw << (8 * b->klen)) != 0)
            fail(c, b, "bucket key in slot %d has bits past its %u bytes", at, b->klen);
        if (depth && memcmp(k, c->path, depth) != 0)
            fail(c, b, "bucket key in slot %d differs from its path in the first %zu bytes", at,
                 depth);
        if (!seen)
            prev_key = kw; /* (the last entry) */
        seen = true;
        next_key = kw;
    }
    uint64_t first = atomic_load_explicit(&b->first, memory_order_relaxed);
    uint64_t last = atomic_load_explicit(&b->last, memory_order_relaxed);
    if (first != next_key || last != prev_key)
        fail(c, b, "bucket's first and last keys are not those of its first and last entries");
}

/* Some key below w (NULL if none): where a node's whole prefix is read from. */
static const uint8_t *any_key(uintptr_t w, uint8_t *scratch) {
    if (!w)
        return NULL;
    if (art_is_leaf(w))
        return art_leaf_of(w)->key;
    struct art_node *n = art_node_of(w);
    if (n->kind == ART_BUCKET) {
        struct art_bucket *b = art_bucket_of(n);
        if (!art_count(&b->h) || b->klen > ART_BUCKET_KEY_MAX)
            return NULL;
        art_word_key(art_bucket_key(b, 0), scratch);
        return scratch;
    }
    const uint8_t *k = any_key(atomic_load_explicit(&n->end, memory_order_relaxed), scratch);
    uint8_t b;
    for (uintptr_t c = art_next_child(n, 0, 1, &b); !k && c; c = art_next_child(n, b + 1, 1, &b)) {
        k = any_key(c, scratch);
        if (b == 255)
            break;
    }
    return k;
}

/* The length of the key any_key found. */
static size_t any_key_len(uintptr_t w) {
    if (art_is_leaf(w))
        return art_leaf_of(w)->len;
    struct art_node *n = art_node_of(w);
    if (n->kind == ART_BUCKET)
        return art_bucket_of(n)->klen;
    uintptr_t e = atomic_load_explicit(&n->end, memory_order_relaxed);
    uint8_t scratch[ART_BUCKET_KEY_MAX];
    if (e && any_key(e, scratch))
        return any_key_len(e);
    uint8_t b;
    for (uintptr_t c = art_next_child(n, 0, 1, &b); c; c = art_next_child(n, b + 1, 1, &b)) {
        if (any_key(c, scratch))
            return any_key_len(c);
        if (b == 255)
            break;
    }
    return 0;
}

/* Child w under byte b of a node branching at depth. */
static void check_child(struct check *c, uintptr_t w, uint8_t b, size_t depth) {
    if (depth >= LARCH_KEY_MAX) {
        fail(c, (void *)w, "a child below depth %zu", depth);
        return;
    }
    c->path[depth] = b;
    if (art_is_leaf(w))
        check_leaf(c, w, depth + 1, false);
    else if (art_node_of(w)->kind == ART_BUCKET)
        check_bucket(c, art_bucket_of(art_node_of(w)), depth + 1);
    else
        check_node(c, art_node_of(w), depth + 1, false);
}

static void check_sorted(struct check *c, struct art_node *n, size_t depth) {
    _Atomic uint64_t *keys = art_sorted_keys(n);
    _Atomic uintptr_t *child = art_sorted_child(n);
    unsigned count = art_count(n), cap = art_capacity(n->kind);
    for (unsigned i = 0; i < cap; i++) {
        uintptr_t w = atomic_load_explicit(&child[i], memory_order_relaxed);
        if (i >= count) {
            if (w)
                fail(c, n, "slot %u past the count %u is not empty", i, count);
            continue;
        }
        uint8_t b = art_word_byte(keys, i);
        if (i > 0 && art_word_byte(keys, i - 1) >= b)
            fail(c, n, "keys not strictly ascending at %u", i);
        if (!w)
            fail(c, n, "empty child at %u", i);
        else
            check_child(c, w, b, depth);
    }
}

static void check_node48(struct check *c, struct art_node *n, size_t depth) {
    struct art_node48 *m = (struct art_node48 *)n;
    unsigned used = 0;
    bool referenced[48] = {false};
    for (unsigned b = 0; b < 256; b++) {
        unsigned i = art_word_byte(m->index, b);
        if (!i)
            continue;
        if (i > 48 || referenced[i - 1]) {
            fail(c, n, "byte %u has slot index %u (out of range or shared)", b, i);
            continue;
        }
        referenced[i - 1] = true;
        used++;
        uintptr_t w = atomic_load_explicit(&m->child[i - 1], memory_order_relaxed);
        if (!w)
            fail(c, n, "byte %u indexes an empty slot", b);
        else
            check_child(c, w, (uint8_t)b, depth);
    }
    for (unsigned i = 0; i < 48; i++)
        if (!referenced[i] && atomic_load_explicit(&m->child[i], memory_order_relaxed))
            fail(c, n, "slot %u holds a child no byte indexes", i);
    if (used != art_count(n))
        fail(c, n, "count %u, but %u bytes indexed", art_count(n), used);
}

static void check_node256(struct check *c, struct art_node *n, size_t depth) {
    struct art_node256 *f = (struct art_node256 *)n;
    unsigned used = 0;
    for (unsigned b = 0; b < 256; b++) {
        uintptr_t w = atomic_load_explicit(&f->child[b], memory_order_relaxed);
        if (w) {
            used++;
            check_child(c, w, (uint8_t)b, depth);
        }
    }
    if (used != art_count(n))
        fail(c, n, "count %u, but %u children", art_count(n), used);
}

/* Node n, whose prefix starts at depth. */
static void check_node(struct check *c, struct art_node *n, size_t depth, bool root) {
    uint64_t version = atomic_load_explicit(&n->lock.word, memory_order_relaxed);
    if (vlock_is_locked(version) || vlock_is_obsolete(version))
        fail(c, n, "reachable node is %s", vlock_is_locked(version) ? "locked" : "obsolete");
    if (n->kind > ART_NODE256) {
        fail(c, n, "unknown kind %u", n->kind);
        return;
    }
    unsigned count = art_count(n);
    uintptr_t end = atomic_load_explicit(&n->end, memory_order_relaxed);
    if (count > art_capacity(n->kind))
        fail(c, n, "count %u over capacity %u", count, art_capacity(n->kind));
    if (!root && count + (end != 0) < 2)
        fail(c, n, "non-root node with %u entries (should have been folded)", count + (end != 0));
    if (root && (n->kind != ART_NODE256 || art_prefix_len(n)))
        fail(c, n, "the root is not a Node256 without prefix");
    uint32_t plen = art_prefix_len(n);
    if (plen) {
        uint8_t scratch[ART_BUCKET_KEY_MAX];
        const uint8_t *key = any_key((uintptr_t)n, scratch);
        size_t klen = key ? any_key_len((uintptr_t)n) : 0;
        if (!key || depth + plen > LARCH_KEY_MAX || klen < depth + plen) {
            fail(c, n, "prefix of %u bytes at depth %zu with no key below to carry it", plen,
                 depth);
            return;
        }
        for (uint32_t i = 0; i < plen && i < ART_PREFIX_STORED; i++)
            if (art_prefix_byte(n, i) != key[depth + i])
                fail(c, n, "stored prefix byte %u differs from the keys below", i);
        if (plen > ART_PREFIX_STORED) {
            /* Past the stored bytes the tree reads the prefix from art_any_leaf. */
            const struct art_leaf *l = art_any_leaf(n);
            if (!l || l->len < depth + plen)
                fail(c, n, "long prefix with no leaf below to carry it");
        }
        memcpy(c->path + depth, key + depth, plen);
    }
    depth += plen;
    if (end)
        check_leaf(c, end, depth, true);
    if (n->kind <= ART_NODE16)
        check_sorted(c, n, depth);
    else if (n->kind == ART_NODE48)
        check_node48(c, n, depth);
    else
        check_node256(c, n, depth);
}

int larch_art_check(larch_art *t, FILE *err) {
    if (!t)
        return LARCH_EINVAL;
    struct check c = {.err = err, .status = LARCH_OK};
    larch_epoch_pin();
    check_node(&c, t->root, 0, true);
    larch_epoch_unpin();
    size_t len = larch_art_len(t);
    if (c.leaves != len)
        fail(&c, t, "%zu leaves, but the key count says %zu", c.leaves, len);
    return c.status;
}
