/* heap.h: how much the heap holds, for bytes per key. */
#ifndef LARCH_BENCH_HEAP_H
#define LARCH_BENCH_HEAP_H

#include <stddef.h>

/* Bytes handed out by malloc and not yet freed, over every arena (glibc's
 * mallinfo2: in-use arena bytes plus mmapped chunks). Not RSS: it counts what the
 * program holds, not what the kernel has mapped. */
size_t heap_in_use(void);

#endif /* LARCH_BENCH_HEAP_H */
