/* The reference index: the whole ordered-index contract of API.md done the obvious
 * way, a treap behind one mutex, so that it is correct by inspection. Model-based
 * tests compare the real trees against it, and every shared test runs on it too.
 * Iterators keep a copy of their current key and re-search from it on each move:
 * next is the first key > current, prev the last key < current. Scan does the same
 * and calls fn with the mutex released, pinned, as the contract says. Its memory
 * goes through src/common/alloc.h, so the allocation-failure tests run on it too. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <larch/epoch.h>

#include "common/alloc.h"
#include "index_ops.h"

struct node {
    struct node *left, *right;
    uint64_t prio, val;
    size_t len;
    unsigned char key[];
};

struct ref {
    pthread_mutex_t lock;
    struct node *root;
    size_t count;
    uint64_t rng;
};

struct ref_iter {
    struct ref *r;
    int valid, status;
    uint64_t val;
    size_t len;
    unsigned char key[LARCH_KEY_MAX];
};

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

static int node_cmp(const struct node *n, const void *key, size_t len) {
    return key_cmp(n->key, n->len, key, len);
}

static int key_arg_error(const void *key, size_t len) {
    if (!key && len)
        return LARCH_EINVAL;
    if (len > LARCH_KEY_MAX)
        return LARCH_EKEYSIZE;
    return LARCH_OK;
}

/* ---- the treap ---------------------------------------------------------------- */

static struct node *find(struct ref *r, const void *key, size_t len) {
    struct node *n = r->root;
    while (n) {
        int c = node_cmp(n, key, len);
        if (c == 0)
            return n;
        n = c > 0 ? n->left : n->right;
    }
    return NULL;
}

enum bound { FIRST_GE, FIRST_GT, LAST_LE, LAST_LT };

/* The first key >= / > the given key, or the last key <= / < it. */
static struct node *bound(struct ref *r, const void *key, size_t len, enum bound b) {
    struct node *n = r->root, *best = NULL;
    while (n) {
        int c = node_cmp(n, key, len);
        int take = b == FIRST_GE ? c >= 0 : b == FIRST_GT ? c > 0 : b == LAST_LE ? c <= 0 : c < 0;
        if (take)
            best = n;
        if (b == FIRST_GE || b == FIRST_GT)
            n = take ? n->left : n->right;
        else
            n = take ? n->right : n->left;
    }
    return best;
}

static struct node *extreme(struct ref *r, int last) {
    struct node *n = r->root;
    while (n && (last ? n->right : n->left))
        n = last ? n->right : n->left;
    return n;
}

/* Splits t (which does not hold key) into the keys below and above key. */
static void split(struct node *t, const void *key, size_t len, struct node **lo, struct node **hi) {
    if (!t) {
        *lo = *hi = NULL;
    } else if (node_cmp(t, key, len) < 0) {
        split(t->right, key, len, &t->right, hi);
        *lo = t;
    } else {
        split(t->left, key, len, lo, &t->left);
        *hi = t;
    }
}

/* Joins two treaps, every key of a below every key of b. */
static struct node *merge(struct node *a, struct node *b) {
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->prio > b->prio) {
        a->right = merge(a->right, b);
        return a;
    }
    b->left = merge(a, b->left);
    return b;
}

static struct node *node_new(struct ref *r, const void *key, size_t len, uint64_t val) {
    struct node *n = larch__malloc(sizeof *n + len);
    if (!n)
        return NULL;
    n->left = n->right = NULL;
    r->rng ^= r->rng << 13, r->rng ^= r->rng >> 7, r->rng ^= r->rng << 17;
    n->prio = r->rng;
    n->val = val;
    n->len = len;
    if (len)
        memcpy(n->key, key, len);
    return n;
}

static void link_node(struct ref *r, struct node *n) {
    struct node **p = &r->root;
    while (*p && (*p)->prio > n->prio)
        p = node_cmp(*p, n->key, n->len) > 0 ? &(*p)->left : &(*p)->right;
    split(*p, n->key, n->len, &n->left, &n->right);
    *p = n;
    r->count++;
}

static void unlink_node(struct ref *r, struct node *n) {
    struct node **p = &r->root;
    while (*p != n)
        p = node_cmp(*p, n->key, n->len) > 0 ? &(*p)->left : &(*p)->right;
    *p = merge(n->left, n->right);
    r->count--;
    larch__free(n);
}

static void free_nodes(struct node *n) {
    while (n) {
        free_nodes(n->left);
        struct node *right = n->right;
        larch__free(n);
        n = right;
    }
}

/* ---- the contract ------------------------------------------------------------- */

static void *ref_new(void) {
    struct ref *r = larch__malloc(sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->root = NULL;
    r->count = 0;
    r->rng = 0x9E3779B97F4A7C15ULL;
    return r;
}

static void ref_free(void *t) {
    struct ref *r = t;
    if (!r)
        return;
    free_nodes(r->root);
    pthread_mutex_destroy(&r->lock);
    larch__free(r);
}

/* put (replace != 0) and insert share everything but what a present key gets. */
static int upsert(void *t, const void *key, size_t len, uint64_t val, uint64_t *out, int replace) {
    struct ref *r = t;
    if (!r)
        return LARCH_EINVAL;
    int rc = key_arg_error(key, len);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->lock);
    struct node *n = find(r, key, len);
    if (n) {
        if (out)
            *out = n->val;
        if (replace)
            n->val = val;
        rc = LARCH_EXISTS;
    } else if ((n = node_new(r, key, len, val))) {
        link_node(r, n);
        rc = LARCH_OK;
    } else {
        rc = LARCH_ENOMEM;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int ref_put(void *t, const void *key, size_t len, uint64_t val, uint64_t *old) {
    return upsert(t, key, len, val, old, 1);
}

static int ref_insert(void *t, const void *key, size_t len, uint64_t val, uint64_t *cur) {
    return upsert(t, key, len, val, cur, 0);
}

static int ref_get(void *t, const void *key, size_t len, uint64_t *val) {
    struct ref *r = t;
    if (!r)
        return LARCH_EINVAL;
    int rc = key_arg_error(key, len);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->lock);
    struct node *n = find(r, key, len);
    if (n && val)
        *val = n->val;
    pthread_mutex_unlock(&r->lock);
    return n ? LARCH_OK : LARCH_NOTFOUND;
}

static int ref_del(void *t, const void *key, size_t len, uint64_t *old) {
    struct ref *r = t;
    if (!r)
        return LARCH_EINVAL;
    int rc = key_arg_error(key, len);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->lock);
    struct node *n = find(r, key, len);
    if (n) {
        if (old)
            *old = n->val;
        unlink_node(r, n);
    }
    pthread_mutex_unlock(&r->lock);
    return n ? LARCH_OK : LARCH_NOTFOUND;
}

static int ref_cas(void *t, const void *key, size_t len, uint64_t expected, uint64_t desired,
                   uint64_t *cur) {
    struct ref *r = t;
    if (!r)
        return LARCH_EINVAL;
    int rc = key_arg_error(key, len);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->lock);
    struct node *n = find(r, key, len);
    if (!n) {
        rc = LARCH_NOTFOUND;
    } else if (n->val == expected) {
        n->val = desired;
        rc = LARCH_OK;
    } else {
        if (cur)
            *cur = n->val;
        rc = LARCH_EXISTS;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int ref_update(void *t, const void *key, size_t len, larch_update_fn fn, void *ctx) {
    struct ref *r = t;
    if (!r || !fn)
        return LARCH_EINVAL;
    int rc = key_arg_error(key, len);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->lock);
    struct node *n = find(r, key, len), *fresh = NULL;
    /* Whatever fn decides must be possible once it has run: allocate first. */
    if (!n && !(fresh = node_new(r, key, len, 0))) {
        pthread_mutex_unlock(&r->lock);
        return LARCH_ENOMEM;
    }
    uint64_t val = n ? n->val : 0;
    larch_epoch_pin();
    int action = fn(ctx, &val, n != NULL);
    larch_epoch_unpin();
    rc = n ? LARCH_OK : LARCH_NOTFOUND;
    switch (action) {
    case LARCH_UPDATE_KEEP:
        break;
    case LARCH_UPDATE_STORE:
        if (n) {
            n->val = val;
        } else {
            fresh->val = val;
            link_node(r, fresh);
            fresh = NULL;
        }
        break;
    case LARCH_UPDATE_DELETE:
        if (n)
            unlink_node(r, n);
        break;
    default:
        rc = LARCH_EINVAL;
        break;
    }
    pthread_mutex_unlock(&r->lock);
    larch__free(fresh);
    return rc;
}

/* Copies out the entry that `b` finds from (key, len), or returns 0 if there is none. */
static int step(struct ref *r, const void *key, size_t len, enum bound b, unsigned char *key_out,
                size_t *len_out, uint64_t *val_out) {
    pthread_mutex_lock(&r->lock);
    struct node *n = bound(r, key, len, b);
    if (n) {
        memcpy(key_out, n->key, n->len);
        *len_out = n->len;
        *val_out = n->val;
    }
    pthread_mutex_unlock(&r->lock);
    return n != NULL;
}

static long ref_scan(void *t, const void *lo, size_t lolen, const void *hi, size_t hilen,
                     larch_scan_fn fn, void *ctx) {
    struct ref *r = t;
    if (!r || !fn || (!lo && lolen))
        return LARCH_EINVAL;
    unsigned char key[LARCH_KEY_MAX];
    size_t len;
    uint64_t val;
    long calls = 0;
    int found = step(r, lo, lolen, FIRST_GE, key, &len, &val);
    while (found && (!hi || key_cmp(key, len, hi, hilen) < 0)) {
        larch_epoch_pin();
        int stop = fn(ctx, key, len, val);
        larch_epoch_unpin();
        calls++;
        if (stop)
            break;
        found = step(r, key, len, FIRST_GT, key, &len, &val);
    }
    return calls;
}

static size_t ref_len(void *t) {
    struct ref *r = t;
    if (!r)
        return 0;
    pthread_mutex_lock(&r->lock);
    size_t n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static int ref_height(void *t) {
    return t ? 1 : LARCH_EINVAL;
}

/* Order within (lo, hi), heap order of priorities; returns the node count or -1. */
static long check_subtree(const struct node *n, const struct node *lo, const struct node *hi,
                          FILE *err) {
    if (!n)
        return 0;
    if ((lo && key_cmp(lo->key, lo->len, n->key, n->len) >= 0) ||
        (hi && key_cmp(n->key, n->len, hi->key, hi->len) >= 0)) {
        if (err)
            fprintf(err, "ref: key out of order\n");
        return -1;
    }
    if ((n->left && n->left->prio > n->prio) || (n->right && n->right->prio > n->prio)) {
        if (err)
            fprintf(err, "ref: heap order broken\n");
        return -1;
    }
    long l = check_subtree(n->left, lo, n, err);
    long r = l < 0 ? -1 : check_subtree(n->right, n, hi, err);
    return r < 0 ? -1 : l + r + 1;
}

static int ref_check(void *t, FILE *err) {
    struct ref *r = t;
    if (!r)
        return LARCH_EINVAL;
    pthread_mutex_lock(&r->lock);
    long n = check_subtree(r->root, NULL, NULL, err);
    int rc = n >= 0 && (size_t)n == r->count ? LARCH_OK : LARCH_ECORRUPT;
    if (n >= 0 && rc && err)
        fprintf(err, "ref: count %zu but %ld nodes\n", r->count, n);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* ---- iterators ---------------------------------------------------------------- */

static void *ref_iter_new(void *t) {
    if (!t)
        return NULL;
    struct ref_iter *it = larch__malloc(sizeof *it);
    if (!it)
        return NULL;
    it->r = t;
    it->valid = 0;
    it->status = LARCH_OK;
    it->val = 0;
    it->len = 0;
    return it;
}

static void ref_iter_free(void *it) {
    larch__free(it);
}

/* Moves to the entry `b` finds from (key, len); key may be the iterator's own. */
static void iter_move(struct ref_iter *it, const void *key, size_t len, enum bound b) {
    it->status = LARCH_OK;
    it->valid = step(it->r, key, len, b, it->key, &it->len, &it->val);
}

static void ref_iter_seek(void *p, const void *key, size_t len) {
    struct ref_iter *it = p;
    if (!it)
        return;
    if (!key && len) {
        it->valid = 0;
        it->status = LARCH_EINVAL;
        return;
    }
    iter_move(it, key, len, FIRST_GE);
}

static void ref_iter_seek_for_prev(void *p, const void *key, size_t len) {
    struct ref_iter *it = p;
    if (!it)
        return;
    if (!key && len) {
        it->valid = 0;
        it->status = LARCH_EINVAL;
        return;
    }
    iter_move(it, key, len, LAST_LE);
}

static void seek_end(struct ref_iter *it, int last) {
    it->status = LARCH_OK;
    pthread_mutex_lock(&it->r->lock);
    struct node *n = extreme(it->r, last);
    if (n) {
        memcpy(it->key, n->key, n->len);
        it->len = n->len;
        it->val = n->val;
    }
    pthread_mutex_unlock(&it->r->lock);
    it->valid = n != NULL;
}

static void ref_iter_seek_first(void *p) {
    if (p)
        seek_end(p, 0);
}

static void ref_iter_seek_last(void *p) {
    if (p)
        seek_end(p, 1);
}

static int ref_iter_valid(const void *p) {
    const struct ref_iter *it = p;
    return it && it->valid;
}

static void ref_iter_next(void *p) {
    struct ref_iter *it = p;
    if (it && it->valid)
        iter_move(it, it->key, it->len, FIRST_GT);
}

static void ref_iter_prev(void *p) {
    struct ref_iter *it = p;
    if (it && it->valid)
        iter_move(it, it->key, it->len, LAST_LT);
}

static const void *ref_iter_key(const void *p, size_t *len) {
    const struct ref_iter *it = p;
    int valid = it && it->valid;
    if (len)
        *len = valid ? it->len : 0;
    return valid ? it->key : NULL;
}

static uint64_t ref_iter_value(const void *p) {
    const struct ref_iter *it = p;
    return it && it->valid ? it->val : 0;
}

static int ref_iter_status(const void *p) {
    const struct ref_iter *it = p;
    return it ? it->status : LARCH_EINVAL;
}

const struct index_ops larch_test_ref_ops = {
    .name = "ref",
    .honours_alloc_hook = 1,
    .has_levels = 0,
    .new_ = ref_new,
    .free_ = ref_free,
    .put = ref_put,
    .insert = ref_insert,
    .get = ref_get,
    .del = ref_del,
    .cas = ref_cas,
    .update = ref_update,
    .scan = ref_scan,
    .len = ref_len,
    .height = ref_height,
    .check = ref_check,
    .iter_new = ref_iter_new,
    .iter_free = ref_iter_free,
    .iter_seek = ref_iter_seek,
    .iter_seek_for_prev = ref_iter_seek_for_prev,
    .iter_seek_first = ref_iter_seek_first,
    .iter_seek_last = ref_iter_seek_last,
    .iter_valid = ref_iter_valid,
    .iter_next = ref_iter_next,
    .iter_prev = ref_iter_prev,
    .iter_key = ref_iter_key,
    .iter_value = ref_iter_value,
    .iter_status = ref_iter_status,
};
