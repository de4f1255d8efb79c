/* Version chains (chain.h): a singly linked list sorted by seq descending that only
 * ever grows. With no unlinking there is no ABA and nothing to reclaim: a writer
 * walks to the first link whose target is older than its version and CASes itself
 * in; if the CAS fails, a newer writer inserted at that very link, so the walk goes
 * on from there. */
#include "memtable/chain.h"

#include <string.h>

#include <larch/larch.h>

void version_init(struct mt_version *v, uint64_t seq, const void *val, size_t vlen,
                  bool tombstone) {
    atomic_init(&v->older, 0);
    v->seq = seq;
    v->vlen = tombstone ? VERSION_TOMBSTONE : (uint32_t)vlen;
    if (vlen)
        memcpy(v->value, val, vlen);
}

void record_init(struct mt_record *r, const void *key, size_t klen, struct mt_version *first) {
    atomic_init(&first->older, VERSION_LINK_RECORD); /* (first is not shared yet) */
    r->klen = (uint32_t)klen;
    if (klen)
        memcpy(r->key, key, klen);
    /* release: pairs with the acquire in record_newest; a reader that reaches the
     * record through the index and loads its chain head sees the key and the first
     * version whole, whatever the index's own ordering. */
    atomic_store_explicit(&r->newest, (uint64_t)(uintptr_t)first, memory_order_release);
}

const struct mt_record *record_of_chain(const struct mt_version *newest, size_t klen) {
    const struct mt_version *v = newest;
    for (;;) {
        /* acquire: as in version_older. */
        uint64_t link =
            atomic_load_explicit(&((struct mt_version *)v)->older, memory_order_acquire);
        if (link & VERSION_LINK_RECORD)
            return (const struct mt_record *)((const unsigned char *)v - record_size(klen));
        v = version_at(link);
    }
}

int chain_insert(struct mt_record *r, struct mt_version *v) {
    _Atomic uint64_t *link = &r->newest;
    /* acquire: pairs with the release CAS below (or record_init); the seqs read on
     * the walk are those of whole versions. */
    uint64_t word = atomic_load_explicit(link, memory_order_acquire);
    for (;;) {
        const struct mt_version *cur = version_at(word);
        while (cur && cur->seq > v->seq) {
            link = &((struct mt_version *)cur)->older;
            word = atomic_load_explicit(link, memory_order_acquire); /* as above */
            cur = version_at(word);
        }
        if (cur && cur->seq == v->seq)
            return LARCH_EXISTS;
        /* v is still private; it is never a key's first version here. */
        atomic_store_explicit(&v->older, (uint64_t)(uintptr_t)cur, memory_order_relaxed);
        /* The link keeps its own VERSION_LINK_RECORD bit. Success, release: publishes
         * v's seq, value and link to readers that load the link with acquire.
         * Failure, acquire: word becomes the version another writer just linked
         * here, seen whole, and the walk resumes at this link. */
        uint64_t with_v = (uint64_t)(uintptr_t)v | (word & VERSION_LINK_RECORD);
        if (atomic_compare_exchange_weak_explicit(link, &word, with_v, memory_order_release,
                                                  memory_order_acquire))
            return LARCH_OK;
    }
}

const struct mt_version *chain_visible(const struct mt_version *newest, uint64_t snapshot) {
    const struct mt_version *v = newest;
    while (v && v->seq > snapshot)
        v = version_older(v);
    return v;
}

const struct mt_version *chain_oldest_visible(const struct mt_version *newest, uint64_t snapshot) {
    const struct mt_version *v = newest, *older;
    while ((older = version_older(v)) != NULL)
        v = older;
    return v->seq <= snapshot ? v : NULL;
}

const struct mt_version *chain_newer(const struct mt_version *newest, const struct mt_version *v,
                                     uint64_t snapshot) {
    const struct mt_version *best = NULL;
    for (const struct mt_version *w = newest; w && w->seq > v->seq; w = version_older(w))
        if (w->seq <= snapshot)
            best = w;
    return best;
}
