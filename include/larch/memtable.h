/* larch/memtable.h: an MVCC memtable, the in-memory write buffer of an LSM storage
 * engine (LevelDB/RocksDB semantics).
 *
 * Every write adds a version (key, seq, value bytes or tombstone); nothing is ever
 * overwritten or removed, and everything lives until the memtable is freed. A read
 * at snapshot S sees, for each key, the version with the greatest seq <= S. Writers
 * on many threads may publish sequence numbers out of order (seq 11 before seq 10):
 * every version still lands in its place. Readers and iterators take no locks and
 * run alongside writers. Each user key is indexed once, by default in larch's ART
 * (larch_memtable_new_btree picks the B+ tree instead); entries live in a per-memtable arena
 * sharded per CPU, so freeing the memtable releases everything at once.
 *
 * Every call is safe from any number of threads at once, except that
 * larch_memtable_free must not race with anything on the same memtable (free every
 * iterator first), and one iterator must not be used by two threads at once (it
 * may move between threads). No thread registration is required. */
#ifndef LARCH_MEMTABLE_H
#define LARCH_MEMTABLE_H

#include <larch/larch.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct larch_memtable larch_memtable;

/* A new, empty memtable over the default index; NULL only if memory runs out. */
LARCH_API larch_memtable *larch_memtable_new(void);
/* The same over larch's B+ tree (larch/btree.h) or ART (larch/art.h), whatever the
 * default is. */
LARCH_API larch_memtable *larch_memtable_new_btree(void);
LARCH_API larch_memtable *larch_memtable_new_art(void);
/* Frees the memtable, its index and every version at once; every pointer it handed
 * out (values, iterator keys) dies with it. NULL is a no-op. Free every iterator
 * first; no other call on the memtable may be running. */
LARCH_API void larch_memtable_free(larch_memtable *m);

/* Adds the version (key, seq) holding the vlen bytes at val (copied). A zero-length
 * value is a value, not a tombstone; val may be NULL only when vlen is 0.
 * LARCH_OK: added. LARCH_EXISTS: the memtable already holds (key, seq), as a value
 * or a tombstone; nothing changed. Errors: LARCH_EINVAL (m NULL, key NULL with
 * klen > 0, val NULL with vlen > 0, or vlen >= 4 GiB - 1), LARCH_EKEYSIZE
 * (klen > LARCH_KEY_MAX), LARCH_ENOMEM (nothing was added). Any seq is valid,
 * UINT64_MAX included; seqs need not arrive in order. */
LARCH_API int larch_memtable_put(larch_memtable *m, const void *key, size_t klen, uint64_t seq,
                                 const void *val, size_t vlen);

/* Adds a tombstone for key at seq: reads at snapshots >= seq that reach it see the
 * key deleted. LARCH_OK, LARCH_EXISTS ((key, seq) is already present, as a value
 * or a tombstone; nothing changed), or an error as for put. */
LARCH_API int larch_memtable_del(larch_memtable *m, const void *key, size_t klen, uint64_t seq);

/* Reads key at `snapshot`: the visible version is the one with the greatest
 * seq <= snapshot (UINT64_MAX: the newest).
 *   LARCH_OK: it is a value; *val and *vlen point to its bytes (never NULL, even
 *     for length 0; valid until the memtable is freed), *seq_out is its seq.
 *   LARCH_DELETED: it is a tombstone; *val = NULL, *vlen = 0, *seq_out its seq.
 *   LARCH_NOTFOUND: the key has no version <= snapshot; *val = NULL, *vlen = 0,
 *     *seq_out = 0.
 * Each out pointer may be NULL. Errors: LARCH_EINVAL, LARCH_EKEYSIZE (outs
 * untouched). The result at snapshot S is stable once every put and del with
 * seq <= S has returned: later writes (with greater seqs) never change it. */
LARCH_API int larch_memtable_get(larch_memtable *m, const void *key, size_t klen, uint64_t snapshot,
                                 const void **val, size_t *vlen, uint64_t *seq_out);

/* Number of versions, tombstones included: exact when no writer runs, otherwise a
 * count of the versions published so far, give or take the writes in flight. 0 for
 * NULL. Counted on per-CPU stripes, so writers do not share a counter. */
LARCH_API size_t larch_memtable_len(larch_memtable *m);

/* Approximate bytes in use (> 0; 0 for NULL): the memtable's arena blocks, whole
 * (the unused tail of each shard's current block included), plus the fixed
 * handle, plus an estimate of the index's nodes computed from the number of keys
 * and their lengths (the B+ tree keeps no byte count of its own). This is the
 * figure an engine compares with its write-buffer size to decide when to flush. */
LARCH_API size_t larch_memtable_bytes(larch_memtable *m);

/* Iterators. An iterator reads the versions with seq <= its snapshot (UINT64_MAX:
 * all of them) and, with flags:
 *   0                        for each key in order, its visible version; keys whose
 *                            visible version is a tombstone are skipped;
 *   LARCH_ITER_TOMBSTONES    for each key, its visible version, tombstones included
 *                            (what an engine merges with older levels);
 *   LARCH_ITER_ALL_VERSIONS  every version, tombstones included, by key ascending
 *                            then seq descending (the order a flush writes).
 * seek / seek_for_prev position on the first entry whose key is >= key / the last
 * entry whose key is <= key (with ALL_VERSIONS: that key's newest / oldest visible
 * version); a seek key may be longer than LARCH_KEY_MAX. next and prev move one
 * entry in that order (with ALL_VERSIONS, prev goes to the next newer version of
 * the key, then to the oldest version of the key before).
 *
 * Iterators work while writers run and hold no lock between calls. Within one pass
 * in one direction entries come strictly in order, each at most once; a version
 * published before the pass began is returned if it is visible; versions published
 * during the pass may or may not be. Key and value pointers stay valid until the
 * memtable is freed (not just until the next move). */
enum { LARCH_ITER_ALL_VERSIONS = 1, LARCH_ITER_TOMBSTONES = 2 };
typedef struct larch_memtable_iter larch_memtable_iter;

/* An unpositioned iterator (invalid until a seek). NULL if memory runs out, m is
 * NULL or flags holds a bit other than the two above. */
LARCH_API larch_memtable_iter *larch_memtable_iter_new(larch_memtable *m, uint64_t snapshot,
                                                       int flags);
/* NULL is a no-op. */
LARCH_API void larch_memtable_iter_free(larch_memtable_iter *it);
/* A NULL key with klen > 0 leaves the iterator invalid with status LARCH_EINVAL. */
LARCH_API void larch_memtable_iter_seek(larch_memtable_iter *it, const void *key, size_t klen);
LARCH_API void larch_memtable_iter_seek_for_prev(larch_memtable_iter *it, const void *key,
                                                 size_t klen);
LARCH_API void larch_memtable_iter_seek_first(larch_memtable_iter *it);
LARCH_API void larch_memtable_iter_seek_last(larch_memtable_iter *it);
/* 1 if positioned on an entry, else 0. */
LARCH_API int larch_memtable_iter_valid(const larch_memtable_iter *it);
/* One entry forward / back; an invalid iterator stays invalid. */
LARCH_API void larch_memtable_iter_next(larch_memtable_iter *it);
LARCH_API void larch_memtable_iter_prev(larch_memtable_iter *it);
/* The current entry's key, and its value (NULL with *vlen = 0 for a tombstone;
 * never NULL for a value, even of length 0). Both stay valid until the memtable is
 * freed. On an invalid iterator: NULL, length 0. */
LARCH_API const void *larch_memtable_iter_key(const larch_memtable_iter *it, size_t *klen);
LARCH_API const void *larch_memtable_iter_value(const larch_memtable_iter *it, size_t *vlen);
/* The current entry's seq, and 1 if it is a tombstone; 0 and 0 when invalid. */
LARCH_API uint64_t larch_memtable_iter_seq(const larch_memtable_iter *it);
LARCH_API int larch_memtable_iter_is_tombstone(const larch_memtable_iter *it);
/* LARCH_OK, or the error (LARCH_ENOMEM, LARCH_EINVAL) that made the last move end
 * invalid. */
LARCH_API int larch_memtable_iter_status(const larch_memtable_iter *it);

#ifdef __cplusplus
}
#endif

#endif /* LARCH_MEMTABLE_H */
