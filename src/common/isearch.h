/* Searching sorted integer keys by position, as the B+ tree's fixed-format leaves
 * and the ART's leaf buckets do: a guess interpolated between the first and the
 * last key (off by a few positions for keys spread evenly, random or dense), a
 * gallop outwards from it, then branch-free halving. However the keys are spread
 * this costs at most about twice the probes of halving alone, and for even keys
 * the guess's line (which the caller prefetches with its neighbours) is nearly
 * always the answer's.
 *
 * The caller gives the order through before(ctx, p): whether the key at position p
 * comes before the target. These functions are always inlined, so a constant
 * `before` becomes the caller's own comparison, as if the loop were written there.
 * Reads may be optimistic and torn: every position handed to `before` is in
 * [0, count), whatever the keys say. */
#ifndef LARCH_COMMON_ISEARCH_H
#define LARCH_COMMON_ISEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"

typedef bool (*larch__before_fn)(const void *ctx, unsigned p);

/* Where target falls among count (>= 1) positions whose keys run from first to
 * last, as if they were spread evenly: an index in [0, count) for any words. */
static inline unsigned larch__isearch_guess(uint64_t first, uint64_t last, unsigned count,
                                            uint64_t target) {
    if (target <= first)
        return 0;
    if (target >= last)
        return count - 1;
    double f = (double)(target - first) / (double)(last - first); /* in (0, 1) */
    unsigned g = (unsigned)(f * (double)(count - 1) + 0.5);
    return g < count ? g : count - 1;
}

/* The number of positions in [base, base + count) before the target, by halving
 * without branches: the next probe never waits on a mispredicted one. */
static LARCH_ALWAYS_INLINE unsigned larch__isearch_halve(larch__before_fn before, const void *ctx,
                                                         unsigned base, unsigned count) {
    if (count == 0)
        return 0;
    unsigned start = base;
    while (count > 1) {
        unsigned half = count / 2;
        /* A mask, not a branch: gcc turns the plain conditional into a jump. */
        base += half & (0u - (unsigned)before(ctx, base + half));
        count -= half;
    }
    return base - start + before(ctx, base);
}

/* The first of count positions not before the target, starting from the guess g
 * (< count): gallop outwards in doubling steps until the target is bracketed,
 * then halve. */
static LARCH_ALWAYS_INLINE unsigned larch__isearch_from(larch__before_fn before, const void *ctx,
                                                        unsigned g, unsigned count) {
    unsigned lo, hi; /* the answer is in [lo, hi] */
    if (before(ctx, g)) {
        lo = g + 1;
        hi = count;
        for (unsigned step = 1;; step *= 2) {
            unsigned p = lo - 1 + step;
            if (p >= hi)
                break;
            if (!before(ctx, p)) {
                hi = p;
                break;
            }
            lo = p + 1;
        }
    } else {
        lo = 0;
        hi = g;
        for (unsigned step = 1; hi >= lo + step; step *= 2) {
            unsigned p = hi - step;
            if (before(ctx, p)) {
                lo = p + 1;
                break;
            }
            hi = p;
        }
    }
    return lo + larch__isearch_halve(before, ctx, lo, hi - lo);
}

#endif /* LARCH_COMMON_ISEARCH_H */
