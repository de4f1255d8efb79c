/* Every allocation larch makes goes through these calls, so that tests can make the
 * n-th allocation from now fail and prove that each failure point leaves the
 * structure unchanged and leaks nothing. */
#ifndef LARCH_COMMON_ALLOC_H
#define LARCH_COMMON_ALLOC_H

#include <stddef.h>

void *larch__malloc(size_t size);
void *larch__calloc(size_t n, size_t size);
/* size is rounded up to a multiple of align, as aligned_alloc requires. */
void *larch__aligned_alloc(size_t align, size_t size);
void larch__free(void *p);

/* Test hook: make the allocation `after` calls from now fail (0: the very next one),
 * and every later one too if `sticky`; a negative `after` disarms. Process-wide. */
void larch__alloc_fail_at(long after, int sticky);
/* Number of larch allocations made by the calling thread, for tests that walk every
 * failure point of one operation. */
unsigned long larch__alloc_count(void);

#endif /* LARCH_COMMON_ALLOC_H */
