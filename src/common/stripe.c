/* Stripe assignment for src/common/stripe.h. */
#include "common/stripe.h"

LARCH_TLS_IE unsigned larch__stripe_plus_one;

unsigned larch__stripe_assign(void) {
    static atomic_uint next_stripe;
    /* relaxed: any distinct-enough number will do; nothing is published by it. */
    unsigned s = atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) % LARCH_STRIPES;
    larch__stripe_plus_one = s + 1;
    return s;
}
