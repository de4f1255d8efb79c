/* heap.c: allocator statistics for bytes per key. glibc's mallinfo2 sums every
 * arena (each thread may have its own) and the chunks served by mmap; freed chunks
 * parked in a live thread's cache still count as in use, so measure after the
 * worker threads have exited. */
#include "heap.h"

#include <malloc.h>

size_t heap_in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}
