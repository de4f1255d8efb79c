/* ART operations with optimistic lock coupling (Leis et al., "The ART of Practical
 * Synchronization", DaMoN 2016).
 *
 * Every operation runs pinned. It descends reading each node optimistically and
 * validates the parent after taking the child's version, so a node is always
 * reached through a parent that still pointed to it. A writer then upgrades the
 * version of exactly the nodes it changes: the node holding the slot, and its
 * parent when the node is replaced (growth) or split (a prefix mismatch). A leaf's
 * value changes, and a leaf is unlinked, only under the lock of the node whose slot
 * holds it, so each displaced value reaches exactly one caller. Memory is taken
 * before any lock, so a failed allocation changes nothing. After
 * larch__art_optimistic_attempts restarts an operation locks its path instead
 * (lock coupling from the root), so it cannot starve. */
#include <stdlib.h>
#include <string.h>

#include "art/bucket.h"
#include "art/tree.h"
#include "common/alloc.h"
#include "common/backoff.h"
#include "common/key.h"
#include "epoch/epoch.h"

unsigned larch__art_optimistic_attempts = 16;

/* ---- reclamation -------------------------------------------------------------- */

static void free_node_cb(void *p) {
    art_node_free(p);
}

void art_retire_node(struct art_node *n) {
    larch_epoch_retire(n, free_node_cb);
}

void art_retire_leaf(struct art_leaf *l) {
    larch_epoch_retire(l, larch__free);
}

/* ---- handle ------------------------------------------------------------------- */

larch_art *larch_art_new(void) {
    larch_art *t = larch__aligned_alloc(LARCH_CACHE_PAD, sizeof *t);
    if (!t)
        return NULL;
    t->root = art_node_new(ART_NODE256);
    if (!t->root) {
        larch__free(t);
        return NULL;
    }
    t->leaf_lines_after = 0;
    atomic_init(&t->restarts, 0);
    for (unsigned i = 0; i < LARCH_STRIPES; i++)
        atomic_init(&t->len[i].value, 0);
    return t;
}

void larch_art_free(larch_art *t) {
    if (!t)
        return;
    art_free_subtree((uintptr_t)t->root, true);
    larch__free(t);
}

void larch__art_free_nodes(larch_art *t) {
    if (!t)
        return;
    art_free_subtree((uintptr_t)t->root, false);
    larch__free(t);
}

size_t larch_art_len(larch_art *t) {
    return t ? larch__stripes_sum(t->len) : 0;
}

static int subtree_height(uintptr_t w) {
    if (!w || art_is_leaf(w))
        return 0;
    struct art_node *n = art_node_of(w);
    if (n->kind == ART_BUCKET)
        return 1;
    int h = 0;
    uint8_t b;
    for (uintptr_t c = art_next_child(n, 0, 1, &b); c; c = art_next_child(n, b + 1, 1, &b)) {
        int ch = subtree_height(c);
        h = ch > h ? ch : h;
        if (b == 255)
            break;
    }
    return h + 1;
}

int larch_art_height(larch_art *t) {
    if (!t)
        return LARCH_EINVAL;
    /* Read without validation: pinned, every pointer leads to live memory, and each
     * level is one key byte deeper, so a walk racing writers ends with a height the
     * tree had or is passing through. */
    larch_epoch_pin();
    int h = subtree_height((uintptr_t)t->root);
    larch_epoch_unpin();
    return h;
}

static void restart_wait(larch_art *t, struct larch__backoff *b) {
    art_count_restart(t);
    larch__backoff_wait(b);
}

static bool leaf_matches(const struct art_leaf *l, const uint8_t *key, size_t len) {
    return l->len == len && (len == 0 || memcmp(l->key, key, len) == 0);
}

/* ---- finding a key's place ------------------------------------------------------- */

enum spot_kind {
    SPOT_PRESENT,      /* a leaf with the key, in *slot of node */
    SPOT_ADD_END,      /* the key ends at node, whose end slot is empty */
    SPOT_ADD_CHILD,    /* node has no child for the key's next byte */
    SPOT_SPLIT_LEAF,   /* *slot of node holds a leaf with another key */
    SPOT_SPLIT_PREFIX, /* the key leaves node's prefix after `match` bytes */
    SPOT_IN_BUCKET,    /* node is a bucket holding the key at `pos` */
    SPOT_BUCKET_ADD,   /* node is a bucket without the key (`pos`: its place if the
                        * key has the bucket's length) */
};

struct spot {
    enum spot_kind kind;
    bool locked; /* lock coupling: node and parent (if any) are held */
    struct art_node *node, *parent;
    uint64_t v, pv;           /* their versions (optimistic) */
    _Atomic uintptr_t *slot;  /* PRESENT, SPLIT_LEAF: the slot of the leaf */
    _Atomic uintptr_t *pslot; /* parent's slot holding node */
    size_t depth;             /* SPLIT_PREFIX: where node's prefix starts; else
                               * where it branches (after its prefix) */
    uint32_t match;           /* SPLIT_PREFIX: prefix bytes the key matches */
    unsigned pos;             /* IN_BUCKET, BUCKET_ADD */
    struct art_leaf *leaf;    /* PRESENT, SPLIT_LEAF */
};

static void spot_release(struct spot *s) {
    if (!s->locked)
        return;
    vlock_unlock_unchanged(&s->node->lock);
    if (s->parent)
        vlock_unlock_unchanged(&s->parent->lock);
}

/* Enter child from node: optimistically, take its version, then check that node
 * still pointed to it; with lock coupling, lock it and let go of the grandparent. */
static bool enter_child(struct spot *s, struct art_node *child, _Atomic uintptr_t *slot) {
    uint64_t cv = 0;
    if (s->locked) {
        if (!vlock_lock(&child->lock))
            return false; /* (the caller lets go of what it holds) */
        if (s->parent)
            vlock_unlock_unchanged(&s->parent->lock);
    } else if (!vlock_read_begin(&child->lock, &cv) || !vlock_validate(&s->node->lock, s->v)) {
        return false;
    }
    s->parent = s->node;
    s->pv = s->v;
    s->pslot = slot;
    s->node = child;
    s->v = cv;
    return true;
}

/* Find where key is or would go. false: restart (nothing is held). */
static bool locate(larch_art *t, const uint8_t *key, size_t len, bool locked, struct spot *s) {
    s->locked = locked;
    s->node = t->root;
    s->parent = NULL;
    s->pslot = NULL;
    s->v = 0;
    if (locked ? !vlock_lock(&s->node->lock) : !vlock_read_begin(&s->node->lock, &s->v))
        return false;
    size_t depth = 0;
    for (;;) {
        struct art_node *n = s->node;
        if (n->kind == ART_BUCKET) {
            /* (reached through a child slot: a bucket has a parent) */
            struct art_bucket *b = art_bucket_of(n);
            bool found = false;
            s->depth = depth;
            s->pos = 0;
            if (len == b->klen) {
                unsigned at, e = art_bucket_find(b, larch__load_be64(key, len), &at);
                found = e < b->cap;
                s->pos = found ? e : at;
            }
            s->kind = found ? SPOT_IN_BUCKET : SPOT_BUCKET_ADD;
            return true;
        }
        uint32_t plen = art_prefix_len(n);
        if (plen) {
            bool torn = false;
            uint32_t m = art_prefix_mismatch(n, key, len, depth, true, NULL, &torn);
            if (torn) {
                spot_release(s);
                return false;
            }
            if (m < plen) {
                s->kind = SPOT_SPLIT_PREFIX;
                s->depth = depth;
                s->match = m;
                return true;
            }
            depth += plen;
        }
        s->depth = depth;
        _Atomic uintptr_t *slot = depth == len ? &n->end : art_find_child(n, key[depth]);
        uintptr_t w = slot ? art_slot_load(slot) : 0;
        s->slot = slot;
        if (!w) {
            s->kind = depth == len ? SPOT_ADD_END : SPOT_ADD_CHILD;
            return true;
        }
        if (art_is_leaf(w)) {
            s->leaf = art_leaf_of(w);
            s->kind = leaf_matches(s->leaf, key, len) ? SPOT_PRESENT : SPOT_SPLIT_LEAF;
            return true;
        }
        if (depth < len) {
            art_prefetch_child(w, key, len, depth + 1);
            art_prefetch_bucket_guess(w, key, len, depth + 1);
        }
        if (depth == len || !enter_child(s, art_node_of(w), slot)) {
            spot_release(s); /* (an end slot holds only leaves; a torn read) */
            return false;
        }
        depth++;
    }
}

/* Take the locks a change at s needs: the node, and its parent if `parent`. With
 * lock coupling both are held already; the parent is let go if not needed. */
static bool spot_lock(struct spot *s, bool parent) {
    if (parent && !s->parent) {
        spot_release(s); /* the root is never replaced or split: a torn read */
        return false;
    }
    if (s->locked) {
        if (!parent && s->parent) {
            vlock_unlock_unchanged(&s->parent->lock);
            s->parent = NULL;
        }
        return true;
    }
    if (parent && !vlock_upgrade(&s->parent->lock, s->pv))
        return false;
    if (!vlock_upgrade(&s->node->lock, s->v)) {
        if (parent)
            vlock_unlock_unchanged(&s->parent->lock);
        return false;
    }
    return true;
}

/* ---- lookups ------------------------------------------------------------------ */

/* LARCH_OK / LARCH_NOTFOUND, or -1 to restart: a search of bucket b, whose version
 * is v. */
static int get_in_bucket(struct art_bucket *b, uint64_t v, const uint8_t *key, size_t len,
                         uint64_t *val) {
    int rc = LARCH_NOTFOUND;
    uint64_t value = 0;
    if (len == b->klen) {
        unsigned e = art_bucket_get(b, larch__load_be64(key, len));
        if (e < b->cap) {
            value = art_bucket_value(b, e);
            rc = LARCH_OK;
        }
    }
    if (!vlock_validate(&b->h.lock, v))
        return -1;
    if (rc == LARCH_OK)
        *val = value;
    return rc;
}

/* LARCH_OK / LARCH_NOTFOUND, or -1 to restart. */
static int get_optimistic(larch_art *t, const uint8_t *key, size_t len, uint64_t *val) {
    struct art_node *n = t->root;
    uint64_t v;
    if (!vlock_read_begin(&n->lock, &v))
        return -1;
    size_t depth = 0;
    for (;;) {
        if (n->kind == ART_BUCKET)
            return get_in_bucket(art_bucket_of(n), v, key, len, val);
        uint32_t plen = art_prefix_len(n);
        if (plen) {
            bool torn = false;
            uint32_t m = art_prefix_mismatch(n, key, len, depth, false, NULL, &torn);
            if (torn)
                return -1;
            if (m < plen)
                return vlock_validate(&n->lock, v) ? LARCH_NOTFOUND : -1;
            depth += plen;
        }
        _Atomic uintptr_t *slot = depth == len ? &n->end : art_find_child(n, key[depth]);
        uintptr_t w = slot ? art_slot_load(slot) : 0;
        if (!w)
            return vlock_validate(&n->lock, v) ? LARCH_NOTFOUND : -1;
        if (art_is_leaf(w)) {
            struct art_leaf *l = art_leaf_of(w);
            for (unsigned i = 1; i <= t->leaf_lines_after; i++)
                __builtin_prefetch((const char *)l + 64 * i);
            bool found = leaf_matches(l, key, len);
            uint64_t value = found ? art_leaf_value(l) : 0;
            if (!vlock_validate(&n->lock, v))
                return -1;
            if (found)
                *val = value;
            return found ? LARCH_OK : LARCH_NOTFOUND;
        }
        if (depth == len)
            return -1; /* torn: an end slot holds only leaves */
        art_prefetch_child(w, key, len, depth + 1);
        art_prefetch_bucket_guess(w, key, len, depth + 1);
        struct art_node *child = art_node_of(w);
        uint64_t cv;
        if (!vlock_read_begin(&child->lock, &cv) || !vlock_validate(&n->lock, v))
            return -1;
        n = child;
        v = cv;
        depth++;
    }
}

int larch_art_get(larch_art *t, const void *key, size_t len, uint64_t *val) {
    if (!t)
        return LARCH_EINVAL;
    int rc = larch__key_check(key, len);
    if (rc)
        return rc;
    uint64_t found = 0;
    struct larch__backoff backoff = {0};
    larch_epoch_pin();
    for (unsigned attempt = 0;; attempt++) {
        if (attempt >= larch__art_optimistic_attempts) {
            struct spot s;
            if (!locate(t, key, len, true, &s)) {
                restart_wait(t, &backoff);
                continue;
            }
            rc = s.kind == SPOT_PRESENT || s.kind == SPOT_IN_BUCKET ? LARCH_OK : LARCH_NOTFOUND;
            if (s.kind == SPOT_PRESENT)
                found = art_leaf_value(s.leaf);
            else if (s.kind == SPOT_IN_BUCKET)
                found = art_bucket_value(art_bucket_of(s.node), s.pos);
            spot_release(&s);
            break;
        }
        rc = get_optimistic(t, key, len, &found);
        if (rc >= 0)
            break;
        restart_wait(t, &backoff);
    }
    larch_epoch_unpin();
    if (rc == LARCH_OK && val)
        *val = found;
    return rc;
}

/* ---- writes ------------------------------------------------------------------- */

enum op_kind { OP_PUT, OP_INSERT, OP_CAS, OP_DEL, OP_UPDATE };
enum decision { KEEP, STORE, DELETE };

struct write_op {
    enum op_kind kind;
    uint64_t val, expected;
    uint64_t *out;
    larch_update_fn fn;
    void *ctx;
    bool fn_invalid; /* update's fn returned something else than the three answers */
    /* An insert of a leaf the caller built and owns (larch__art_insert_leaf): it
     * must stay the key's leaf, so no bucket may take its key in (no bucket ever
     * forms in such a tree); if the key is present, its leaf goes to *found. */
    struct art_leaf *caller_leaf;
    struct art_leaf **found;
};

/* Whether an absent key may be stored: only then is memory needed. */
static bool may_store_absent(const struct write_op *op) {
    return op->kind == OP_PUT || op->kind == OP_INSERT || op->kind == OP_UPDATE;
}

/* The operation's answer for the key as found (under the lock that keeps it so). */
static enum decision decide(struct write_op *op, bool present, uint64_t cur, uint64_t *store) {
    switch (op->kind) {
    case OP_PUT:
        if (present && op->out)
            *op->out = cur;
        *store = op->val;
        return STORE;
    case OP_INSERT:
        if (present) {
            if (op->out)
                *op->out = cur;
            return KEEP;
        }
        *store = op->val;
        return STORE;
    case OP_CAS:
        if (present && cur == op->expected) {
            *store = op->val;
            return STORE;
        }
        if (present && op->out)
            *op->out = cur;
        return KEEP;
    case OP_DEL:
        if (present && op->out)
            *op->out = cur;
        return present ? DELETE : KEEP;
    default: {
        uint64_t v = present ? cur : 0;
        int r = op->fn(op->ctx, &v, present);
        if (r == LARCH_UPDATE_STORE) {
            *store = v;
            return STORE;
        }
        if (r == LARCH_UPDATE_DELETE)
            return present ? DELETE : KEEP;
        if (r != LARCH_UPDATE_KEEP)
            op->fn_invalid = true;
        return KEEP;
    }
    }
}

/* decide() for an absent key, with the inserts and puts that fill a tree inline. */
static inline enum decision decide_absent(struct write_op *op, uint64_t *store) {
    if (op->kind == OP_PUT || op->kind == OP_INSERT) {
        *store = op->val;
        return STORE;
    }
    return decide(op, false, 0, store);
}

static int op_result(const struct write_op *op, bool present, enum decision d) {
    if (op->fn_invalid)
        return LARCH_EINVAL;
    switch (op->kind) {
    case OP_PUT:
    case OP_INSERT:
        return present ? LARCH_EXISTS : LARCH_OK;
    case OP_CAS:
        return !present ? LARCH_NOTFOUND : d == STORE ? LARCH_OK : LARCH_EXISTS;
    default:
        return present ? LARCH_OK : LARCH_NOTFOUND;
    }
}

/* Memory taken before locking, kept across restarts, freed if unused. */
struct spares {
    struct art_leaf *leaf;
    struct art_node *node;
    struct art_bucket *pair; /* a bucket for two keys of one length */
};

static bool spare_leaf(struct spares *sp, const uint8_t *key, size_t len) {
    return sp->leaf || (sp->leaf = art_leaf_new(key, len, 0));
}

static bool spare_node(struct spares *sp, enum art_kind kind) {
    if (sp->node && sp->node->kind != kind) {
        art_node_free(sp->node);
        sp->node = NULL;
    }
    return sp->node || (sp->node = art_node_new(kind));
}

/* The spare leaf, given its value, ready to be published. */
static uintptr_t take_leaf(struct spares *sp, uint64_t value) {
    struct art_leaf *l = sp->leaf;
    sp->leaf = NULL;
    /* relaxed: the leaf is not shared yet; the release store of the slot that
     * publishes it orders this before any reader's load. */
    atomic_store_explicit(&l->value, value, memory_order_relaxed);
    return art_leaf_word(l);
}

static bool spare_pair(struct spares *sp, size_t klen) {
    if (sp->pair && sp->pair->klen != klen) {
        art_node_free(&sp->pair->h);
        sp->pair = NULL;
    }
    return sp->pair || (sp->pair = art_bucket_new(art_bucket_cap_for(2), (unsigned)klen));
}

static struct art_node *take_node(struct spares *sp) {
    struct art_node *n = sp->node;
    sp->node = NULL;
    return n;
}

/* Put a leaf in a new node whose branch depth is `depth`: in its end slot if the
 * key ends there, else under its next byte. */
static void place_leaf(struct art_node *n, size_t depth, uintptr_t w) {
    struct art_leaf *l = art_leaf_of(w);
    if (l->len == depth)
        atomic_store_explicit(&n->end, w, memory_order_relaxed); /* (n is not shared yet) */
    else
        art_add_child(n, l->key[depth], w);
}

/* A restart, or an outcome (>= 0 or an error). */
#define RESTART (-100)

/* The key is present: change its value or unlink it, under node's lock. */
static int apply_present(larch_art *t, struct spot *s, const uint8_t *key, struct write_op *op,
                         bool *compact) {
    if (!spot_lock(s, false))
        return RESTART;
    uint64_t store;
    enum decision d = decide(op, true, art_leaf_value(s->leaf), &store);
    if (d == STORE) {
        /* release: pairs with art_leaf_value's acquire (the new value may point to an
         * object the caller just built). The node's version stays: readers that
         * saw the old value read it while it was the key's value. */
        atomic_store_explicit(&s->leaf->value, store, memory_order_release);
        vlock_unlock_unchanged(&s->node->lock);
    } else if (d == DELETE) {
        struct art_node *n = s->node;
        if (s->slot == &n->end)
            /* relaxed: clearing publishes nothing; a reader that saw the leaf fails
             * validation against the version the unlock below bumps. */
            atomic_store_explicit(&n->end, 0, memory_order_relaxed);
        else
            art_remove_child(n, key[s->depth]);
        vlock_unlock(&n->lock);
        art_retire_leaf(s->leaf);
        larch__stripes_add(t->len, -1);
        *compact = n != t->root;
    } else {
        vlock_unlock_unchanged(&s->node->lock);
    }
    return op_result(op, true, d);
}

/* The key is absent: answer without memory if the operation cannot store it. */
static int apply_absent_readonly(struct spot *s, struct write_op *op) {
    if (s->locked) {
        spot_release(s);
    } else if (!vlock_validate(&s->node->lock, s->v)) {
        return RESTART;
    }
    return op_result(op, false, KEEP);
}

/* The new node a split builds: N4 with `plen` prefix bytes of key from `at`. */
static struct art_node *split_node(struct spares *sp, const uint8_t *key, size_t at,
                                   uint32_t plen) {
    struct art_node *x = take_node(sp);
    art_set_prefix(x, key + at, plen);
    return x;
}

/* Under node's lock: the leaf in *slot and the new key, of one length, become a
 * bucket of two. The old leaf's value is read under the lock that guards it. */
static void split_leaf_into_pair(struct spot *s, struct spares *sp, const uint8_t *key, size_t len,
                                 uint64_t store) {
    struct art_bucket *b = sp->pair;
    sp->pair = NULL;
    struct art_leaf *old = s->leaf;
    uint64_t kw = larch__load_be64(key, len), ow = larch__load_be64(old->key, len);
    uint64_t ov = art_leaf_value(old);
    struct art_bucket_fill f;
    art_bucket_fill_begin(&f, b, 2);
    art_bucket_fill_entry(&f, kw < ow ? kw : ow, kw < ow ? store : ov);
    art_bucket_fill_entry(&f, kw < ow ? ow : kw, kw < ow ? ov : store);
    art_bucket_fill_end(&f);
    art_slot_publish(s->slot, (uintptr_t)b);
    vlock_unlock(&s->node->lock);
    art_retire_leaf(old);
}

static int apply_absent(larch_art *t, struct spot *s, const uint8_t *key, size_t len,
                        struct write_op *op, struct spares *sp) {
    if (!may_store_absent(op))
        return apply_absent_readonly(s, op);
    struct art_node *n = s->node;
    /* What this case needs: memory first, then locks. */
    /* (read unvalidated: a Node256 is never full, whatever a torn count says) */
    bool grow = s->kind == SPOT_ADD_CHILD && n->kind != ART_NODE256 && art_is_full(n);
    bool parent = grow || s->kind == SPOT_SPLIT_PREFIX;
    enum art_kind kind = grow ? (enum art_kind)(n->kind + 1) : ART_NODE4;
    /* Two keys of one length that fit: a bucket of two, not a node and a leaf. */
    bool pair = s->kind == SPOT_SPLIT_LEAF && len <= ART_BUCKET_KEY_MAX && s->leaf->len == len &&
                !op->caller_leaf;
    bool need_node = grow || (s->kind == SPOT_SPLIT_LEAF && !pair) || s->kind == SPOT_SPLIT_PREFIX;
    uint8_t old_prefix[LARCH_KEY_MAX];
    if (s->kind == SPOT_SPLIT_PREFIX && !art_prefix_bytes(n, s->depth, old_prefix)) {
        spot_release(s);
        return RESTART;
    }
    if ((pair ? !spare_pair(sp, len) : !spare_leaf(sp, key, len)) ||
        (need_node && !spare_node(sp, kind))) {
        spot_release(s);
        return LARCH_ENOMEM;
    }
    if (!spot_lock(s, parent))
        return RESTART;
    uint64_t store;
    enum decision d = decide(op, false, 0, &store);
    if (d != STORE) {
        vlock_unlock_unchanged(&n->lock);
        if (parent)
            vlock_unlock_unchanged(&s->parent->lock);
        return op_result(op, false, d);
    }
    if (pair) {
        split_leaf_into_pair(s, sp, key, len, store);
        larch__stripes_add(t->len, 1);
        return op_result(op, false, STORE);
    }
    uintptr_t leaf = take_leaf(sp, store);
    switch (s->kind) {
    case SPOT_ADD_END:
        art_slot_publish(&n->end, leaf);
        vlock_unlock(&n->lock);
        break;
    case SPOT_ADD_CHILD:
        if (!grow) {
            art_add_child(n, key[s->depth], leaf);
            vlock_unlock(&n->lock);
            break;
        }
        {
            struct art_node *bigger = take_node(sp);
            art_copy_into(bigger, n);
            art_add_child(bigger, key[s->depth], leaf);
            art_slot_publish(s->pslot, (uintptr_t)bigger);
            vlock_unlock_obsolete(&n->lock);
            vlock_unlock(&s->parent->lock);
            art_retire_node(n);
        }
        break;
    case SPOT_SPLIT_LEAF: {
        /* The old leaf and the new key share `common` bytes past the branch. */
        struct art_leaf *old = s->leaf;
        size_t at = s->depth + 1, common = 0;
        while (at + common < len && at + common < old->len &&
               key[at + common] == old->key[at + common])
            common++;
        struct art_node *x = split_node(sp, key, at, (uint32_t)common);
        place_leaf(x, at + common, art_leaf_word(old));
        place_leaf(x, at + common, leaf);
        art_slot_publish(s->slot, (uintptr_t)x);
        vlock_unlock(&n->lock);
        break;
    }
    default: { /* SPOT_SPLIT_PREFIX */
        uint32_t plen = art_prefix_len(n), m = s->match;
        struct art_node *x = split_node(sp, key, s->depth, m);
        art_add_child(x, old_prefix[m], (uintptr_t)n);
        place_leaf(x, s->depth + m, leaf);
        art_set_prefix(n, old_prefix + m + 1, plen - m - 1);
        art_slot_publish(s->pslot, (uintptr_t)x);
        vlock_unlock(&n->lock);
        vlock_unlock(&s->parent->lock);
        break;
    }
    }
    larch__stripes_add(t->len, 1);
    return op_result(op, false, STORE);
}

/* ---- writes in buckets ---------------------------------------------------------- */

/* The key is in bucket s->node at s->pos: change its value or take it out, under
 * the bucket's lock. Every change bumps the version, a value's too, so that a
 * rebuild's optimistic copy of the entries that validates is exact. */
static int apply_in_bucket(larch_art *t, struct spot *s, struct write_op *op, bool *compact) {
    if (!spot_lock(s, false))
        return RESTART;
    struct art_bucket *b = art_bucket_of(s->node);
    uint64_t store;
    enum decision d = decide(op, true, art_bucket_value(b, s->pos), &store);
    if (d == STORE) {
        art_bucket_set_value(b, s->pos, store);
        vlock_unlock(&b->h.lock);
    } else if (d == DELETE) {
        art_bucket_remove(b, s->pos);
        *compact = art_count(&b->h) == 0 || art_bucket_shrink_cap(b) != 0;
        vlock_unlock(&b->h.lock);
        larch__stripes_add(t->len, -1);
    } else {
        vlock_unlock_unchanged(&b->h.lock);
    }
    return op_result(op, true, d);
}

/* A copy of bucket b's entries with the new key in its place (read optimistically:
 * the caller validates); the new key's index. */
struct bucket_copy {
    struct art_entry e[ART_BUCKET_MAX + 1];
    uint8_t bytes[ART_BUCKET_MAX][ART_BUCKET_KEY_MAX];
    unsigned n, mark;
};

static void copy_bucket(struct art_bucket *b, const uint8_t *key, size_t len,
                        struct bucket_copy *c) {
    unsigned count = art_bucket_count(b), klen = b->klen, i = 0;
    c->n = 0;
    c->mark = count;
    for (unsigned at = art_bucket_next(b, 0, true); at < b->cap && i < count;
         at = art_bucket_next(b, at + 1, true), i++) {
        art_word_key(art_bucket_key(b, at), c->bytes[i]);
        if (c->mark == count && larch__key_cmp(c->bytes[i], klen, key, len) > 0)
            c->e[c->mark = c->n++] = (struct art_entry){key, (uint32_t)len, 0};
        /* relaxed: validated with the keys (values change only with the version) */
        uint64_t v = art_bucket_value_relaxed(b, at);
        c->e[c->n++] = (struct art_entry){c->bytes[i], klen, v};
    }
    if (c->mark == count)
        c->e[c->n++] = (struct art_entry){key, (uint32_t)len, 0};
}

/* Bucket s->node is full but may grow: a copy with room, and the key, replaces it. */
static int grow_bucket(larch_art *t, struct spot *s, const uint8_t *key, size_t len,
                       struct write_op *op) {
    struct art_bucket *b = art_bucket_of(s->node);
    unsigned count = art_bucket_count(b);
    unsigned at;
    struct art_bucket *bigger =
        art_bucket_copy_insert(art_bucket_cap_for(count + 1), b, larch__load_be64(key, len), &at);
    if (!bigger) {
        spot_release(s);
        return LARCH_ENOMEM;
    }
    if (!spot_lock(s, true)) {
        art_node_free(&bigger->h);
        return RESTART;
    }
    uint64_t store;
    enum decision d = decide_absent(op, &store);
    if (d != STORE) {
        vlock_unlock_unchanged(&b->h.lock);
        vlock_unlock_unchanged(&s->parent->lock);
        art_node_free(&bigger->h);
        return op_result(op, false, d);
    }
    art_bucket_set_value(bigger, at, store);
    art_slot_publish(s->pslot, (uintptr_t)bigger);
    vlock_unlock_obsolete(&b->h.lock);
    vlock_unlock(&s->parent->lock);
    art_retire_node(&b->h);
    larch__stripes_add(t->len, 1);
    return op_result(op, false, STORE);
}

/* Bucket s->node is full, or meets a key of another length: a node over buckets
 * and leaves, with the key, replaces it. (Out of line: its copy is kilobytes of
 * stack, which an insert in place should not set up.) */
static LARCH_NOINLINE int rebuild_bucket(larch_art *t, struct spot *s, const uint8_t *key,
                                         size_t len, struct write_op *op) {
    struct art_bucket *b = art_bucket_of(s->node);
    uint64_t store;
    struct bucket_copy c;
    copy_bucket(b, key, len, &c);
    if (!s->locked && !vlock_validate(&b->h.lock, s->v))
        return RESTART;
    struct art_built built = {0};
    if (!art_build(c.e, c.n, s->depth, c.mark, &built)) {
        spot_release(s);
        return LARCH_ENOMEM;
    }
    if (!spot_lock(s, true)) {
        art_free_subtree(built.word, true);
        return RESTART;
    }
    enum decision d = decide(op, false, 0, &store);
    if (d != STORE) {
        vlock_unlock_unchanged(&b->h.lock);
        vlock_unlock_unchanged(&s->parent->lock);
        art_free_subtree(built.word, true);
        return op_result(op, false, d);
    }
    /* relaxed: the subtree is not shared yet; publishing it orders this store. */
    atomic_store_explicit(built.value_slot, store, memory_order_relaxed);
    art_slot_publish(s->pslot, built.word);
    vlock_unlock_obsolete(&b->h.lock);
    vlock_unlock(&s->parent->lock);
    art_retire_node(&b->h);
    larch__stripes_add(t->len, 1);
    return op_result(op, false, STORE);
}

/* The key is absent from bucket s->node: insert it in place if it fits; else build
 * the bucket's replacement (a bigger bucket, or a node over buckets and leaves),
 * then swap it in under the parent's lock. */
static int apply_bucket_add(larch_art *t, struct spot *s, const uint8_t *key, size_t len,
                            struct write_op *op) {
    if (!may_store_absent(op))
        return apply_absent_readonly(s, op);
    struct art_bucket *b = art_bucket_of(s->node);
    uint64_t store;
    if (len == b->klen && art_count(&b->h) < b->cap) {
        if (!spot_lock(s, false))
            return RESTART;
        enum decision d = decide_absent(op, &store);
        if (d != STORE) {
            vlock_unlock_unchanged(&b->h.lock);
            return op_result(op, false, d);
        }
        art_bucket_insert(b, s->pos, larch__load_be64(key, len), store);
        vlock_unlock(&b->h.lock);
        larch__stripes_add(t->len, 1);
        return op_result(op, false, STORE);
    }
    if (len == b->klen && b->cap < ART_BUCKET_MAX)
        return grow_bucket(t, s, key, len, op);
    return rebuild_bucket(t, s, key, len, op);
}

/* An insert of a caller's leaf found the key present: its leaf goes to *found, with
 * no lock (nothing changes; the validation proves the leaf was in the tree while
 * its slot was read). A bucket cannot be there: no bucket forms in such a tree. */
static int present_caller_leaf(struct spot *s, struct write_op *op) {
    if (s->kind != SPOT_PRESENT) {
        spot_release(s);
        return LARCH_EINVAL;
    }
    if (!s->locked && !vlock_validate(&s->node->lock, s->v))
        return RESTART;
    spot_release(s);
    *op->found = s->leaf;
    return LARCH_EXISTS;
}

static int write(larch_art *t, const void *key, size_t len, struct write_op *op) {
    if (!t || (op->kind == OP_UPDATE && !op->fn))
        return LARCH_EINVAL;
    int rc = larch__key_check(key, len);
    if (rc)
        return rc;
    /* Room to retire a leaf or a node without allocating later. */
    if (larch__epoch_reserve() != LARCH_OK)
        return LARCH_ENOMEM;
    struct spares sp = {.leaf = op->caller_leaf};
    struct larch__backoff backoff = {0};
    bool compact = false;
    larch_epoch_pin();
    for (unsigned attempt = 0;; attempt++) {
        struct spot s;
        bool locked = attempt >= larch__art_optimistic_attempts;
        rc = RESTART;
        if (locate(t, key, len, locked, &s)) {
            if (op->caller_leaf &&
                (s.kind == SPOT_PRESENT || s.kind == SPOT_IN_BUCKET || s.kind == SPOT_BUCKET_ADD))
                rc = present_caller_leaf(&s, op);
            else if (s.kind == SPOT_PRESENT)
                rc = apply_present(t, &s, key, op, &compact);
            else if (s.kind == SPOT_IN_BUCKET)
                rc = apply_in_bucket(t, &s, op, &compact);
            else if (s.kind == SPOT_BUCKET_ADD)
                rc = apply_bucket_add(t, &s, key, len, op);
            else
                rc = apply_absent(t, &s, key, len, op, &sp);
        }
        if (rc != RESTART)
            break;
        restart_wait(t, &backoff);
    }
    if (compact)
        art_compact(t, key, len);
    larch_epoch_unpin();
    if (sp.leaf != op->caller_leaf) /* (the caller's leaf stays the caller's) */
        larch__free(sp.leaf);
    if (sp.node)
        art_node_free(sp.node);
    if (sp.pair)
        art_node_free(&sp.pair->h);
    return rc;
}

int larch_art_put(larch_art *t, const void *key, size_t len, uint64_t val, uint64_t *old) {
    struct write_op op = {.kind = OP_PUT, .val = val, .out = old};
    return write(t, key, len, &op);
}

int larch_art_insert(larch_art *t, const void *key, size_t len, uint64_t val, uint64_t *cur) {
    struct write_op op = {.kind = OP_INSERT, .val = val, .out = cur};
    return write(t, key, len, &op);
}

int larch_art_cas(larch_art *t, const void *key, size_t len, uint64_t expected, uint64_t desired,
                  uint64_t *cur) {
    struct write_op op = {.kind = OP_CAS, .val = desired, .expected = expected, .out = cur};
    return write(t, key, len, &op);
}

int larch_art_del(larch_art *t, const void *key, size_t len, uint64_t *old) {
    struct write_op op = {.kind = OP_DEL, .out = old};
    return write(t, key, len, &op);
}

int larch_art_update(larch_art *t, const void *key, size_t len, larch_update_fn fn, void *ctx) {
    struct write_op op = {.kind = OP_UPDATE, .fn = fn, .ctx = ctx};
    return write(t, key, len, &op);
}

/* ---- leaves the caller owns (the memtable's records) -------------------------- */

int larch__art_insert_leaf(larch_art *t, struct art_leaf *leaf, struct art_leaf **found) {
    if (!leaf || !found)
        return LARCH_EINVAL;
    /* relaxed: the leaf is the caller's and not shared yet; take_leaf stores the
     * same value back before the slot's release store publishes it. */
    struct write_op op = {.kind = OP_INSERT,
                          .val = atomic_load_explicit(&leaf->value, memory_order_relaxed),
                          .caller_leaf = leaf,
                          .found = found};
    return write(t, leaf->key, leaf->len, &op);
}
