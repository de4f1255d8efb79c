/* Reading a node's compressed path: the stored bytes, then (for long prefixes) the
 * rest from any leaf below the node, which carries the node's whole path. */
#include <string.h>

#include "art/tree.h"

/* A prefix from a torn read can claim any length; a real one ends inside a key. */
static bool prefix_len_sane(size_t depth, uint32_t plen) {
    return depth + plen <= LARCH_KEY_MAX;
}

/* Every load here is relaxed: an optimistic read the caller validates against the
 * node's version (or makes under its lock). */
uint32_t art_prefix_mismatch(struct art_node *n, const uint8_t *key, size_t len, size_t depth,
                             bool full, int *order, bool *torn) {
    uint32_t plen = art_prefix_len(n);
    if (!prefix_len_sane(depth, plen)) {
        *torn = true;
        return 0;
    }
    uint64_t stored = atomic_load_explicit(&n->prefix, memory_order_relaxed);
    size_t avail = len - depth; /* key bytes left; depth <= len always */
    uint32_t limit = plen < avail ? plen : (uint32_t)avail;
    struct art_leaf *leaf = NULL;
    for (uint32_t i = 0; i < limit; i++) {
        uint8_t p;
        if (i < ART_PREFIX_STORED) {
            p = (uint8_t)(stored >> (8 * i));
        } else if (!full) {
            return limit; /* optimistic: unstored bytes are checked at the leaf */
        } else {
            if (!leaf && (!(leaf = art_any_leaf(n)) || leaf->len < depth + plen)) {
                *torn = true;
                return 0;
            }
            p = leaf->key[depth + i];
        }
        if (p != key[depth + i]) {
            if (order)
                *order = p < key[depth + i] ? -1 : 1;
            return i;
        }
    }
    if (order) /* a key that ends inside the prefix is below it */
        *order = limit < plen;
    return limit;
}

bool art_prefix_bytes(struct art_node *n, size_t depth, uint8_t *out) {
    uint32_t plen = art_prefix_len(n);
    if (!prefix_len_sane(depth, plen))
        return false;
    uint64_t stored = atomic_load_explicit(&n->prefix, memory_order_relaxed);
    uint32_t i = 0;
    for (; i < plen && i < ART_PREFIX_STORED; i++)
        out[i] = (uint8_t)(stored >> (8 * i));
    if (i == plen)
        return true;
    struct art_leaf *leaf = art_any_leaf(n);
    if (!leaf || leaf->len < depth + plen)
        return false;
    memcpy(out + i, leaf->key + depth + i, plen - i);
    return true;
}
