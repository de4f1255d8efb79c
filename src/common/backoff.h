/* Spin-then-yield waiting. On 2 cores a lock holder that has been preempted cannot
 * release while we spin, so after a short spin the waiter gives its core away. */
#ifndef LARCH_COMMON_BACKOFF_H
#define LARCH_COMMON_BACKOFF_H

#include <sched.h>

#include "common/compiler.h"

/* Spins before the first yield: about a microsecond, longer than a typical
 * critical section of a tree node and shorter than a scheduling quantum. */
#define LARCH_SPIN_LIMIT 128

struct larch__backoff {
    unsigned spins;
};

static inline void larch__backoff_wait(struct larch__backoff *b) {
    if (b->spins < LARCH_SPIN_LIMIT) {
        b->spins++;
        larch__cpu_relax();
    } else {
        sched_yield();
    }
}

#endif /* LARCH_COMMON_BACKOFF_H */
