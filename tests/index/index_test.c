/* Helpers shared by the index suites: which indexes this executable runs, key
 * encoding, and whole-index dumps compared entry by entry. */
#include "index_test.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const struct index_ops *IX;

static const struct index_ops *const index_all[] = {
    &larch_test_ref_ops,
#ifdef LARCH_TEST_HAVE_BTREE
    &larch_test_btree_ops,
#endif
#ifdef LARCH_TEST_HAVE_ART
    &larch_test_art_ops,
#endif
};

int index_select(size_t i) {
    if (i >= sizeof index_all / sizeof index_all[0])
        return 0;
    IX = index_all[i];
    fprintf(stderr, "=== index: %s\n", IX->name);
    return 1;
}

int update_call_fn(void *ctx, uint64_t *val, int present) {
    struct update_call *c = ctx;
    c->calls++;
    c->present = present;
    c->seen = *val;
    *val = c->store;
    return c->action;
}

int key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

size_t key_u64(unsigned char *buf, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        buf[i] = (unsigned char)v;
    return 8;
}

uint64_t key_u64_read(const unsigned char *buf) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | buf[i];
    return v;
}

void dump_add(struct dump *d, const void *key, size_t len, uint64_t val) {
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->e = realloc(d->e, d->cap * sizeof *d->e);
        if (!d->e)
            abort();
    }
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    if (len)
        memcpy(copy, key, len);
    d->e[d->n++] = (struct entry){copy, len, val};
}

void dump_clear(struct dump *d) {
    for (size_t i = 0; i < d->n; i++)
        free(d->e[i].key);
    d->n = 0;
}

void dump_free(struct dump *d) {
    dump_clear(d);
    free(d->e);
    d->e = NULL;
    d->cap = 0;
}

struct tagged {
    struct entry e;
    size_t pos;
};

static int tagged_cmp(const void *a, const void *b) {
    const struct tagged *x = a, *y = b;
    int c = key_cmp(x->e.key, x->e.len, y->e.key, y->e.len);
    if (c)
        return c;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

void dump_sort_unique(struct dump *d) {
    struct tagged *t = malloc((d->n ? d->n : 1) * sizeof *t);
    if (!t)
        abort();
    for (size_t i = 0; i < d->n; i++)
        t[i] = (struct tagged){d->e[i], i};
    qsort(t, d->n, sizeof *t, tagged_cmp);
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (i + 1 < d->n && key_cmp(t[i].e.key, t[i].e.len, t[i + 1].e.key, t[i + 1].e.len) == 0) {
            free(t[i].e.key); /* a later value for the same key wins */
            continue;
        }
        d->e[n++] = t[i].e;
    }
    d->n = n;
    free(t);
}

long dump_find(const struct dump *d, const void *key, size_t len) {
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(d->e[mid].key, d->e[mid].len, key, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int scan_collect(void *ctx, const void *key, size_t len, uint64_t val) {
    dump_add(ctx, key, len, val);
    return 0;
}

int dump_scan(const struct index_ops *ops, void *t, struct dump *d) {
    dump_clear(d);
    long n = ops->scan(t, NULL, 0, NULL, 0, scan_collect, d);
    return n >= 0 && (size_t)n == d->n;
}

static int dump_iter(const struct index_ops *ops, void *t, struct dump *d, int backward) {
    dump_clear(d);
    void *it = ops->iter_new(t);
    if (!it)
        return 0;
    if (backward)
        ops->iter_seek_last(it);
    else
        ops->iter_seek_first(it);
    while (ops->iter_valid(it)) {
        size_t len;
        const void *key = ops->iter_key(it, &len);
        dump_add(d, key, len, ops->iter_value(it));
        if (backward)
            ops->iter_prev(it);
        else
            ops->iter_next(it);
    }
    int ok = ops->iter_status(it) == LARCH_OK;
    ops->iter_free(it);
    if (backward) {
        for (size_t i = 0; i < d->n / 2; i++) {
            struct entry e = d->e[i];
            d->e[i] = d->e[d->n - 1 - i];
            d->e[d->n - 1 - i] = e;
        }
    }
    return ok;
}

int dump_iter_forward(const struct index_ops *ops, void *t, struct dump *d) {
    return dump_iter(ops, t, d, 0);
}

int dump_iter_backward(const struct index_ops *ops, void *t, struct dump *d) {
    return dump_iter(ops, t, d, 1);
}

static void print_key(const char *label, const struct entry *e) {
    fprintf(stderr, "    %s: len %zu [", label, e->len);
    for (size_t i = 0; i < e->len && i < 24; i++)
        fprintf(stderr, "%s%02x", i ? " " : "", e->key[i]);
    fprintf(stderr, "%s] value %" PRIu64 "\n", e->len > 24 ? " ..." : "", e->val);
}

int dump_equal(const struct dump *a, const struct dump *b, const char *what) {
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        const struct entry *x = &a->e[i], *y = &b->e[i];
        if (key_cmp(x->key, x->len, y->key, y->len) || x->val != y->val) {
            fprintf(stderr, "  %s: entry %zu differs\n", what, i);
            print_key("got     ", x);
            print_key("expected", y);
            return 0;
        }
    }
    if (a->n != b->n) {
        fprintf(stderr, "  %s: %zu entries, expected %zu\n", what, a->n, b->n);
        if (a->n > n)
            print_key("first extra", &a->e[n]);
        else
            print_key("first missing", &b->e[n]);
        return 0;
    }
    return 1;
}

int index_matches(const struct index_ops *ops, void *t, const struct dump *expected,
                  const char *what) {
    int ok = 1;
    if (ops->check(t, stderr) != LARCH_OK) {
        fprintf(stderr, "  %s: check() failed\n", what);
        ok = 0;
    }
    size_t len = ops->len(t);
    if (len != expected->n) {
        fprintf(stderr, "  %s: len() %zu, expected %zu\n", what, len, expected->n);
        ok = 0;
    }
    struct dump got = {0};
    char label[160];
    snprintf(label, sizeof label, "%s (scan)", what);
    ok &= dump_scan(ops, t, &got) && dump_equal(&got, expected, label);
    snprintf(label, sizeof label, "%s (iterating forward)", what);
    ok &= dump_iter_forward(ops, t, &got) && dump_equal(&got, expected, label);
    snprintf(label, sizeof label, "%s (iterating backward)", what);
    ok &= dump_iter_backward(ops, t, &got) && dump_equal(&got, expected, label);
    dump_free(&got);
    return ok;
}

int index_fill(const struct index_ops *ops, void *t, const struct dump *d) {
    for (size_t i = 0; i < d->n; i++) {
        int rc = ops->put(t, d->e[i].key, d->e[i].len, d->e[i].val, NULL);
        if (rc != LARCH_OK && rc != LARCH_EXISTS)
            return 0;
    }
    return 1;
}

void run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size) {
    pthread_t *th = malloc((size_t)n * sizeof *th);
    if (!th)
        abort();
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * arg_size))
            abort();
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    free(th);
}
