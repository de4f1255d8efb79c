/* index_hash.c: the upper bound for point operations: liburcu's lock-free
 * resizable hash table (rculfhash, memb flavour), pre-sized to the key count so
 * that it never resizes. Readers run inside RCU read-side sections; an update
 * stores the new value into the node in place; a deleted node is freed after a
 * grace period. No order, so no scan: scan workloads skip it. */
#include "index.h"

#include <larch/larch.h>

#include <urcu.h>
#include <urcu/rculfhash.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct hnode {
    struct cds_lfht_node lf;
    _Atomic uint64_t val;
    struct rcu_head rcu;
    uint32_t len;
    unsigned char key[];
};

struct hkey {
    const void *data;
    size_t len;
};

/* Every thread that touches the table is a registered RCU reader; the count lets
 * destroy register the main thread even when it already is. */
static _Thread_local int registered;

static void reader_begin(void) {
    if (registered++ == 0)
        rcu_register_thread();
}

static void reader_end(void) {
    if (--registered == 0)
        rcu_unregister_thread();
}

/* 8 bytes at a time: multiply, fold, mix (in the spirit of wyhash). */
static unsigned long hash_key(const void *key, size_t len) {
    const unsigned char *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        unsigned __int128 m =
            (unsigned __int128)(w ^ 0xa0761d6478bd642full) * (h ^ 0xe7037ed1a0b428dbull);
        h = (uint64_t)m ^ (uint64_t)(m >> 64);
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        unsigned __int128 m =
            (unsigned __int128)(w ^ 0x8ebc6af09c88c6e3ull) * (h ^ 0x589965cc75374cc3ull);
        h = (uint64_t)m ^ (uint64_t)(m >> 64);
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return (unsigned long)(h ^ (h >> 32));
}

static int match(struct cds_lfht_node *lf, const void *arg) {
    const struct hnode *node = caa_container_of(lf, struct hnode, lf);
    const struct hkey *k = arg;
    return node->len == k->len && !memcmp(node->key, k->data, k->len);
}

static struct hnode *find(struct cds_lfht *ht, unsigned long hash, const struct hkey *k) {
    struct cds_lfht_iter iter;
    cds_lfht_lookup(ht, hash, match, k, &iter);
    struct cds_lfht_node *lf = cds_lfht_iter_get_node(&iter);
    return lf ? caa_container_of(lf, struct hnode, lf) : NULL;
}

static void *hash_create(size_t n_hint, int u64_keys) {
    (void)u64_keys;
    unsigned long buckets = 1024;
    while (buckets < n_hint)
        buckets *= 2;
    /* max_nr_buckets 0 selects the order allocator, which takes its bucket tables
     * from malloc, so the heap statistics see them (the mmap one would not). */
    return cds_lfht_new(buckets, buckets, 0, 0, NULL);
}

static void free_node(struct rcu_head *head) {
    free(caa_container_of(head, struct hnode, rcu));
}

static void hash_destroy(void *ix) {
    struct cds_lfht *ht = ix;
    struct cds_lfht_iter iter;
    struct cds_lfht_node *lf;
    /* Nothing else runs now, so a removed node can be freed at once. */
    reader_begin();
    rcu_read_lock();
    cds_lfht_for_each(ht, &iter, lf) {
        if (cds_lfht_del(ht, lf) == 0)
            free(caa_container_of(lf, struct hnode, lf));
    }
    rcu_read_unlock();
    rcu_barrier();
    reader_end();
    cds_lfht_destroy(ht, NULL);
}

static int hash_put(void *ix, const void *key, size_t len, uint64_t val) {
    struct cds_lfht *ht = ix;
    struct hkey k = {key, len};
    unsigned long hash = hash_key(key, len);
    int status = LARCH_EXISTS;
    rcu_read_lock();
    struct hnode *node = find(ht, hash, &k);
    if (!node) {
        struct hnode *fresh = malloc(sizeof *fresh + len);
        if (!fresh) {
            rcu_read_unlock();
            return LARCH_ENOMEM;
        }
        cds_lfht_node_init(&fresh->lf);
        atomic_init(&fresh->val, val);
        fresh->len = (uint32_t)len;
        memcpy(fresh->key, key, len);
        struct cds_lfht_node *won = cds_lfht_add_unique(ht, hash, match, &k, &fresh->lf);
        if (won == &fresh->lf) {
            status = LARCH_OK;
        } else { /* another thread inserted the key first */
            free(fresh);
            node = caa_container_of(won, struct hnode, lf);
        }
    }
    if (status == LARCH_EXISTS)
        atomic_store_explicit(&node->val, val, memory_order_relaxed);
    rcu_read_unlock();
    return status;
}

static int hash_get(void *ix, const void *key, size_t len, uint64_t *val) {
    struct hkey k = {key, len};
    rcu_read_lock();
    struct hnode *node = find(ix, hash_key(key, len), &k);
    if (node)
        *val = atomic_load_explicit(&node->val, memory_order_relaxed);
    rcu_read_unlock();
    return node ? LARCH_OK : LARCH_NOTFOUND;
}

static int hash_del(void *ix, const void *key, size_t len) {
    struct cds_lfht *ht = ix;
    struct hkey k = {key, len};
    int status = LARCH_NOTFOUND;
    rcu_read_lock();
    struct hnode *node = find(ht, hash_key(key, len), &k);
    if (node && cds_lfht_del(ht, &node->lf) == 0)
        status = LARCH_OK;
    rcu_read_unlock();
    if (status == LARCH_OK) /* readers may still hold it: free after a grace period */
        call_rcu(&node->rcu, free_node);
    return status;
}

static size_t hash_memory(void *ix) {
    (void)ix;
    reader_begin();
    rcu_barrier(); /* frees the nodes still waiting for a grace period */
    reader_end();
    return 0;
}

const struct bench_index bench_index_hash = {
    .name = "hash",
    .what = "liburcu rculfhash, pre-sized, no ordered scan: the upper bound for point operations",
    .create = hash_create,
    .destroy = hash_destroy,
    .put = hash_put,
    .get = hash_get,
    .del = hash_del,
    .scan = NULL,
    .memory = hash_memory,
    .thread_begin = reader_begin,
    .thread_end = reader_end,
};
