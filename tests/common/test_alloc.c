/* The failure-injection hook every allocation goes through. */
#include "common/alloc.h"

#include "harness.h"

static void disarmed_hook_lets_allocations_through(void) {
    larch__alloc_fail_at(-1, 0);
    void *p = larch__malloc(16);
    CHECK(p != NULL);
    larch__free(p);
}

static void nth_allocation_fails_once(void) {
    larch__alloc_fail_at(2, 0);
    void *a = larch__malloc(8), *b = larch__calloc(1, 8), *c = larch__malloc(8);
    void *d = larch__aligned_alloc(64, 8);
    CHECK(a != NULL);
    CHECK(b != NULL);
    CHECK(c == NULL);
    CHECK(d != NULL);
    CHECK(((uintptr_t)d & 63) == 0);
    larch__free(a), larch__free(b), larch__free(d);
}

static void sticky_failure_fails_every_later_allocation(void) {
    larch__alloc_fail_at(0, 1);
    for (int i = 0; i < 10; i++)
        CHECK(larch__malloc(8) == NULL);
    larch__alloc_fail_at(-1, 0);
    void *p = larch__malloc(8);
    CHECK(p != NULL);
    larch__free(p);
}

static void allocations_are_counted_per_thread(void) {
    unsigned long before = larch__alloc_count();
    larch__free(larch__malloc(1));
    larch__free(larch__calloc(1, 1));
    CHECK_EQ(larch__alloc_count() - before, 2);
}

int main(void) {
    RUN(disarmed_hook_lets_allocations_through);
    RUN(nth_allocation_fails_once);
    RUN(sticky_failure_fails_every_later_allocation);
    RUN(allocations_are_counted_per_thread);
    return harness_finish();
}
