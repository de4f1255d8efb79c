/* What the trees need from the epoch collector beyond the public four calls. */
#ifndef LARCH_EPOCH_EPOCH_H
#define LARCH_EPOCH_EPOCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <larch/epoch.h>

/* Make sure the calling thread can retire at least LARCH_EPOCH_RESERVE_MAX objects
 * without allocating, so that a writer can take all its memory before it changes a
 * structure. LARCH_OK or LARCH_ENOMEM (nothing changed). */
#define LARCH_EPOCH_RESERVE_MAX 32
int larch__epoch_reserve(void);

/* A number that changes at every outermost pin of the calling thread and stays put
 * until it unpins: an iterator that copied values during generation g may hand them
 * out only while the generation is still g. 0 when the thread is not pinned. */
uint64_t larch__epoch_pin_generation(void);

/* For tests: thread records released by exited threads, waiting for reuse (a
 * thread that finds none allocates one). */
size_t larch__epoch_records_idle(void);

/* The global epoch, for tests. */
uint64_t larch__epoch_now(void);

#endif /* LARCH_EPOCH_EPOCH_H */
