/* What the trees' iterators share: the key a seek starts from, and how many
 * entries their next batch may hold. */
#ifndef LARCH_COMMON_SEEK_KEY_H
#define LARCH_COMMON_SEEK_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

/* "" for a NULL key of length 0, NULL for a NULL key with a length (the seek ends
 * the iterator with LARCH_EINVAL), else the key itself, or a copy of it in scratch
 * (LARCH_KEY_MAX bytes) when it lies inside the iterator [self, self + size): the
 * caller passed back iter_key's pointer into the batch the seek is about to
 * overwrite. */
static inline const uint8_t *larch__seek_key(const void *self, size_t size, uint8_t *scratch,
                                             const void *key, size_t len) {
    if (!key)
        return len ? NULL : (const uint8_t *)"";
    uintptr_t p = (uintptr_t)key, s = (uintptr_t)self;
    if (p >= s && p < s + size && len <= LARCH_KEY_MAX) {
        memmove(scratch, key, len);
        return scratch;
    }
    return key;
}

/* The entries an iterator's next batch may hold after a batch of cap: twice as
 * many while it keeps moving the same way, up to max (a long pass walks the tree
 * seldom), back to min after a turn (a seek and a few moves copy little). */
static inline unsigned larch__iter_next_cap(unsigned cap, bool same_way, unsigned min,
                                            unsigned max) {
    if (!same_way)
        return min;
    return cap < max / 2 ? 2 * cap : max;
}

#endif /* LARCH_COMMON_SEEK_KEY_H */
