/* Keys for the B+ tree tests of fixed-format nodes. */
#ifndef LARCH_TESTS_BTREE_KEYS_H
#define LARCH_TESTS_BTREE_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* The low len bytes of n, big-endian (memcmp order is n's order), to out. */
static inline size_t be_key(uint64_t n, size_t len, unsigned char *out) {
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(n >> (8 * (len - 1 - i)));
    return len;
}

/* The i-th of a set of distinct pseudo-random 8-byte keys (an odd multiplier
 * permutes the integers). */
static inline uint64_t spread(uint64_t i) {
    return (i + 1) * 0x9e3779b97f4a7c15ull;
}

#endif /* LARCH_TESTS_BTREE_KEYS_H */
