/* larch/epoch.h: epoch-based memory reclamation.
 *
 * The trees use it to free nodes no reader can still see; users use it the same way
 * for objects whose pointers they store as values. A reader pins, reads, unpins; a
 * writer that unlinks an object retires it, and the object's destructor runs once
 * every section that was pinned at that moment has ended. Threads are registered
 * automatically on first use and released at thread exit. */
#ifndef LARCH_EPOCH_H
#define LARCH_EPOCH_H

#include <larch/larch.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Enter a read-side section. Sections nest: only the outermost unpin ends one.
 * While pinned, nothing retired after the section began is freed, and neither is
 * any value a tree handed out during it. Cost: one atomic exchange on a per-thread
 * record (no shared cache line is written). */
LARCH_API void larch_epoch_pin(void);

/* Leave a read-side section. The outermost unpin may run expired retirements (of
 * any thread) before it returns. Unpinning a thread that is not pinned does nothing. */
LARCH_API void larch_epoch_unpin(void);

/* Arrange for fn(ptr) to run exactly once, after every section that was open at the
 * time of the call (on any thread) has ended. It runs at some thread's outermost
 * unpin, inside larch_epoch_barrier, or at a thread's exit; a retire made outside any
 * section is itself such a (trivial) section. fn may call larch_epoch_retire and
 * nothing else of larch. fn == NULL does nothing. The call never fails: if memory
 * for its bookkeeping runs out it waits for memory rather than lose the object. */
LARCH_API void larch_epoch_retire(void *ptr, void (*fn)(void *));

/* Run every retirement made before this call, by any thread, including threads that
 * are idle or have exited, waiting for pinned sections to end. When it returns,
 * every such fn has returned. Must not be called while the calling thread is pinned
 * (it then returns at once and does nothing), nor from a callback. */
LARCH_API void larch_epoch_barrier(void);

#ifdef __cplusplus
}
#endif

#endif /* LARCH_EPOCH_H */
