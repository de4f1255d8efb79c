/* The version lock's slow path: waiting for a writer to finish. */
#include "common/vlock.h"

#include "common/backoff.h"

uint64_t larch__vlock_wait_unlocked(struct vlock *l, uint64_t version) {
    struct larch__backoff backoff = {0};
    while (vlock_is_locked(version)) {
        larch__backoff_wait(&backoff);
        /* acquire: pairs with the release in vlock_unlock, so the reads that follow
         * see what the last holder wrote (as in vlock_read_begin). */
        version = atomic_load_explicit(&l->word, memory_order_acquire);
    }
    return version;
}
