/* Per-thread stripes for counters that many writers bump (a tree's key count):
 * each thread adds to its own cache line, and a reader sums the lines. */
#ifndef LARCH_COMMON_STRIPE_H
#define LARCH_COMMON_STRIPE_H

#include <stdatomic.h>
#include <stddef.h>

#include "common/compiler.h"

#define LARCH_STRIPES 16

struct larch__stripe {
    _Atomic long value;
} __attribute__((aligned(LARCH_CACHE_PAD)));

/* The calling thread's stripe, 0..LARCH_STRIPES-1, assigned round-robin at its first
 * call (stripe.c). */
extern LARCH_TLS_IE unsigned larch__stripe_plus_one;
unsigned larch__stripe_assign(void);

static inline unsigned larch__thread_stripe(void) {
    unsigned s = larch__stripe_plus_one;
    return LARCH_LIKELY(s) ? s - 1 : larch__stripe_assign();
}

/* relaxed: a count, not a synchronisation; readers want a recent sum, no order. */
static inline void larch__stripes_add(struct larch__stripe *s, long delta) {
    atomic_fetch_add_explicit(&s[larch__thread_stripe()].value, delta, memory_order_relaxed);
}

/* The sum, clamped at 0: a reader racing writers may see one stripe's decrement
 * before another's increment. */
static inline size_t larch__stripes_sum(struct larch__stripe *s) {
    long sum = 0;
    for (unsigned i = 0; i < LARCH_STRIPES; i++)
        sum += atomic_load_explicit(&s[i].value, memory_order_relaxed);
    return sum > 0 ? (size_t)sum : 0;
}

#endif /* LARCH_COMMON_STRIPE_H */
