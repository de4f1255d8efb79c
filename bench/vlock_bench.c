/* Version-lock costs: an optimistic read (begin + validate) and an exclusive
 * lock/unlock, on a private lock and on one lock shared by both threads. */
#include "common/vlock.h"

#include <stdlib.h>

#include "microbench.h"

static struct vlock shared_lock;

static void optimistic_read(long n, void *arg) {
    struct vlock *l = arg ? arg : &(struct vlock){0};
    long ok = 0;
    for (long i = 0; i < n; i++) {
        uint64_t v;
        if (vlock_read_begin(l, &v) && vlock_validate(l, v))
            ok++;
    }
    if (ok != n)
        abort(); /* nobody writes: every read validates */
}

static void lock_unlock(long n, void *arg) {
    struct vlock *l = arg ? arg : &(struct vlock){0};
    for (long i = 0; i < n; i++) {
        if (!vlock_lock(l))
            abort();
        vlock_unlock(l);
    }
}

static void row(const char *name, micro_body body, void *arg, long n, int repeat) {
    micro_row(name, micro_measure(body, arg, n, 1, repeat), micro_measure(body, arg, n, 2, repeat));
}

void vlock_bench(long n, int repeat) {
    vlock_init(&shared_lock);
    row("vlock optimistic read (private)", optimistic_read, NULL, n, repeat);
    row("vlock lock+unlock (private)", lock_unlock, NULL, n, repeat);
    row("vlock optimistic read (shared, no writer)", optimistic_read, &shared_lock, n, repeat);
    row("vlock lock+unlock (shared, contended)", lock_unlock, &shared_lock, n / 10, repeat);
}
