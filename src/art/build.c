/* Building a subtree, unpublished, from sorted entries: what a bucket that is full
 * or meets a key of another length becomes. Keys of one length that fit go into
 * one bucket; otherwise an inner node takes their common prefix and branches on
 * the next byte, each group built the same way (lazy expansion generalised: a
 * group of one is a leaf). */
#include "art/bucket.h"
#include "common/alloc.h"

void art_free_subtree(uintptr_t w, bool leaves) {
    if (!w)
        return;
    if (art_is_leaf(w)) {
        if (leaves)
            larch__free(art_leaf_of(w));
        return;
    }
    struct art_node *n = art_node_of(w);
    if (n->kind != ART_BUCKET) {
        /* relaxed: nobody else reaches this subtree. */
        art_free_subtree(atomic_load_explicit(&n->end, memory_order_relaxed), leaves);
        uint8_t b;
        for (uintptr_t c = art_next_child(n, 0, 1, &b); c; c = art_next_child(n, b + 1, 1, &b)) {
            art_free_subtree(c, leaves);
            if (b == 255)
                break;
        }
    }
    art_node_free(n);
}

static bool one_length(const struct art_entry *e, unsigned n) {
    for (unsigned i = 1; i < n; i++)
        if (e[i].len != e[0].len)
            return false;
    return true;
}

static enum art_kind kind_for(unsigned children) {
    return children <= 4    ? ART_NODE4
           : children <= 16 ? ART_NODE16
           : children <= 48 ? ART_NODE48
                            : ART_NODE256;
}

/* The part of [from, from + n) that mark falls in, relative to from, or n. */
static unsigned mark_in(unsigned mark, unsigned from, unsigned n) {
    return mark >= from && mark - from < n ? mark - from : n;
}

static bool build_node(const struct art_entry *e, unsigned n, size_t depth, unsigned mark,
                       struct art_built *out);

bool art_build(const struct art_entry *e, unsigned n, size_t depth, unsigned mark,
               struct art_built *out) {
    if (n == 1) {
        struct art_leaf *l = art_leaf_new(e->key, e->len, e->value);
        if (!l)
            return false;
        out->word = art_leaf_word(l);
        if (mark == 0)
            out->value_slot = &l->value;
        return true;
    }
    if (n > ART_BUCKET_MAX || e[0].len > ART_BUCKET_KEY_MAX || !one_length(e, n))
        return build_node(e, n, depth, mark, out);
    struct art_bucket *b = art_bucket_new(art_bucket_cap_for(n), e[0].len);
    if (!b)
        return false;
    struct art_bucket_fill f;
    art_bucket_fill_begin(&f, b, n);
    for (unsigned i = 0; i < n; i++) {
        unsigned at = art_bucket_fill_entry(&f, larch__load_be64(e[i].key, e[i].len), e[i].value);
        if (i == mark)
            out->value_slot = art_bucket_value_slot(b, at);
    }
    art_bucket_fill_end(&f);
    out->word = (uintptr_t)b;
    return true;
}

/* n >= 2 distinct entries: an inner node over them. */
static bool build_node(const struct art_entry *e, unsigned n, size_t depth, unsigned mark,
                       struct art_built *out) {
    /* Sorted, so the common prefix of all is that of the first and the last. */
    const struct art_entry *first = &e[0], *last = &e[n - 1];
    size_t common = 0, shorter = first->len < last->len ? first->len : last->len;
    while (depth + common < shorter && first->key[depth + common] == last->key[depth + common])
        common++;
    size_t at = depth + common;                    /* where the node branches */
    unsigned start = first->len == at, groups = 0; /* the first may end here */
    for (unsigned i = start; i < n; i++)
        groups += i == start || e[i].key[at] != e[i - 1].key[at];
    struct art_node *node = art_node_new(kind_for(groups));
    if (!node)
        return false;
    art_set_prefix(node, first->key + depth, (uint32_t)common);
    if (start) {
        struct art_built end = {0};
        if (!art_build(e, 1, at, mark_in(mark, 0, 1), &end)) {
            art_free_subtree((uintptr_t)node, true);
            return false;
        }
        /* relaxed: the node is not shared yet (published with release). */
        atomic_store_explicit(&node->end, end.word, memory_order_relaxed);
        if (end.value_slot)
            out->value_slot = end.value_slot;
    }
    for (unsigned i = start; i < n;) {
        unsigned j = i + 1;
        while (j < n && e[j].key[at] == e[i].key[at])
            j++;
        struct art_built child = {0};
        if (!art_build(e + i, j - i, at + 1, mark_in(mark, i, j - i), &child)) {
            art_free_subtree((uintptr_t)node, true);
            return false;
        }
        art_add_child(node, e[i].key[at], child.word);
        if (child.value_slot)
            out->value_slot = child.value_slot;
        i = j;
    }
    out->word = (uintptr_t)node;
    return true;
}
