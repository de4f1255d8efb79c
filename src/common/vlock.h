/* The optimistic version lock both trees put in every node (Leis et al., "The ART
 * of Practical Synchronization", 2016): one 64-bit word holding a version counter,
 * a locked bit and an obsolete bit.
 *
 * Readers never write it: they take the version (vlock_read_begin), read the node
 * with relaxed atomic loads, and keep what they read only if vlock_validate says the
 * version has not moved. Writers upgrade the version they read with a CAS
 * (vlock_upgrade) or wait for the lock (vlock_lock), write with relaxed atomic
 * stores, and publish with vlock_unlock, which bumps the version. This is the
 * seqlock discipline; because every shared field is accessed atomically the code is
 * free of data races in the C11 sense (Boehm, "Can seqlocks get along with
 * programming language memory models?", 2012). */
#ifndef LARCH_COMMON_VLOCK_H
#define LARCH_COMMON_VLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"

#define VLOCK_OBSOLETE ((uint64_t)1) /* the node was unlinked; restart from the top */
#define VLOCK_LOCKED ((uint64_t)2)   /* a writer holds the node */
#define VLOCK_STEP ((uint64_t)4)     /* one version increment */

struct vlock {
    _Atomic uint64_t word;
};

/* For a node not yet visible to other threads. */
static inline void vlock_init(struct vlock *l) {
    atomic_init(&l->word, 0);
}

static inline bool vlock_is_locked(uint64_t version) {
    return (version & VLOCK_LOCKED) != 0;
}

static inline bool vlock_is_obsolete(uint64_t version) {
    return (version & VLOCK_OBSOLETE) != 0;
}

/* Out of line (vlock.c): the wait is the slow path. Returns the first unlocked
 * version seen, loaded with acquire. */
uint64_t larch__vlock_wait_unlocked(struct vlock *l, uint64_t version);

/* Begin an optimistic read. Stores the version to *version and returns true, or
 * returns false if the node is obsolete (the caller restarts). Waits while a writer
 * holds the node, spinning briefly and then yielding. */
static inline bool vlock_read_begin(struct vlock *l, uint64_t *version) {
    /* acquire: pairs with the release store in vlock_unlock; a reader that sees a
     * version sees every field written before that version was published. */
    uint64_t v = atomic_load_explicit(&l->word, memory_order_acquire);
    if (LARCH_UNLIKELY(vlock_is_locked(v)))
        v = larch__vlock_wait_unlocked(l, v);
    *version = v;
    return !vlock_is_obsolete(v);
}

/* True if nothing was written to the node since vlock_read_begin returned
 * `version`: every relaxed load made in between read a consistent snapshot. */
static inline bool vlock_validate(struct vlock *l, uint64_t version) {
    /* acquire fence: orders the relaxed data loads above before the version reload
     * below. If one of them read a value stored after a writer's vlock_upgrade, the
     * writer's release fence synchronises with this fence, so the reload sees the
     * locked (or a later) version and validation fails. */
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&l->word, memory_order_relaxed) == version;
}

/* Turn an optimistic read into the exclusive lock, if the version has not moved.
 * On false the caller restarts (the node changed, is locked, or is obsolete). */
static inline bool vlock_upgrade(struct vlock *l, uint64_t version) {
    if (vlock_is_locked(version) || vlock_is_obsolete(version))
        return false;
    /* acquire on success: pairs with the release in the previous vlock_unlock, so
     * the holder reads the node as its last writer left it. */
    if (!atomic_compare_exchange_strong_explicit(&l->word, &version, version | VLOCK_LOCKED,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    /* release fence: no store the holder makes from here on may become visible
     * before the locked version itself; pairs with the acquire fence in
     * vlock_validate (Linux's write_seqcount_begin uses smp_wmb for the same). */
    atomic_thread_fence(memory_order_release);
    return true;
}

/* Take the exclusive lock, waiting (spin, then yield) while another writer holds it.
 * Returns false if the node is or becomes obsolete. */
static inline bool vlock_lock(struct vlock *l) {
    for (;;) {
        uint64_t v;
        if (!vlock_read_begin(l, &v))
            return false;
        if (vlock_upgrade(l, v))
            return true;
    }
}

/* Release the exclusive lock and publish a new version. Only the holder writes the
 * word while it is locked (every CAS expects an unlocked value), so a plain store
 * suffices. */
static inline void vlock_unlock(struct vlock *l) {
    uint64_t v = atomic_load_explicit(&l->word, memory_order_relaxed);
    /* release: pairs with the acquire in vlock_read_begin/vlock_upgrade; whoever
     * sees the new version sees every store made under the lock. */
    atomic_store_explicit(&l->word, (v & ~VLOCK_LOCKED) + VLOCK_STEP, memory_order_release);
}

/* Release a lock under which nothing was written, restoring the version it was
 * taken at: optimistic readers of that version need not restart. */
static inline void vlock_unlock_unchanged(struct vlock *l) {
    uint64_t v = atomic_load_explicit(&l->word, memory_order_relaxed);
    /* release: orders the holder's reads before the release of the lock, as any
     * unlock must. */
    atomic_store_explicit(&l->word, v & ~VLOCK_LOCKED, memory_order_release);
}

/* Release the lock and mark the node obsolete: readers that reach it restart, and
 * it can be retired to the epoch collector. */
static inline void vlock_unlock_obsolete(struct vlock *l) {
    uint64_t v = atomic_load_explicit(&l->word, memory_order_relaxed);
    /* release: as in vlock_unlock. */
    atomic_store_explicit(&l->word, ((v & ~VLOCK_LOCKED) + VLOCK_STEP) | VLOCK_OBSOLETE,
                          memory_order_release);
}

#endif /* LARCH_COMMON_VLOCK_H */
