/* Merging underfull nodes after deletes, so that deleting every key gives the
 * memory back. Best effort and after the delete itself: a merge that cannot take
 * its locks or its memory is skipped, never an error. Nodes merged away are marked
 * obsolete and retired to the epoch collector. */
#include "btree/tree.h"
#include "common/backoff.h"
#include "epoch/epoch.h"

/* Attempts (restarts and levels together) one rebalance makes. */
#define REBALANCE_TRIES 256

enum merge_result {
    MERGE_DONE,             /* nothing (more) to do at this level */
    MERGE_MERGED,           /* merged; the parent is not underfull */
    MERGE_PARENT_UNDERFULL, /* merged (or could not: single child); go up a level */
    MERGE_ROTATED,          /* moved a child between inner nodes; go back down */
    MERGE_RESTART,
};

static bool underfull(const struct node *n) {
    return node_used(n) < MERGE_BELOW || (!node_is_leaf(n) && node_count(n) == 0);
}

/* The root is an inner node with a single child: make the child the root, and
 * again while the new root is one too. */
static enum merge_result collapse_root(larch_btree *t, struct node *root, uint64_t v) {
    if (!vlock_upgrade(&root->lock, v))
        return MERGE_RESTART;
    for (;;) {
        if (larch__epoch_reserve() != LARCH_OK || tree_root(t) != root || node_is_leaf(root) ||
            node_count(root) != 0) {
            vlock_unlock_unchanged(&root->lock);
            return MERGE_DONE;
        }
        struct node *child = node_child(root, 0, 0);
        /* release: pairs with the acquire in tree_root. */
        atomic_store_explicit(&t->root, child, memory_order_release);
        vlock_unlock_obsolete(&root->lock);
        larch_epoch_retire(root, node_free);
        /* Only the holder of the root's lock moves the root pointer. */
        if (node_is_leaf(child) || !vlock_lock(&child->lock))
            return MERGE_DONE;
        root = child;
    }
}

/* An inner node left with a single child whose sibling is too full to merge with
 * (long separators): take the sibling's nearest child, so that the lone child has a
 * sibling to merge with below. All three nodes are locked. False if the parent has
 * no room for the separator that moves up (then nothing changed). */
static bool rotate_child(struct node *parent, unsigned sep_index, struct node *node,
                         struct node *sibling, bool sibling_is_right, const uint8_t *sep,
                         size_t sep_len) {
    uint8_t up[NODE_KEY_BUF];
    uint64_t moved;
    unsigned scount = node_count(sibling);
    size_t up_len = node_entry_copy(sibling, sibling_is_right ? 0 : scount - 1, up, &moved);
    if (!node_has_room(parent, up_len))
        return false;
    if (sibling_is_right) {
        /* node [prev, sep) = [(sep, its child)] + upper: the sibling's first child,
         * [sep, s0); s0 goes up. */
        node_insert_at(node, 0, sep, sep_len, node_load(node, 2));
        node_set_upper(node, moved);
        node_remove_at(sibling, 0);
        node_remove_at(parent, sep_index);
        node_insert_at(parent, sep_index, up, up_len, child_word_now(node));
    } else {
        /* node [sep, next) gains the sibling's upper child [s_last, sep) in front;
         * the sibling's last child becomes its upper; s_last goes up. */
        node_insert_at(node, 0, sep, sep_len, node_load(sibling, 2));
        node_remove_at(sibling, scount - 1);
        node_set_upper(sibling, moved);
        node_remove_at(parent, sep_index);
        node_insert_at(parent, sep_index, up, up_len, child_word_now(sibling));
    }
    return true;
}

/* Merge the node at `level` on the path of k with a sibling, if it is underfull. */
static enum merge_result merge_at(larch_btree *t, const struct search_key *k, unsigned level) {
    struct node *node = tree_root(t), *parent = NULL;
    uint64_t v, pv = 0;
    unsigned ppos = 0;
    if (!vlock_read_begin(&node->lock, &v) || tree_root(t) != node)
        return MERGE_RESTART;
    while (meta_level(node_meta(node)) > level) {
        unsigned count = node_count(node);
        unsigned pos = node_upper_bound(node, k);
        struct node *child = node_child(node, pos, count);
        if (!vlock_validate(&node->lock, v))
            return MERGE_RESTART;
        uint64_t cv;
        if (!vlock_read_begin(&child->lock, &cv) || !vlock_validate(&node->lock, v))
            return MERGE_RESTART;
        parent = node;
        pv = v;
        ppos = pos;
        node = child;
        v = cv;
    }
    bool needed = meta_level(node_meta(node)) == level && underfull(node);
    if (!vlock_validate(&node->lock, v))
        return MERGE_RESTART;
    if (!needed)
        return MERGE_DONE;
    if (!parent)
        return level > 0 ? collapse_root(t, node, v) : MERGE_DONE;

    unsigned pcount = node_count(parent);
    if (pcount == 0)
        return vlock_validate(&parent->lock, pv) ? MERGE_PARENT_UNDERFULL : MERGE_RESTART;
    unsigned sep_index = ppos < pcount ? ppos : ppos - 1;
    struct node *sibling = node_child(parent, ppos < pcount ? ppos + 1 : ppos - 1, pcount);
    if (!vlock_validate(&parent->lock, pv))
        return MERGE_RESTART;
    if (larch__epoch_reserve() != LARCH_OK)
        return MERGE_DONE;

    if (!vlock_upgrade(&parent->lock, pv))
        return MERGE_RESTART;
    if (!vlock_upgrade(&node->lock, v)) {
        vlock_unlock_unchanged(&parent->lock);
        return MERGE_RESTART;
    }
    /* A sibling is reached only through the parent we hold, so it cannot be merged
     * away meanwhile; its holder (an insert, an update's fn) does not wait for us. */
    if (!vlock_lock(&sibling->lock)) {
        vlock_unlock_unchanged(&node->lock);
        vlock_unlock_unchanged(&parent->lock);
        return MERGE_RESTART;
    }
    struct node *left = ppos < pcount ? node : sibling;
    struct node *right = ppos < pcount ? sibling : node;
    uint8_t sep[NODE_KEY_BUF];
    size_t sep_len = node_key_copy(parent, sep_index, sep);
    unsigned combined = node_used(left) + node_used(right);
    bool one_empty = node_count(left) == 0 || node_count(right) == 0;
    if (!node_can_merge(left, right, sep_len) || (!one_empty && combined > MERGE_UP_TO)) {
        if (!node_is_leaf(node) && node_count(node) == 0 && node_count(sibling) > 0 &&
            rotate_child(parent, sep_index, node, sibling, ppos < pcount, sep, sep_len)) {
            vlock_unlock(&sibling->lock);
            vlock_unlock(&node->lock);
            vlock_unlock(&parent->lock);
            return MERGE_ROTATED;
        }
        vlock_unlock_unchanged(&sibling->lock);
        vlock_unlock_unchanged(&node->lock);
        vlock_unlock_unchanged(&parent->lock);
        return MERGE_DONE;
    }
    node_merge(left, right, sep, sep_len);
    /* The parent's entry for left goes; the pointer that followed it (to right)
     * now points to left. */
    node_remove_at(parent, sep_index);
    node_set_child(parent, sep_index, pcount - 1, child_word_now(left));
    vlock_unlock(&left->lock);
    vlock_unlock_obsolete(&right->lock);
    larch_epoch_retire(right, node_free);

    bool parent_underfull = underfull(parent);
    vlock_unlock(&parent->lock);
    return parent_underfull ? MERGE_PARENT_UNDERFULL : MERGE_MERGED;
}

void tree_rebalance(larch_btree *t, const struct search_key *k) {
    struct larch__backoff backoff = {0};
    unsigned level = 0;
    /* Merging inner nodes makes their children neighbours: once something changed
     * above the leaves, the path is walked again from the bottom, so that empty
     * nodes left behind by earlier, blocked merges are merged too. */
    bool changed_above = false;
    for (unsigned tries = 0; tries < REBALANCE_TRIES; tries++) {
        switch (merge_at(t, k, level)) {
        case MERGE_DONE:
        case MERGE_MERGED:
            if (level == 0 || !changed_above)
                return;
            changed_above = false;
            level = 0;
            break;
        case MERGE_PARENT_UNDERFULL:
            changed_above |= level > 0;
            level++;
            break;
        case MERGE_ROTATED:
            level = 0; /* the lone child below now has a sibling to merge with */
            break;
        case MERGE_RESTART:
            tree_count_restart(t);
            larch__backoff_wait(&backoff);
            break;
        }
    }
}
