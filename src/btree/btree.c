/* B+ tree operations with optimistic lock coupling (Leis et al., 2016).
 *
 * Every operation runs pinned. It descends reading each node optimistically and
 * validating the parent after taking the child's version, so a node is always
 * reached through a parent that still pointed to it. Writers upgrade the version of
 * exactly the nodes they change: the leaf, and the parent when a node splits or
 * merges. Inner nodes that could not take one more separator are split on the way
 * down, so a leaf split finds room in its parent (see descend_for_write for the one
 * exception). Memory is allocated before any lock is taken; a failed allocation
 * returns LARCH_ENOMEM with nothing changed. */
#include <stdlib.h>
#include <string.h>

#include "btree/tree.h"
#include "common/alloc.h"
#include "common/backoff.h"
#include "common/key.h"
#include "epoch/epoch.h"

unsigned larch__bt_optimistic_attempts = 16;

/* ---- allocation ------------------------------------------------------------ */

/* What one write carries from attempt to attempt: nodes allocated before locking,
 * used by a split if one happens, and the longest separator a fixed-format inner
 * node on the way could not take (0 while none was refused). */
struct spares {
    struct node *node[2];
    size_t sep_need;
};

static bool spares_fill(struct spares *s, unsigned want) {
    for (unsigned i = 0; i < want; i++)
        if (!s->node[i] && !(s->node[i] = node_new(0)))
            return false;
    return true;
}

static struct node *spares_take(struct spares *s, unsigned level) {
    for (unsigned i = 0; i < 2; i++) {
        struct node *n = s->node[i];
        if (n) {
            s->node[i] = NULL;
            node_init(n, level);
            return n;
        }
    }
    return NULL;
}

/* A spare taken for a split that did not happen. */
static void spares_return(struct spares *s, struct node *n) {
    s->node[s->node[0] ? 1 : 0] = n;
}

static void spares_free(struct spares *s) {
    for (unsigned i = 0; i < 2; i++)
        larch__free(s->node[i]);
}

/* ---- the key count ----------------------------------------------------------- */

static void len_add(larch_btree *t, long delta) {
    larch__stripes_add(t->len, delta);
}

size_t larch_btree_len(larch_btree *t) {
    return t ? larch__stripes_sum(t->len) : 0;
}

/* ---- new, free, height ------------------------------------------------------- */

larch_btree *larch_btree_new(void) {
    larch_btree *t = larch__aligned_alloc(LARCH_CACHE_PAD, sizeof *t);
    if (!t)
        return NULL;
    struct node *root = node_new(0);
    if (!root) {
        larch__free(t);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    atomic_init(&t->root, root);
    atomic_init(&t->restarts, 0);
    for (unsigned i = 0; i < LARCH_STRIPES; i++)
        atomic_init(&t->len[i].value, 0);
    return t;
}

static void free_subtree(struct node *n) {
    if (!node_is_leaf(n)) {
        unsigned count = node_count(n);
        for (unsigned i = 0; i <= count; i++)
            free_subtree(node_child(n, i, count));
    }
    node_free(n);
}

void larch_btree_free(larch_btree *t) {
    if (!t)
        return;
    free_subtree(atomic_load_explicit(&t->root, memory_order_relaxed));
    larch__free(t);
}

int larch_btree_height(larch_btree *t) {
    if (!t)
        return LARCH_EINVAL;
    larch_epoch_pin();
    int h = (int)meta_level(node_meta(tree_root(t))) + 1;
    larch_epoch_unpin();
    return h;
}

/* ---- descent ------------------------------------------------------------------- */

/* Begin reading the root; false if it moved (the caller restarts). */
static bool read_root(larch_btree *t, struct node **node, uint64_t *version) {
    struct node *n = tree_root(t);
    if (!vlock_read_begin(&n->lock, version))
        return false;
    /* A root that split (or collapsed) after we loaded the pointer is no longer the
     * root: its version moved before the pointer did not. */
    if (tree_root(t) != n)
        return false;
    *node = n;
    return true;
}

static void copy_separator(const struct node *n, unsigned i, uint8_t *out, size_t *len, bool *has) {
    if (out) {
        *len = node_key_copy(n, i, out);
        *has = true;
    }
}

struct node *tree_descend_to_leaf(larch_btree *t, const struct search_key *k, bool below,
                                  uint64_t *version, uint8_t *upper, size_t *upper_len,
                                  bool *has_upper, uint8_t *lower, size_t *lower_len,
                                  bool *has_lower, struct leaf_parent *parent) {
    struct node *node;
    uint64_t v;
    if (has_upper)
        *has_upper = false;
    if (has_lower)
        *has_lower = false;
    if (parent)
        parent->node = NULL;
    if (!read_root(t, &node, &v))
        return NULL;
    while (!node_is_leaf(node)) {
        unsigned count = node_count(node);
        bool eq;
        unsigned pos = !k      ? count
                       : below ? node_lower_bound(node, k, &eq)
                               : node_upper_bound(node, k);
        if (pos < count)
            copy_separator(node, pos, upper, upper_len, has_upper);
        if (pos > 0)
            copy_separator(node, pos - 1, lower, lower_len, has_lower);
        uint64_t word;
        struct node *child = tree_child(node, pos, count, k, &word);
        /* The child pointer may be torn until the node validates. */
        if (!vlock_validate(&node->lock, v))
            return NULL;
        uint64_t cv;
        if (!vlock_read_begin(&child->lock, &cv))
            return NULL;
        if (!vlock_validate(&node->lock, v))
            return NULL;
        if (parent)
            *parent = (struct leaf_parent){node, v, pos, count, word};
        node = child;
        v = cv;
    }
    *version = v;
    return node;
}

struct node *tree_lock_leaf(larch_btree *t, const struct search_key *k, bool below, uint8_t *upper,
                            size_t *upper_len, bool *has_upper, uint8_t *lower, size_t *lower_len,
                            bool *has_lower) {
    for (;;) {
        struct node *node = tree_root(t);
        if (!vlock_lock(&node->lock))
            continue; /* collapsed meanwhile: load the new root */
        if (tree_root(t) != node) {
            vlock_unlock_unchanged(&node->lock);
            continue;
        }
        if (has_upper)
            *has_upper = false;
        if (has_lower)
            *has_lower = false;
        while (!node_is_leaf(node)) {
            unsigned count = node_count(node);
            bool eq;
            unsigned pos = !k      ? count
                           : below ? node_lower_bound(node, k, &eq)
                                   : node_upper_bound(node, k);
            if (pos < count)
                copy_separator(node, pos, upper, upper_len, has_upper);
            if (pos > 0)
                copy_separator(node, pos - 1, lower, lower_len, has_lower);
            struct node *child = node_child(node, pos, count);
            /* Top-down, as every blocking lock in the tree is taken (a merge blocks
             * only on a sibling, under the parent we would hold): no cycle. A child
             * is made obsolete only under its parent's lock, which we hold. */
            vlock_lock(&child->lock);
            vlock_unlock_unchanged(&node->lock);
            node = child;
        }
        return node;
    }
}

/* A leaf reached for writing, with its parent (NULL for a root leaf) and the
 * parent's parent (grand.node NULL: none), as the descent read them. */
struct write_path {
    struct node *leaf, *parent;
    uint64_t version, parent_version;
    unsigned parent_pos;
    uint64_t leaf_word; /* the parent's word for the leaf */
    struct leaf_parent grand;
};

enum { PATH_OK, PATH_RESTART, PATH_ENOMEM };

/* Link a node split into left (the old node) and right under parent, whose entry
 * parent_pos pointed to the old node; both are locked. */
static void parent_link(struct node *parent, unsigned parent_pos, struct node *left,
                        struct node *right, const uint8_t *sep, size_t sep_len) {
    unsigned count = node_count(parent);
    node_insert_at(parent, parent_pos, sep, sep_len, child_word_now(left));
    node_set_child(parent, parent_pos + 1, count + 1, child_word_now(right));
}

/* The root (left, locked) split: a new root above left and right. */
static void grow_root(larch_btree *t, struct node *new_root, struct node *left, struct node *right,
                      const uint8_t *sep, size_t sep_len) {
    node_insert_at(new_root, 0, sep, sep_len, child_word_now(left));
    node_set_upper(new_root, child_word_now(right));
    /* release: pairs with the acquire in tree_root; readers that find the new root
     * see it built. */
    atomic_store_explicit(&t->root, new_root, memory_order_release);
}

/* Lock parent (if any) and node for a structural change. On false nothing is held. */
static bool lock_pair(larch_btree *t, struct node *parent, uint64_t pv, struct node *node,
                      uint64_t v) {
    if (parent && !vlock_upgrade(&parent->lock, pv))
        return false;
    if (!vlock_upgrade(&node->lock, v)) {
        if (parent)
            vlock_unlock_unchanged(&parent->lock);
        return false;
    }
    /* Only the holder of the root's lock moves the root pointer. */
    if (!parent && tree_root(t) != node) {
        vlock_unlock_unchanged(&node->lock);
        return false;
    }
    return true;
}

static void unlock_pair(struct node *parent, struct node *node) {
    vlock_unlock(&node->lock);
    if (parent)
        vlock_unlock(&parent->lock);
}

/* After a write changed child (its hint now `hint`, read under its lock): if the
 * word `seen` that child's parent held for it when the descent read the parent at
 * version pv has drifted HINT_SLACK from that, store the new hint. The parent's
 * lock is taken only if its version is still pv, so the child is still at pos,
 * without waiting (else the hint stays stale until a later write), and released
 * unchanged: readers never validate a hint. The first and the upper child are
 * left alone: tree_child has no separator on one side of them to guess from (so
 * ascending inserts, which append to upper children, take no lock for hints).
 * A slotted parent's hints are kept too, though tree_child guesses in fixed-format
 * parents only: a rebuild may turn the parent fixed, and its hints go with it. */
static void hint_refresh(struct node *parent, uint64_t pv, unsigned pos, uint64_t seen,
                         struct node *child, unsigned hint) {
    /* The count read here is the one at pv if the upgrade below succeeds. */
    if (!parent || pos == 0 || pos >= node_count(parent))
        return;
    unsigned old = word_hint(seen);
    if (hint_drift(old, hint) < HINT_SLACK || !vlock_upgrade(&parent->lock, pv))
        return;
    node_set_entry_word(parent, pos, child_word(child, hint));
    vlock_unlock_unchanged(&parent->lock);
}

static void leaf_hint_refresh(const struct write_path *p, unsigned hint) {
    hint_refresh(p->parent, p->parent_version, p->parent_pos, p->leaf_word, p->leaf, hint);
}

/* After p's parent changed (its hint now `hint`): its own parent's hint for it. */
static void grand_hint_refresh(const struct write_path *p, unsigned hint) {
    hint_refresh(p->grand.node, p->grand.version, p->grand.pos, p->grand.word, p->parent, hint);
}

/* A separator the parent could not take: nothing changed, and the next descent
 * makes room for one that long. */
static int refused(struct spares *spares, struct node *right, struct node *parent,
                   struct node *node, size_t need) {
    spares_return(spares, right);
    if (need > spares->sep_need)
        spares->sep_need = need;
    vlock_unlock_unchanged(&node->lock);
    vlock_unlock_unchanged(&parent->lock);
    return PATH_RESTART;
}

/* Split a full inner node met on the way down. */
static int split_inner(larch_btree *t, struct node *parent, uint64_t pv, unsigned ppos,
                       struct node *node, uint64_t v, struct spares *spares) {
    if (!spares_fill(spares, parent ? 1 : 2))
        return PATH_ENOMEM;
    if (!lock_pair(t, parent, pv, node, v))
        return PATH_RESTART;
    unsigned level = meta_level(node_meta(node));
    uint8_t sep[NODE_KEY_BUF];
    struct node *right = spares_take(spares, level);
    size_t need, sep_len = node_split_inner(node, right, sep, parent, &need);
    if (!sep_len)
        return refused(spares, right, parent, node, need);
    if (parent)
        parent_link(parent, ppos, node, right, sep, sep_len);
    else
        grow_root(t, spares_take(spares, level + 1), node, right, sep, sep_len);
    unlock_pair(parent, node);
    return PATH_RESTART; /* descend again through the split node */
}

/* Whether inner node n keeps the room a split below may need. A slotted node keeps
 * room for a separator of any length. A fixed-format one (keys of one length L),
 * turned slotted by the first separator of another length, would have to stay half
 * empty to do the same: it keeps room for one more separator of length L, which is
 * what the keys below it give as long as they all have that length, and only
 * after a split below found a separator of another length it could not take (sep_need,
 * then the descent is made again) room for that one too, turned slotted. */
static bool inner_has_room(const struct node *n, size_t sep_need) {
    uint64_t m = node_meta(n);
    unsigned format = meta_format(m);
    if (!format)
        return node_has_room(n, LARCH_KEY_MAX);
    if (meta_count(m) >= NODE_FIXED_MAX)
        return false;
    return !sep_need || node_slotted_room(n, sep_need);
}

/* Descend for a write that may insert: full inner nodes are split on the way. */
static int descend_for_write(larch_btree *t, const struct search_key *k, struct write_path *p,
                             struct spares *spares) {
    struct node *node, *parent = NULL;
    uint64_t v, pv = 0, seen = 0;
    unsigned ppos = 0;
    struct leaf_parent grand = {NULL, 0, 0, 0, 0};
    if (!read_root(t, &node, &v))
        return PATH_RESTART;
    while (!node_is_leaf(node)) {
        if (!inner_has_room(node, spares->sep_need)) {
            if (!vlock_validate(&node->lock, v))
                return PATH_RESTART;
            return split_inner(t, parent, pv, ppos, node, v, spares);
        }
        unsigned count = node_count(node);
        unsigned pos = node_upper_bound(node, k);
        uint64_t word;
        struct node *child = tree_child(node, pos, count, k, &word);
        if (!vlock_validate(&node->lock, v))
            return PATH_RESTART;
        uint64_t cv;
        if (!vlock_read_begin(&child->lock, &cv) || !vlock_validate(&node->lock, v))
            return PATH_RESTART;
        grand = (struct leaf_parent){parent, pv, ppos, 0, seen};
        parent = node;
        pv = v;
        ppos = pos;
        seen = word;
        node = child;
        v = cv;
    }
    *p = (struct write_path){node, parent, v, pv, ppos, seen, grand};
    return PATH_OK;
}

/* Restart after a failed optimistic attempt: count it, and back off a little when
 * attempts keep failing so a preempted lock holder can finish. */
static void restart_wait(larch_btree *t, struct larch__backoff *b) {
    tree_count_restart(t);
    larch__backoff_wait(b);
}

/* Descend for a write and find k's position in its leaf, validated: PATH_OK with
 * *pos, *eq (the key is there) and *room (an insert of it fits). */
static int locate_for_write(larch_btree *t, const struct search_key *k, struct spares *spares,
                            struct write_path *p, unsigned *pos, bool *eq, bool *room) {
    int path = descend_for_write(t, k, p, spares);
    if (path != PATH_OK)
        return path;
    *pos = node_lower_bound(p->leaf, k, eq);
    *room = *eq || node_has_room(p->leaf, k->len);
    return vlock_validate(&p->leaf->lock, p->version) ? PATH_OK : PATH_RESTART;
}

/* Instead of splitting p's full leaf, insert (key, val) at pos by moving entries to
 * its right sibling, if that sibling is at most 3/4 full (node_redistribute_insert
 * decides whether both end with room to spare): random inserts then leave leaves
 * about 3/4 full instead of 2/3. The parent, the leaf and the sibling are locked,
 * in that order, without waiting (a split or merge of the sibling needs the
 * parent's lock); on false nothing changed. */
static bool redistribute_leaf(larch_btree *t, const struct write_path *p, unsigned pos,
                              const uint8_t *key, size_t len, uint64_t val) {
    struct node *parent = p->parent;
    unsigned pcount = node_count(parent);
    if (p->parent_pos >= pcount)
        return false; /* no right sibling under this parent */
    struct node *right = node_child(parent, p->parent_pos + 1, pcount);
    uint64_t rv;
    if (!vlock_validate(&parent->lock, p->parent_version) || !vlock_read_begin(&right->lock, &rv))
        return false;
    bool roomy = node_used(right) <= NODE_CAPACITY * 3 / 4;
    if (!vlock_validate(&right->lock, rv) || !roomy ||
        !lock_pair(t, parent, p->parent_version, p->leaf, p->version))
        return false;
    if (!vlock_upgrade(&right->lock, rv)) {
        vlock_unlock_unchanged(&p->leaf->lock);
        vlock_unlock_unchanged(&parent->lock);
        return false;
    }
    uint8_t sep[NODE_KEY_BUF];
    size_t need; /* a refused separator: the split that follows will meet it too */
    size_t sep_len =
        node_redistribute_insert(p->leaf, right, pos, key, len, val, sep, parent, &need);
    if (!sep_len) {
        vlock_unlock_unchanged(&right->lock);
        vlock_unlock_unchanged(&p->leaf->lock);
        vlock_unlock_unchanged(&parent->lock);
        return false;
    }
    node_remove_at(parent, p->parent_pos);
    node_insert_at(parent, p->parent_pos, sep, sep_len, child_word_now(p->leaf));
    node_set_child(parent, p->parent_pos + 1, pcount, child_word_now(right));
    unsigned parent_hint = node_hint(parent);
    vlock_unlock(&right->lock);
    unlock_pair(parent, p->leaf);
    grand_hint_refresh(p, parent_hint);
    return true;
}

/* Split p's full leaf, with its parent locked, inserting (key, val) at pos on the
 * way unless key is NULL (or move entries to its sibling instead). The memory is
 * taken before any lock. */
static int split_leaf(larch_btree *t, const struct write_path *p, struct spares *spares,
                      unsigned pos, const uint8_t *key, size_t len, uint64_t val) {
    if (key && p->parent && redistribute_leaf(t, p, pos, key, len, val))
        return PATH_OK;
    if (!spares_fill(spares, p->parent ? 1 : 2))
        return PATH_ENOMEM;
    if (!lock_pair(t, p->parent, p->parent_version, p->leaf, p->version))
        return PATH_RESTART;
    uint8_t sep[NODE_KEY_BUF];
    struct node *right = spares_take(spares, 0);
    size_t need,
        sep_len = node_split_leaf_insert(p->leaf, right, pos, key, len, val, sep, p->parent, &need);
    if (!sep_len)
        return refused(spares, right, p->parent, p->leaf, need);
    unsigned parent_hint = 0;
    if (p->parent) {
        parent_link(p->parent, p->parent_pos, p->leaf, right, sep, sep_len);
        parent_hint = node_hint(p->parent);
    } else {
        grow_root(t, spares_take(spares, 1), p->leaf, right, sep, sep_len);
    }
    unlock_pair(p->parent, p->leaf);
    grand_hint_refresh(p, parent_hint);
    return PATH_OK;
}

/* ---- reads --------------------------------------------------------------------- */

int larch_btree_get(larch_btree *t, const void *key, size_t len, uint64_t *val) {
    if (!t)
        return LARCH_EINVAL;
    int rc = larch__key_check(key, len);
    if (rc)
        return rc;
    struct search_key k;
    search_key_init(&k, key, len);
    struct larch__backoff backoff = {0};
    larch_epoch_pin();
    for (unsigned attempt = 0;; attempt++) {
        if (attempt >= TREE_OPTIMISTIC_ATTEMPTS) {
            struct node *leaf = tree_lock_leaf(t, &k, false, NULL, NULL, NULL, NULL, NULL, NULL);
            bool eq;
            unsigned pos = node_lower_bound(leaf, &k, &eq);
            if (eq && val)
                *val = node_entry_word(leaf, pos);
            vlock_unlock_unchanged(&leaf->lock);
            larch_epoch_unpin();
            return eq ? LARCH_OK : LARCH_NOTFOUND;
        }
        uint64_t v;
        struct node *leaf =
            tree_descend_to_leaf(t, &k, false, &v, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        if (leaf) {
            bool eq;
            unsigned pos = node_lower_bound(leaf, &k, &eq);
            uint64_t found = eq ? node_entry_word(leaf, pos) : 0;
            if (vlock_validate(&leaf->lock, v)) {
                larch_epoch_unpin();
                if (eq && val)
                    *val = found;
                return eq ? LARCH_OK : LARCH_NOTFOUND;
            }
        }
        restart_wait(t, &backoff);
    }
}

/* ---- writes -------------------------------------------------------------------- */

enum write_kind { WRITE_PUT, WRITE_INSERT, WRITE_CAS };

/* put, insert and cas: one descent, then either a change in place under the leaf's
 * lock or an insert, splitting the leaf (with its parent locked) if it is full. */
static int write_value(larch_btree *t, const void *key, size_t len, enum write_kind kind,
                       uint64_t expected, uint64_t val, uint64_t *out) {
    if (!t)
        return LARCH_EINVAL;
    int rc = larch__key_check(key, len);
    if (rc)
        return rc;
    struct search_key k;
    search_key_init(&k, key, len);
    struct spares spares = {{NULL, NULL}, 0};
    struct larch__backoff backoff = {0};
    larch_epoch_pin();
    for (;;) {
        struct write_path p;
        unsigned pos = 0;
        bool eq, room;
        int path = locate_for_write(t, &k, &spares, &p, &pos, &eq, &room);
        if (path == PATH_OK && !eq && kind == WRITE_CAS) {
            rc = LARCH_NOTFOUND;
            break;
        }
        if (path == PATH_OK && !room) {
            path = split_leaf(t, &p, &spares, pos, key, len, val);
            if (path == PATH_OK) {
                len_add(t, 1);
                rc = LARCH_OK;
                break;
            }
        } else if (path == PATH_OK && !vlock_upgrade(&p.leaf->lock, p.version)) {
            path = PATH_RESTART;
        }
        if (path == PATH_ENOMEM) {
            rc = LARCH_ENOMEM;
            break;
        }
        if (path == PATH_RESTART) {
            restart_wait(t, &backoff);
            continue;
        }
        if (eq) {
            uint64_t cur = node_entry_word(p.leaf, pos);
            if (out)
                *out = cur;
            if (kind == WRITE_PUT || (kind == WRITE_CAS && cur == expected)) {
                node_set_entry_word(p.leaf, pos, val);
                vlock_unlock(&p.leaf->lock);
            } else {
                vlock_unlock_unchanged(&p.leaf->lock);
            }
            rc = kind == WRITE_CAS && cur == expected ? LARCH_OK : LARCH_EXISTS;
        } else {
            node_insert_at(p.leaf, pos, key, len, val);
            unsigned hint = node_hint(p.leaf);
            vlock_unlock(&p.leaf->lock);
            leaf_hint_refresh(&p, hint);
            len_add(t, 1);
            rc = LARCH_OK;
        }
        break;
    }
    larch_epoch_unpin();
    spares_free(&spares);
    return rc;
}

int larch_btree_put(larch_btree *t, const void *key, size_t len, uint64_t val, uint64_t *old) {
    return write_value(t, key, len, WRITE_PUT, 0, val, old);
}

int larch_btree_insert(larch_btree *t, const void *key, size_t len, uint64_t val, uint64_t *cur) {
    return write_value(t, key, len, WRITE_INSERT, 0, val, cur);
}

int larch_btree_cas(larch_btree *t, const void *key, size_t len, uint64_t expected,
                    uint64_t desired, uint64_t *cur) {
    return write_value(t, key, len, WRITE_CAS, expected, desired, cur);
}

/* ---- deletes and merges --------------------------------------------------------- */

int larch_btree_del(larch_btree *t, const void *key, size_t len, uint64_t *old) {
    if (!t)
        return LARCH_EINVAL;
    int rc = larch__key_check(key, len);
    if (rc)
        return rc;
    struct search_key k;
    search_key_init(&k, key, len);
    struct larch__backoff backoff = {0};
    bool underfull = false;
    larch_epoch_pin();
    for (;;) {
        uint64_t v;
        struct leaf_parent parent = {NULL, 0, 0, 0, 0};
        struct node *leaf =
            tree_descend_to_leaf(t, &k, false, &v, NULL, NULL, NULL, NULL, NULL, NULL, &parent);
        if (!leaf) {
            restart_wait(t, &backoff);
            continue;
        }
        bool eq;
        unsigned pos = node_lower_bound(leaf, &k, &eq);
        if (!eq) {
            if (!vlock_validate(&leaf->lock, v)) {
                restart_wait(t, &backoff);
                continue;
            }
            rc = LARCH_NOTFOUND;
            break;
        }
        if (!vlock_upgrade(&leaf->lock, v)) {
            restart_wait(t, &backoff);
            continue;
        }
        if (old)
            *old = node_entry_word(leaf, pos);
        node_remove_at(leaf, pos);
        underfull = node_used(leaf) < MERGE_BELOW;
        unsigned hint = node_hint(leaf);
        vlock_unlock(&leaf->lock);
        hint_refresh(parent.node, parent.version, parent.pos, parent.word, leaf, hint);
        len_add(t, -1);
        rc = LARCH_OK;
        break;
    }
    if (underfull)
        tree_rebalance(t, &k);
    larch_epoch_unpin();
    return rc;
}

/* ---- update --------------------------------------------------------------------- */

int larch_btree_update(larch_btree *t, const void *key, size_t len, larch_update_fn fn, void *ctx) {
    if (!t || !fn)
        return LARCH_EINVAL;
    int rc = larch__key_check(key, len);
    if (rc)
        return rc;
    struct search_key k;
    search_key_init(&k, key, len);
    struct spares spares = {{NULL, NULL}, 0};
    struct larch__backoff backoff = {0};
    bool underfull = false;
    larch_epoch_pin();
    for (;;) {
        struct write_path p;
        unsigned pos = 0;
        bool eq, room;
        int path = locate_for_write(t, &k, &spares, &p, &pos, &eq, &room);
        /* fn may decide to insert: make room first, so that whatever it decides can
         * be carried out. */
        if (path == PATH_OK && !room) {
            path = split_leaf(t, &p, &spares, pos, NULL, 0, 0);
            if (path == PATH_OK)
                path = PATH_RESTART;
        } else if (path == PATH_OK && !vlock_upgrade(&p.leaf->lock, p.version)) {
            path = PATH_RESTART;
        }
        if (path == PATH_ENOMEM) {
            rc = LARCH_ENOMEM;
            break;
        }
        if (path == PATH_RESTART) {
            restart_wait(t, &backoff);
            continue;
        }
        uint64_t val = eq ? node_entry_word(p.leaf, pos) : 0;
        int action = fn(ctx, &val, eq);
        bool changed = true;
        if (action == LARCH_UPDATE_STORE && eq) {
            node_set_entry_word(p.leaf, pos, val);
        } else if (action == LARCH_UPDATE_STORE) {
            node_insert_at(p.leaf, pos, key, len, val);
            len_add(t, 1);
        } else if (action == LARCH_UPDATE_DELETE && eq) {
            node_remove_at(p.leaf, pos);
            underfull = node_used(p.leaf) < MERGE_BELOW;
            len_add(t, -1);
        } else {
            changed = false;
        }
        unsigned hint = node_hint(p.leaf);
        if (changed)
            vlock_unlock(&p.leaf->lock);
        else
            vlock_unlock_unchanged(&p.leaf->lock);
        leaf_hint_refresh(&p, hint);
        if (action != LARCH_UPDATE_KEEP && action != LARCH_UPDATE_STORE &&
            action != LARCH_UPDATE_DELETE)
            rc = LARCH_EINVAL;
        else
            rc = eq ? LARCH_OK : LARCH_NOTFOUND;
        break;
    }
    if (underfull)
        tree_rebalance(t, &k);
    larch_epoch_unpin();
    spares_free(&spares);
    return rc;
}
