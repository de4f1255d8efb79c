/* Keeping the tree tight as keys go: a node left with a single entry folds into
 * its parent (its lone child takes over its path), a node left with none is
 * unlinked, and a node far below its kind's capacity is replaced by a smaller
 * kind. This runs after a delete has returned its outcome and changes no key, so
 * it may fail (a lost race, no memory) without harm; deleting every key still
 * leaves only the root, since each delete compacts its own path. */
#include "art/bucket.h"
#include "art/tree.h"
#include "common/alloc.h"
#include "common/backoff.h"
#include "epoch/epoch.h"

/* Shrink when at most this many children are left: hysteresis against growing
 * back at the next insert (a Node16 holding 3 becomes a Node4 with room for one). */
static unsigned shrink_at(enum art_kind kind) {
    return kind == ART_NODE16 ? 3 : kind == ART_NODE48 ? 12 : kind == ART_NODE256 ? 37 : 0;
}

static unsigned entries(struct art_node *n) {
    /* relaxed: an optimistic read; the caller validates n's version. */
    return art_count(n) + (atomic_load_explicit(&n->end, memory_order_relaxed) != 0);
}

/* A node to fold (no memory needed) or, if `shrink`, to replace by a smaller kind. */
static bool needs_work(struct art_node *n, bool shrink) {
    if (n->kind == ART_BUCKET) /* empty (unlinked), or to shrink */
        return art_count(n) == 0 || (shrink && art_bucket_shrink_cap(art_bucket_of(n)));
    return entries(n) <= 1 || (shrink && art_count(n) <= shrink_at(n->kind));
}

/* One node on the path, reached optimistically. */
struct place {
    struct art_node *node, *parent;
    uint64_t v, pv;
    _Atomic uintptr_t *pslot; /* parent's slot holding node */
    uint8_t pbyte;            /* the byte node hangs under */
};

enum { FOUND, FIXED, NOTHING_TO_DO, FAILED, RETRY };

/* Descend key's path to the first non-root node that needs work: FOUND (in *p),
 * NOTHING_TO_DO or RETRY. */
static int find_work(larch_art *t, const uint8_t *key, size_t len, bool shrink, struct place *p) {
    struct art_node *n = t->root;
    uint64_t v;
    if (!vlock_read_begin(&n->lock, &v))
        return RETRY;
    size_t depth = 0;
    for (;;) {
        uint32_t plen = art_prefix_len(n);
        if (plen) {
            bool torn = false;
            if (art_prefix_mismatch(n, key, len, depth, false, NULL, &torn) < plen || torn)
                return vlock_validate(&n->lock, v) && !torn ? NOTHING_TO_DO : RETRY;
            depth += plen;
        }
        if (depth >= len)
            return vlock_validate(&n->lock, v) ? NOTHING_TO_DO : RETRY;
        _Atomic uintptr_t *slot = art_find_child(n, key[depth]);
        uintptr_t w = slot ? art_slot_load(slot) : 0;
        if (!w || art_is_leaf(w))
            return vlock_validate(&n->lock, v) ? NOTHING_TO_DO : RETRY;
        struct art_node *child = art_node_of(w);
        uint64_t cv;
        if (!vlock_read_begin(&child->lock, &cv) || !vlock_validate(&n->lock, v))
            return RETRY;
        if (needs_work(child, shrink)) {
            /* Read again under validation: needs_work looked at torn fields. */
            p->node = child, p->v = cv, p->parent = n, p->pv = v, p->pslot = slot;
            p->pbyte = key[depth];
            return vlock_validate(&child->lock, cv) ? FOUND : RETRY;
        }
        if (child->kind == ART_BUCKET) /* (the end of the path) */
            return vlock_validate(&child->lock, cv) ? NOTHING_TO_DO : RETRY;
        n = child;
        v = cv;
        depth++;
    }
}

static bool lock_both(struct place *p) {
    if (!vlock_upgrade(&p->parent->lock, p->pv))
        return false;
    if (!vlock_upgrade(&p->node->lock, p->v)) {
        vlock_unlock_unchanged(&p->parent->lock);
        return false;
    }
    return true;
}

/* Replace node in its parent by `w` (a leaf, a node, or 0 to unlink it). */
static void replace(struct place *p, uintptr_t w) {
    if (w)
        art_slot_publish(p->pslot, w);
    else
        art_remove_child(p->parent, p->pbyte);
    vlock_unlock_obsolete(&p->node->lock);
    vlock_unlock(&p->parent->lock);
    art_retire_node(p->node);
}

/* Fold a node with one child node into that child: the child's prefix becomes
 * node's prefix, the branch byte, then its own (only the first stored bytes of
 * that are needed, and the parts that supply them are stored). */
static int fold_into_child(struct place *p, uint8_t b, struct art_node *c) {
    uint64_t cv;
    if (!vlock_read_begin(&c->lock, &cv) || !vlock_validate(&p->node->lock, p->v))
        return RETRY;
    uint32_t np = art_prefix_len(p->node), cp = art_prefix_len(c);
    uint8_t bytes[ART_PREFIX_STORED];
    unsigned k = 0;
    for (unsigned i = 0; i < np && k < ART_PREFIX_STORED; i++)
        bytes[k++] = art_prefix_byte(p->node, i);
    if (k < ART_PREFIX_STORED)
        bytes[k++] = b;
    for (unsigned i = 0; i < cp && k < ART_PREFIX_STORED; i++)
        bytes[k++] = art_prefix_byte(c, i);
    if (!lock_both(p))
        return RETRY;
    if (!vlock_upgrade(&c->lock, cv)) {
        vlock_unlock_unchanged(&p->node->lock);
        vlock_unlock_unchanged(&p->parent->lock);
        return RETRY;
    }
    art_set_prefix(c, bytes, np + 1 + cp);
    vlock_unlock(&c->lock);
    replace(p, (uintptr_t)c);
    return FIXED;
}

/* A bucket left empty is unlinked; one far below its capacity is copied into a
 * smaller one. */
static int fix_bucket(struct place *p) {
    struct art_bucket *b = art_bucket_of(p->node);
    unsigned cap = art_bucket_shrink_cap(b);
    if (!vlock_validate(&b->h.lock, p->v))
        return RETRY;
    if (art_count(&b->h) == 0) {
        if (!lock_both(p))
            return RETRY;
        replace(p, 0);
        return FIXED;
    }
    if (!cap)
        return RETRY; /* torn */
    struct art_bucket *smaller = art_bucket_new(cap, b->klen);
    if (!smaller)
        return FAILED;
    if (!lock_both(p)) { /* (at p->v, so the entries are those cap was read from) */
        art_node_free(&smaller->h);
        return RETRY;
    }
    struct art_bucket_fill f;
    art_bucket_fill_begin(&f, smaller, art_count(&b->h));
    for (unsigned at = art_bucket_next(b, 0, true); at < b->cap;
         at = art_bucket_next(b, at + 1, true))
        /* relaxed: b is locked by us; smaller is published with release. */
        art_bucket_fill_entry(&f, art_bucket_key(b, at), art_bucket_value_relaxed(b, at));
    art_bucket_fill_end(&f);
    replace(p, (uintptr_t)smaller);
    return FIXED;
}

static int fix(struct place *p) {
    struct art_node *n = p->node;
    if (n->kind == ART_BUCKET)
        return fix_bucket(p);
    uintptr_t end = art_slot_load(&n->end);
    unsigned count = art_count(n);
    if (count + (end != 0) <= 1) {
        uint8_t b = 0;
        uintptr_t only = end ? end : art_next_child(n, 0, 1, &b);
        if (!vlock_validate(&n->lock, p->v))
            return RETRY;
        /* (a bucket, like a leaf, hangs at any depth of its keys' path) */
        if (only && !art_is_leaf(only) && art_node_of(only)->kind != ART_BUCKET)
            return fold_into_child(p, b, art_node_of(only));
        if (!lock_both(p))
            return RETRY;
        replace(p, only);
        return FIXED;
    }
    if (n->kind == ART_NODE4)
        return RETRY; /* torn: a Node4 with two entries needs nothing */
    struct art_node *smaller = art_node_new((enum art_kind)(n->kind - 1));
    if (!smaller)
        return FAILED;
    if (!lock_both(p)) {
        art_node_free(smaller);
        return RETRY;
    }
    art_copy_into(smaller, n);
    replace(p, (uintptr_t)smaller);
    return FIXED;
}

void art_compact(larch_art *t, const uint8_t *key, size_t len) {
    struct larch__backoff backoff = {0};
    bool shrink = true;
    /* The delete's epoch reserve (larch__epoch_reserve) covers this many more
     * retirements without allocating: folds need no memory at all, so they still
     * happen when memory is short. A failed shrink only turns shrinking off. */
    unsigned covered = LARCH_EPOCH_RESERVE_MAX - 1;
    /* Until the path needs nothing: a lost race means another writer changed a
     * node on it, and each round starts over from the root. Only running out of
     * memory stops it early (a sparse node, never a wrong tree). */
    for (;;) {
        if (!covered) {
            if (larch__epoch_reserve() != LARCH_OK)
                return;
            covered = LARCH_EPOCH_RESERVE_MAX;
        }
        struct place p;
        int r = find_work(t, key, len, shrink, &p);
        if (r == FOUND)
            r = fix(&p);
        if (r == NOTHING_TO_DO)
            return;
        if (r == FIXED)
            covered--;
        if (r == FAILED)
            shrink = false;
        if (r == RETRY) {
            art_count_restart(t);
            larch__backoff_wait(&backoff);
        }
    }
}
