/* Keys: byte strings in memcmp order, the shorter first when one is a prefix of the
 * other. Helpers to compare them and to read them as big-endian words, so that a
 * comparison of 8 bytes is one integer comparison. */
#ifndef LARCH_COMMON_KEY_H
#define LARCH_COMMON_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

/* Validate a key argument: LARCH_OK, LARCH_EINVAL or LARCH_EKEYSIZE. */
static inline int larch__key_check(const void *key, size_t len) {
    if (!key && len)
        return LARCH_EINVAL;
    if (len > LARCH_KEY_MAX)
        return LARCH_EKEYSIZE;
    return LARCH_OK;
}

/* <0, 0, >0 as a is before, equal to, after b. */
static inline int larch__key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

/* A word as stored in memory, turned into the integer whose order is the order of
 * its bytes. */
static inline uint64_t larch__be64(uint64_t native) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return native;
#else
    return __builtin_bswap64(native);
#endif
}

/* Up to 8 bytes of p as a big-endian integer, zero-padded on the right. Loads of
 * fixed size (two overlapping ones for 4 to 7 bytes): a copy of n bytes compiles
 * to a byte loop, and every search key and bucket key goes through here. */
static inline uint64_t larch__load_be64(const uint8_t *p, size_t n) {
    uint64_t w = 0, tail = 0;
    if (n >= 8) {
        memcpy(&w, p, 8);
        return larch__be64(w);
    }
    if (n < 4) {
        if (n) /* p may be NULL for the empty key */
            memcpy(&w, p, n);
        return larch__be64(w);
    }
    memcpy(&w, p, 4);
    memcpy(&tail, p + n - 4, 4);
    return larch__be64(w) | larch__be64(tail) >> 8 * (n - 4);
}

/* The first 4 bytes of a key, big-endian, zero-padded: most comparisons of keys
 * that differ early are decided by this integer alone. */
static inline uint32_t larch__key_head(const uint8_t *key, size_t len) {
    return (uint32_t)(larch__load_be64(key, len < 4 ? len : 4) >> 32);
}

#endif /* LARCH_COMMON_KEY_H */
