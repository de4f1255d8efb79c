/* What the memtable suites share: the indexes a memtable can sit on (every suite
 * runs on each), and a reference memtable, a plain array of versions, that says
 * what get and every kind of iterator must return at any snapshot. Header-only,
 * since each suite is one file. */
#ifndef LARCH_TESTS_MEMTABLE_TEST_H
#define LARCH_TESTS_MEMTABLE_TEST_H

#include <larch/memtable.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "memtable/memtable.h"

/* ---- the indexes under a memtable --------------------------------------------- */

static const struct mt_index_ops *const memtable_indexes[] = {
    &larch__mt_index_art,
    &larch__mt_index_btree,
};
#define MEMTABLE_INDEXES (sizeof memtable_indexes / sizeof memtable_indexes[0])

/* The index the suite is running on now. */
static const struct mt_index_ops *MT_INDEX;

static inline larch_memtable *mt_new(void) {
    return memtable_new_with(MT_INDEX);
}

#define FOR_EACH_MEMTABLE_INDEX                                                                    \
    for (size_t mt_i_ = 0;                                                                         \
         mt_i_ < MEMTABLE_INDEXES && (MT_INDEX = memtable_indexes[mt_i_],                          \
                                     fprintf(stderr, "=== index: %s\n", MT_INDEX->name), 1);       \
         mt_i_++)

/* ---- keys --------------------------------------------------------------------- */

static inline int key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static inline void *xmemdup(const void *p, size_t n) {
    void *q = xmalloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* ---- the reference memtable --------------------------------------------------- */

struct ref_version {
    unsigned char *key, *val; /* val NULL: a tombstone */
    size_t klen, vlen;
    uint64_t seq;
};

struct ref {
    struct ref_version *v;
    size_t n, cap;
    bool sorted;
};

/* Key ascending, then seq descending: the flush order. */
static inline int ref_order(const void *a, const void *b) {
    const struct ref_version *x = a, *y = b;
    int c = key_cmp(x->key, x->klen, y->key, y->klen);
    if (c)
        return c;
    return (x->seq < y->seq) - (x->seq > y->seq);
}

/* Sorts once; a sorted reference is read-only, so threads may share it. */
static inline void ref_sort(struct ref *r) {
    if (!r->sorted) {
        if (r->n > 1)
            qsort(r->v, r->n, sizeof *r->v, ref_order);
        r->sorted = true;
    }
}

/* Index of the first version (in flush order) at or after (key, seq). */
static inline size_t ref_lower_bound(struct ref *r, const void *key, size_t klen, uint64_t seq) {
    ref_sort(r);
    struct ref_version probe = {(unsigned char *)key, NULL, klen, 0, seq};
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ref_order(&r->v[mid], &probe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* What put/del must return: LARCH_OK (added) or LARCH_EXISTS. val NULL: tombstone. */
static inline int ref_add(struct ref *r, const void *key, size_t klen, uint64_t seq,
                          const void *val, size_t vlen) {
    size_t i = ref_lower_bound(r, key, klen, seq);
    if (i < r->n && r->v[i].seq == seq && !key_cmp(r->v[i].key, r->v[i].klen, key, klen))
        return LARCH_EXISTS;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        if (!r->v)
            abort();
    }
    memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof *r->v);
    r->v[i] =
        (struct ref_version){xmemdup(key, klen), val ? xmemdup(val, vlen) : NULL, klen, vlen, seq};
    r->n++;
    return LARCH_OK;
}

/* Appends without looking for duplicates (the caller knows there are none); the
 * next lookup sorts. For building large references quickly. */
static inline void ref_push(struct ref *r, const void *key, size_t klen, uint64_t seq,
                            const void *val, size_t vlen) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        if (!r->v)
            abort();
    }
    r->v[r->n++] =
        (struct ref_version){xmemdup(key, klen), val ? xmemdup(val, vlen) : NULL, klen, vlen, seq};
    r->sorted = false;
}

static inline void ref_free(struct ref *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].val);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* The visible version of key at snapshot, or NULL. */
static inline const struct ref_version *ref_get(struct ref *r, const void *key, size_t klen,
                                                uint64_t snapshot) {
    size_t i = ref_lower_bound(r, key, klen, snapshot);
    if (i < r->n && !key_cmp(r->v[i].key, r->v[i].klen, key, klen))
        return &r->v[i];
    return NULL;
}

static inline bool ref_same_key(const struct ref *r, size_t i, size_t j) {
    return !key_cmp(r->v[i].key, r->v[i].klen, r->v[j].key, r->v[j].klen);
}

/* The entries that the versions [i, end) of one key show at (snapshot, flags),
 * in flush order, appended to out; returns how many. */
static inline size_t ref_key_entries(const struct ref *r, size_t i, size_t end, uint64_t snapshot,
                                     int flags, size_t *out) {
    while (i < end && r->v[i].seq > snapshot)
        i++;
    if (i == end)
        return 0;
    if (!(flags & LARCH_ITER_ALL_VERSIONS)) {
        if (!r->v[i].val && !(flags & LARCH_ITER_TOMBSTONES))
            return 0;
        end = i + 1;
    }
    for (size_t j = i; j < end; j++)
        out[j - i] = j;
    return end - i;
}

/* The entries an iterator with (snapshot, flags) shows, in order, as indexes into
 * r->v (sorted); returns their number. out has room for r->n. */
static inline size_t ref_entries(struct ref *r, uint64_t snapshot, int flags, size_t *out) {
    ref_sort(r);
    size_t n = 0;
    for (size_t i = 0, end; i < r->n; i = end) {
        for (end = i + 1; end < r->n && ref_same_key(r, i, end); end++)
            ;
        n += ref_key_entries(r, i, end, snapshot, flags, out + n);
    }
    return n;
}

/* Up to max entries from the first whose key is >= key, in iteration order (or,
 * backward, from the last whose key is <= key, in reverse order): what a seek
 * (seek_for_prev) followed by next (prev) steps returns. out needs room for max
 * plus the versions of one key. */
static inline size_t ref_window(struct ref *r, const void *key, size_t klen, uint64_t snapshot,
                                int flags, bool backward, size_t max, size_t *out) {
    size_t i = ref_lower_bound(r, key, klen, UINT64_MAX), n = 0;
    if (!backward) {
        for (size_t end; i < r->n && n < max; i = end) {
            for (end = i + 1; end < r->n && ref_same_key(r, i, end); end++)
                ;
            n += ref_key_entries(r, i, end, snapshot, flags, out + n);
        }
    } else {
        while (i < r->n && !key_cmp(r->v[i].key, r->v[i].klen, key, klen))
            i++; /* past the versions of key itself */
        for (size_t start; i > 0 && n < max; i = start) {
            for (start = i - 1; start > 0 && ref_same_key(r, start - 1, i - 1); start--)
                ;
            size_t got = ref_key_entries(r, start, i, snapshot, flags, out + n);
            for (size_t a = n, b = n + got; a + 1 < b; a++, b--) { /* reverse them */
                size_t t = out[a];
                out[a] = out[b - 1];
                out[b - 1] = t;
            }
            n += got;
        }
    }
    return n < max ? n : max;
}

/* ---- comparing a memtable with the reference ----------------------------------- */

/* The iterator's entry is exactly e. */
static inline bool entry_is(const larch_memtable_iter *it, const struct ref_version *e) {
    size_t klen, vlen;
    const void *key = larch_memtable_iter_key(it, &klen);
    const void *val = larch_memtable_iter_value(it, &vlen);
    if (!larch_memtable_iter_valid(it) || key_cmp(key, klen, e->key, e->klen) ||
        larch_memtable_iter_seq(it) != e->seq)
        return false;
    if (!e->val)
        return larch_memtable_iter_is_tombstone(it) && !val && vlen == 0;
    return !larch_memtable_iter_is_tombstone(it) && val && vlen == e->vlen &&
           (vlen == 0 || !memcmp(val, e->val, vlen));
}

/* get at snapshot agrees with the reference. */
static inline bool get_matches(larch_memtable *m, struct ref *r, const void *key, size_t klen,
                               uint64_t snapshot) {
    const void *val = (const void *)1;
    size_t vlen = 99;
    uint64_t seq = 99;
    int rc = larch_memtable_get(m, key, klen, snapshot, &val, &vlen, &seq);
    const struct ref_version *e = ref_get(r, key, klen, snapshot);
    if (!e)
        return rc == LARCH_NOTFOUND && !val && vlen == 0 && seq == 0;
    if (!e->val)
        return rc == LARCH_DELETED && !val && vlen == 0 && seq == e->seq;
    return rc == LARCH_OK && val && vlen == e->vlen && seq == e->seq &&
           (vlen == 0 || !memcmp(val, e->val, vlen));
}

/* A whole forward pass and a whole backward pass give exactly the reference's
 * entries; prints the first difference. */
static inline bool iteration_matches(larch_memtable *m, struct ref *r, uint64_t snapshot,
                                     int flags) {
    size_t *want = xmalloc(r->n * sizeof *want);
    size_t n = ref_entries(r, snapshot, flags, want), got = 0;
    bool ok = true;
    larch_memtable_iter *it = larch_memtable_iter_new(m, snapshot, flags);
    if (!it)
        abort();
    for (larch_memtable_iter_seek_first(it); ok && larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), got++)
        ok = got < n && entry_is(it, &r->v[want[got]]);
    ok = ok && got == n && larch_memtable_iter_status(it) == LARCH_OK;
    if (!ok)
        fprintf(stderr, "  forward pass (snapshot %llu, flags %d) differs at entry %zu of %zu\n",
                (unsigned long long)snapshot, flags, got, n);
    got = 0;
    bool back = ok;
    for (larch_memtable_iter_seek_last(it); back && larch_memtable_iter_valid(it);
         larch_memtable_iter_prev(it), got++)
        back = got < n && entry_is(it, &r->v[want[n - 1 - got]]);
    if (ok && !(back && got == n)) {
        ok = false;
        fprintf(stderr, "  backward pass (snapshot %llu, flags %d) differs at entry %zu of %zu\n",
                (unsigned long long)snapshot, flags, got, n);
    }
    larch_memtable_iter_free(it);
    free(want);
    return ok;
}

/* ---- a deterministic write schedule for the stress suites ---------------------- */
/* Version number s (1, 2, ...) writes a key, a value or a tombstone that depend on
 * s alone, so that whatever order threads publish them in, the final contents (and
 * the contents at any snapshot whose versions are all published) are known. */

#define SCHED_KEYS 1500

static inline uint64_t sched_mix(uint64_t s) {
    s ^= s >> 31;
    s *= 0x9E3779B97F4A7C15ull;
    s ^= s >> 29;
    s *= 0xBF58476D1CE4E5B9ull;
    return s ^ (s >> 32);
}

/* Keys "k0" .. "k1499", every seventh with a NUL byte appended: "k1" is a prefix of
 * "k1\0", "k10" and "k100". */
static inline size_t sched_key(uint64_t s, unsigned char *key) {
    unsigned id = (unsigned)(sched_mix(s) % SCHED_KEYS);
    size_t len = (size_t)snprintf((char *)key, 16, "k%u", id);
    if (id % 7 == 0)
        key[len++] = 0;
    return len;
}

static inline bool sched_tombstone(uint64_t s) {
    return (sched_mix(s ^ 0x7777) & 7) == 0;
}

/* 0 to 47 bytes (room for 48). */
static inline size_t sched_value(uint64_t s, unsigned char *val) {
    size_t len = (size_t)(sched_mix(s ^ 0x5555) % 48);
    for (size_t i = 0; i < len; i++)
        val[i] = (unsigned char)((s + i) * 131);
    return len;
}

/* Writes version s into m; the put or del's status. */
static inline int sched_write(larch_memtable *m, uint64_t s) {
    unsigned char key[16], val[48];
    size_t klen = sched_key(s, key);
    if (sched_tombstone(s))
        return larch_memtable_del(m, key, klen, s);
    return larch_memtable_put(m, key, klen, s, val, sched_value(s, val));
}

/* The reference holding versions 1..n. */
static inline void sched_reference(struct ref *r, uint64_t n) {
    unsigned char key[16], val[48];
    for (uint64_t s = 1; s <= n; s++) {
        size_t klen = sched_key(s, key), vlen = sched_value(s, val);
        ref_push(r, key, klen, s, sched_tombstone(s) ? NULL : val, vlen);
    }
    ref_sort(r);
}

/* Runs fn(args + i * arg_size) on n threads and joins them. */
static inline void run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size) {
    pthread_t th[64];
    if (n > 64)
        abort();
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * arg_size))
            abort();
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

#endif /* LARCH_TESTS_MEMTABLE_TEST_H */
