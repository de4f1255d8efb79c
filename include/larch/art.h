/* larch/art.h: a concurrent Adaptive Radix Tree with optimistic lock coupling
 * (Leis et al., ICDE 2013 and DaMoN 2016): Node4/16/48/256, path compression, lazy
 * expansion, and nodes that shrink and fold back into their parents as keys go.
 * The same calls, with the same guarantees, as larch/btree.h.
 *
 * Keys are byte strings of 0..LARCH_KEY_MAX bytes in memcmp order (the shorter
 * first when one is a prefix of the other); values are 64-bit words, often pointers
 * to objects retired through larch/epoch.h. Readers take no locks and write no
 * shared memory; writers lock only the nodes they change. Every call is safe from
 * any number of threads at once, except that larch_art_free must not race with
 * anything and larch_art_check must not race with writers. */
#ifndef LARCH_ART_H
#define LARCH_ART_H

#include <larch/larch.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct larch_art larch_art;

/* A new, empty tree; NULL only if memory runs out. */
LARCH_API larch_art *larch_art_new(void);
/* Frees the tree and every node (values are the caller's). NULL is a no-op. Free
 * every iterator first; no other call on the tree may be running. */
LARCH_API void larch_art_free(larch_art *t);

/* Upsert. LARCH_OK: the key was absent and is now inserted. LARCH_EXISTS: it was
 * present and its value is replaced; the previous value is stored to *old if old is
 * not NULL. Errors: LARCH_EINVAL (t NULL, or key NULL with len > 0), LARCH_EKEYSIZE
 * (len > LARCH_KEY_MAX), LARCH_ENOMEM (the tree is unchanged). */
LARCH_API int larch_art_put(larch_art *t, const void *key, size_t len, uint64_t val, uint64_t *old);

/* Insert only if absent. LARCH_OK: inserted. LARCH_EXISTS: present, nothing changed;
 * the present value is stored to *cur if cur is not NULL. Errors as for put. */
LARCH_API int larch_art_insert(larch_art *t, const void *key, size_t len, uint64_t val,
                               uint64_t *cur);

/* LARCH_OK with the value in *val (if val is not NULL), or LARCH_NOTFOUND. */
LARCH_API int larch_art_get(larch_art *t, const void *key, size_t len, uint64_t *val);

/* LARCH_OK: removed, its value stored to *old if old is not NULL. LARCH_NOTFOUND. */
LARCH_API int larch_art_del(larch_art *t, const void *key, size_t len, uint64_t *old);

/* Compare-and-swap one value. LARCH_OK: it was `expected`, now `desired`.
 * LARCH_EXISTS: present with another value (stored to *cur if cur is not NULL),
 * unchanged. LARCH_NOTFOUND: absent, unchanged. */
LARCH_API int larch_art_cas(larch_art *t, const void *key, size_t len, uint64_t expected,
                            uint64_t desired, uint64_t *cur);

/* Atomic read-modify-write of one key. fn runs exactly once, while no other writer
 * can change the key, with *val = the current value (0 if absent) and present = 1
 * or 0; it returns LARCH_UPDATE_KEEP, LARCH_UPDATE_STORE (store *val, inserting if
 * absent) or LARCH_UPDATE_DELETE (remove if present). Every lock and allocation any
 * outcome needs is taken before fn runs, so its decision is always carried out; if
 * update returns an error, fn was not called. fn runs under a node lock and pinned:
 * it may call only larch_epoch_retire/pin/unpin and must return normally.
 * Returns LARCH_OK if the key was present before the call, LARCH_NOTFOUND if not,
 * LARCH_EINVAL if fn returned anything else (nothing changed), or an error. */
LARCH_API int larch_art_update(larch_art *t, const void *key, size_t len, larch_update_fn fn,
                               void *ctx);

/* Calls fn for the keys in [lo, hi) in ascending order; hi == NULL means no upper
 * bound (bounds may be longer than LARCH_KEY_MAX). fn returns 0 to go on, non-zero
 * to stop; it runs pinned and holding no lock, may read or write other structures,
 * but must not write this tree, call larch_epoch_barrier or free anything of larch.
 * Returns the number of calls made (the stopping call included) or an error. */
LARCH_API long larch_art_scan(larch_art *t, const void *lo, size_t lolen, const void *hi,
                              size_t hilen, larch_scan_fn fn, void *ctx);

/* Number of keys: exact when no writer runs, approximate (never below 0) otherwise. */
LARCH_API size_t larch_art_len(larch_art *t);
/* Inner-node levels on the longest path from the root (leaves not counted): 1 for
 * an empty tree or one whose keys all hang from the root. Walks the whole tree. */
LARCH_API int larch_art_height(larch_art *t);
/* Checks every structural invariant: LARCH_OK, or LARCH_ECORRUPT with a description
 * written to err (if not NULL). Must not run concurrently with writers. */
LARCH_API int larch_art_check(larch_art *t, FILE *err);

/* Iterators, LevelDB/RocksDB style. An iterator holds no lock and blocks neither
 * writers nor reclamation between calls. Within one pass in one direction keys come
 * strictly in order, each at most once; a key present for the whole pass is
 * returned; a key never present is never returned; each value was the key's value
 * at some moment during the pass. If the thread is pinned when a move returns, the
 * value it returned stays protected until that pin ends. One iterator must not be
 * used by two threads at once (it may move between threads). */
typedef struct larch_art_iter larch_art_iter;
/* NULL only if memory runs out (or t is NULL). */
LARCH_API larch_art_iter *larch_art_iter_new(larch_art *t);
LARCH_API void larch_art_iter_free(larch_art_iter *it);
/* Position at the first key >= key (seek) or the last key <= key (seek_for_prev). */
LARCH_API void larch_art_iter_seek(larch_art_iter *it, const void *key, size_t len);
LARCH_API void larch_art_iter_seek_for_prev(larch_art_iter *it, const void *key, size_t len);
LARCH_API void larch_art_iter_seek_first(larch_art_iter *it);
LARCH_API void larch_art_iter_seek_last(larch_art_iter *it);
/* 1 if positioned on an entry. */
LARCH_API int larch_art_iter_valid(const larch_art_iter *it);
/* Move to the next / previous key; an invalid iterator stays invalid. */
LARCH_API void larch_art_iter_next(larch_art_iter *it);
LARCH_API void larch_art_iter_prev(larch_art_iter *it);
/* The current key (valid until the next move or free) and value; NULL (len 0) and 0
 * on an invalid iterator. */
LARCH_API const void *larch_art_iter_key(const larch_art_iter *it, size_t *len);
LARCH_API uint64_t larch_art_iter_value(const larch_art_iter *it);
/* LARCH_OK, or the error (e.g. LARCH_ENOMEM) that made the last move end invalid. */
LARCH_API int larch_art_iter_status(const larch_art_iter *it);

#ifdef __cplusplus
}
#endif

#endif /* LARCH_ART_H */
