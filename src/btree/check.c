/* larch_btree_check: walks the whole tree (no writer may run) and verifies every
 * structural invariant: node headers and slots in bounds, key heads matching the
 * keys, keys strictly ascending within each node and within the separators that
 * bound it, a fixed-format node's first and last keys in its header, children one
 * level below their parent, no reachable node locked or obsolete, and the key count. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btree/tree.h"

struct check {
    FILE *err;
    size_t keys;
    int status;
};

static void fail(struct check *c, const struct node *n, const char *fmt, ...) {
    if (c->status == LARCH_OK && c->err) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(c->err, "larch_btree_check: node %p: ", (const void *)n);
        vfprintf(c->err, fmt, ap);
        fputc('\n', c->err);
        va_end(ap);
    }
    c->status = LARCH_ECORRUPT;
}

struct bound {
    const uint8_t *key;
    size_t len;
    bool present;
};

static bool check_header(struct check *c, const struct node *n, unsigned level) {
    uint64_t version = atomic_load_explicit(&((struct node *)n)->lock.word, memory_order_relaxed);
    if (vlock_is_obsolete(version) || vlock_is_locked(version)) {
        fail(c, n, "reachable node is %s", vlock_is_obsolete(version) ? "obsolete" : "locked");
        return false;
    }
    uint64_t m = node_meta(n);
    unsigned count = meta_count(m), heap = meta_heap(m), dead = meta_dead(m);
    if (meta_level(m) != level) {
        fail(c, n, "level %u where %u was expected", meta_level(m), level);
        return false;
    }
    if (meta_format(m)) {
        if (meta_format(m) - 1 > NODE_FIXED_KEY_MAX || heap > NODE_FIXED_MAX ||
            count > NODE_FIXED_MAX - heap || dead != 0) {
            fail(c, n,
                 "fixed-format header out of bounds: level %u key length %u start %u count %u",
                 level, meta_format(m) - 1, heap, count);
            return false;
        }
        uint64_t first = count ? node_load(n, fixed_word(heap)) : 0;
        uint64_t last = count ? node_load(n, fixed_word(heap + count - 1)) : 0;
        if (node_load(n, 3) != first || node_load(n, 4) != last) {
            fail(c, n, "fixed-format header words 3 and 4 do not hold the first and last keys");
            return false;
        }
        if ((level == 0 && node_load(n, 2) != 0) || node_load(n, 5) != 0) {
            fail(c, n, "fixed-format header: word 2 (in a leaf) or word 5 is not zero");
            return false;
        }
        return true;
    }
    if (level == 0 && node_load(n, 2) != 0) {
        fail(c, n, "slotted leaf with a non-zero word 2");
        return false;
    }
    if (count > NODE_SLOTS_MAX || heap > NODE_SIZE || heap < (NODE_HEADER_WORDS + count) * 8 ||
        dead > NODE_SIZE - heap || node_used(n) > NODE_CAPACITY) {
        fail(c, n, "header out of bounds: count %u heap %u dead %u", count, heap, dead);
        return false;
    }
    return true;
}

static void check_node(struct check *c, const struct node *n, unsigned level, struct bound lo,
                       struct bound hi, int depth) {
    if (depth > 64) {
        fail(c, n, "tree deeper than 64 levels (a cycle?)");
        return;
    }
    if (!check_header(c, n, level))
        return;
    unsigned count = node_count(n);
    uint8_t prev[NODE_KEY_BUF], key[NODE_KEY_BUF];
    size_t prev_len = 0;
    unsigned format = meta_format(node_meta(n));
    for (unsigned i = 0; i < count; i++) {
        if (format) {
            /* The integer order is the key order only with zero padding. */
            unsigned len = format - 1;
            uint64_t w = node_load(n, fixed_entry_word(node_meta(n), i));
            if (len < 8 && (w & (~(uint64_t)0 >> len * 8)) != 0)
                fail(c, n, "fixed entry %u: key padding is not zero", i);
        } else {
            uint64_t s = node_slot(n, i);
            unsigned off = slot_off(s), len = slot_len(s);
            if (!slot_sane(s) || off < (NODE_HEADER_WORDS + count) * 8 ||
                off < meta_heap(node_meta(n))) {
                fail(c, n, "slot %u out of bounds (offset %u, length %u)", i, off, len);
                return;
            }
            uint8_t head_key[NODE_KEY_BUF], first[NODE_KEY_BUF];
            size_t head_len = node_key_copy(n, i, head_key);
            unsigned p = node_prefix_len(n);
            node_key_copy(n, 0, first);
            if (head_len < p || memcmp(head_key, first, p) != 0)
                fail(c, n, "slot %u: key does not begin with the node's prefix (%u bytes)", i, p);
            else if (node_load(n, 3) != node_prefix_word(first, p))
                fail(c, n, "the header's prefix word does not hold the first key's %u bytes", p);
            else if (slot_head(s) != larch__key_head(head_key + p, head_len - p))
                fail(c, n, "slot %u: key head does not match the key", i);
        }
        size_t klen = node_key_copy(n, i, key);
        if (i > 0 && larch__key_cmp(prev, prev_len, key, klen) >= 0)
            fail(c, n, "keys %u and %u are not in ascending order", i - 1, i);
        if (lo.present && larch__key_cmp(key, klen, lo.key, lo.len) < 0)
            fail(c, n, "key %u is below the separator that bounds the node", i);
        if (hi.present && larch__key_cmp(key, klen, hi.key, hi.len) >= 0)
            fail(c, n, "key %u is not below the separator that bounds the node", i);
        memcpy(prev, key, klen);
        prev_len = klen;
    }
    if (level == 0) {
        c->keys += count;
        return;
    }
    /* Child i holds [s_{i-1}, s_i); the upper child [s_{count-1}, hi). */
    uint8_t *seps = malloc((size_t)(count ? count : 1) * NODE_KEY_BUF);
    size_t *lens = malloc((size_t)(count ? count : 1) * sizeof *lens);
    if (!seps || !lens) {
        free(seps);
        free(lens);
        fail(c, n, "out of memory while checking");
        return;
    }
    for (unsigned i = 0; i < count; i++)
        lens[i] = node_key_copy(n, i, seps + (size_t)i * NODE_KEY_BUF);
    for (unsigned i = 0; i <= count && c->status == LARCH_OK; i++) {
        struct bound clo =
            i ? (struct bound){seps + (size_t)(i - 1) * NODE_KEY_BUF, lens[i - 1], true} : lo;
        struct bound chi =
            i < count ? (struct bound){seps + (size_t)i * NODE_KEY_BUF, lens[i], true} : hi;
        const struct node *child = node_child(n, i, count);
        if (!child) {
            fail(c, n, "child %u is NULL", i);
            break;
        }
        /* A hint may be stale, but it was once some fixed-format node's state. */
        unsigned hint = word_hint(node_child_word(n, i, count));
        if (hint_start(hint) + hint_count(hint) > NODE_FIXED_MAX) {
            fail(c, n, "child %u has hint start %u count %u", i, hint_start(hint),
                 hint_count(hint));
            break;
        }
        check_node(c, child, level - 1, clo, chi, depth + 1);
    }
    free(seps);
    free(lens);
}

int larch_btree_check(larch_btree *t, FILE *err) {
    if (!t)
        return LARCH_EINVAL;
    struct check c = {err, 0, LARCH_OK};
    larch_epoch_pin();
    const struct node *root = tree_root(t);
    check_node(&c, root, meta_level(node_meta(root)), (struct bound){0}, (struct bound){0}, 0);
    larch_epoch_unpin();
    if (c.status == LARCH_OK && c.keys != larch_btree_len(t)) {
        if (err)
            fprintf(err, "larch_btree_check: %zu keys in the leaves, but the count says %zu\n",
                    c.keys, larch_btree_len(t));
        c.status = LARCH_ECORRUPT;
    }
    return c.status;
}
