/* The allocation wrappers and the failure-injection hook behind them. The hook is a
 * countdown checked with one relaxed load per allocation when disarmed. */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "common/compiler.h"

/* < 0: disarmed; otherwise the number of allocations still allowed to succeed. */
static _Atomic long fail_countdown = -1;
static atomic_int fail_sticky;
static LARCH_TLS_IE unsigned long thread_alloc_count;

void larch__alloc_fail_at(long after, int sticky) {
    atomic_store_explicit(&fail_sticky, sticky, memory_order_relaxed);
    atomic_store_explicit(&fail_countdown, after, memory_order_relaxed);
}

unsigned long larch__alloc_count(void) {
    return thread_alloc_count;
}

static LARCH_COLD int injected_failure_slow(void) {
    long left = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (left > 0) {
        if (atomic_compare_exchange_weak_explicit(&fail_countdown, &left, left - 1,
                                                  memory_order_relaxed, memory_order_relaxed))
            return 0;
    }
    if (left < 0)
        return 0;
    if (!atomic_load_explicit(&fail_sticky, memory_order_relaxed))
        atomic_store_explicit(&fail_countdown, -1, memory_order_relaxed);
    return 1;
}

static inline int injected_failure(void) {
    thread_alloc_count++;
    if (LARCH_LIKELY(atomic_load_explicit(&fail_countdown, memory_order_relaxed) < 0))
        return 0;
    return injected_failure_slow();
}

void *larch__malloc(size_t size) {
    return injected_failure() ? NULL : malloc(size);
}

void *larch__calloc(size_t n, size_t size) {
    return injected_failure() ? NULL : calloc(n, size);
}

void *larch__aligned_alloc(size_t align, size_t size) {
    if (injected_failure())
        return NULL;
    size_t rounded = (size + align - 1) / align * align;
    if (rounded < size)
        return NULL;
    return aligned_alloc(align, rounded);
}

void larch__free(void *p) {
    free(p);
}
