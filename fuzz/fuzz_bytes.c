/* Differential fuzzing of an ordered index on raw keys: where fuzz_index.c draws
 * keys from fixed universes, here every key and bound is bytes of the input (with
 * runs of one byte to reach 1024-byte and over-long keys), so that the fuzzer
 * itself finds the prefixes, separators and lengths that matter. The model is the
 * reference index of tests/index/ref_index.c, a treap under a mutex. Results,
 * out-values, scans and iterator positions must match it exactly; an iterator
 * that has seen a write since its seek is re-seeked rather than moved (the
 * contract's looser rules across writes are fuzz_index.c's job). */
#include "fuzz_index.h"

#include <larch/epoch.h>
#include <string.h>

#include "fuzz_input.h"
#include "index_test.h"

static const struct index_ops *const M = &larch_test_ref_ops;

struct run {
    const struct index_ops *ix;
    struct fuzz_input in;
    void *t, *m, *it, *mit;
    int dirty; /* a write since the iterators' last seek */
};

static unsigned char key_buf[2][LARCH_KEY_MAX + 64];

/* A key from the input: up to 31 bytes as they are, or a run of one byte from 1 to
 * LARCH_KEY_MAX + 32 bytes long after a short head. */
static size_t raw_key(struct run *r, unsigned char *out) {
    unsigned how = fuzz_byte(&r->in);
    if (how < 0xE0) {
        size_t len = how % 32;
        for (size_t i = 0; i < len; i++)
            out[i] = (unsigned char)fuzz_byte(&r->in);
        return len;
    }
    size_t head = how % 4;
    for (size_t i = 0; i < head; i++)
        out[i] = (unsigned char)fuzz_byte(&r->in);
    size_t len = head + 1 + fuzz_u16(&r->in) % (LARCH_KEY_MAX + 32);
    memset(out + head, (int)fuzz_byte(&r->in), len - head);
    return len;
}

static void same_rc(int rc, int mrc, const char *what) {
    FUZZ_EXPECT(rc == mrc, "%s returned %d, model %d", what, rc, mrc);
}

static void same_out(int rc, int has_out, uint64_t out, uint64_t mout, const char *what) {
    FUZZ_EXPECT(!has_out || out == mout, "%s (rc %d) gave %llu, model %llu", what, rc,
                (unsigned long long)out, (unsigned long long)mout);
}

static void op_write(struct run *r, unsigned op) {
    size_t len = raw_key(r, key_buf[0]);
    const unsigned char *k = key_buf[0];
    uint64_t v = fuzz_value(&r->in), v2 = fuzz_value(&r->in), out = 1, mout = 2;
    int rc, mrc;
    switch (op) {
    case 0:
        rc = r->ix->put(r->t, k, len, v, &out), mrc = M->put(r->m, k, len, v, &mout);
        same_rc(rc, mrc, "put");
        same_out(rc, rc == LARCH_EXISTS, out, mout, "put");
        break;
    case 1:
        rc = r->ix->insert(r->t, k, len, v, &out), mrc = M->insert(r->m, k, len, v, &mout);
        same_rc(rc, mrc, "insert");
        same_out(rc, rc == LARCH_EXISTS, out, mout, "insert");
        break;
    case 2:
        rc = r->ix->del(r->t, k, len, &out), mrc = M->del(r->m, k, len, &mout);
        same_rc(rc, mrc, "del");
        same_out(rc, rc == LARCH_OK, out, mout, "del");
        break;
    case 3:
        if (v & 1)
            M->get(r->m, k, len, &v);
        rc = r->ix->cas(r->t, k, len, v, v2, &out), mrc = M->cas(r->m, k, len, v, v2, &mout);
        same_rc(rc, mrc, "cas");
        same_out(rc, rc == LARCH_EXISTS, out, mout, "cas");
        break;
    default: {
        static const int actions[] = {LARCH_UPDATE_KEEP, LARCH_UPDATE_STORE, LARCH_UPDATE_DELETE,
                                      5};
        struct update_call c = {actions[v % 4], 0, -1, v2, 0}, mc = c;
        rc = r->ix->update(r->t, k, len, update_call_fn, &c);
        mrc = M->update(r->m, k, len, update_call_fn, &mc);
        same_rc(rc, mrc, "update");
        FUZZ_EXPECT(c.calls == mc.calls && c.present == mc.present && c.seen == mc.seen,
                    "update's fn: %d calls saw present %d value %llu, model %d calls %d %llu",
                    c.calls, c.present, (unsigned long long)c.seen, mc.calls, mc.present,
                    (unsigned long long)mc.seen);
        break;
    }
    }
    r->dirty = 1;
}

static void op_get(struct run *r) {
    size_t len = raw_key(r, key_buf[0]);
    uint64_t v = 1, mv = 2;
    int rc = r->ix->get(r->t, key_buf[0], len, &v), mrc = M->get(r->m, key_buf[0], len, &mv);
    same_rc(rc, mrc, "get");
    same_out(rc, rc == LARCH_OK, v, mv, "get");
}

struct limited {
    struct dump got;
    long limit;
};

static int collect_limited(void *ctx, const void *key, size_t len, uint64_t val) {
    struct limited *l = ctx;
    dump_add(&l->got, key, len, val);
    return l->limit && (long)l->got.n >= l->limit;
}

static void op_scan(struct run *r) {
    size_t lolen = raw_key(r, key_buf[0]), hilen = raw_key(r, key_buf[1]);
    unsigned how = fuzz_byte(&r->in);
    const void *hi = how & 1 ? NULL : key_buf[1];
    struct limited a = {.limit = (long)(how >> 1) % 16}, b = {.limit = a.limit};
    long n = r->ix->scan(r->t, key_buf[0], lolen, hi, hilen, collect_limited, &a);
    long mn = M->scan(r->m, key_buf[0], lolen, hi, hilen, collect_limited, &b);
    FUZZ_EXPECT(n == mn && dump_equal(&a.got, &b.got, "scan"), "scan returned %ld, model %ld", n,
                mn);
    dump_free(&a.got);
    dump_free(&b.got);
}

static void same_position(struct run *r, const char *what) {
    int valid = r->ix->iter_valid(r->it);
    FUZZ_EXPECT(valid == M->iter_valid(r->mit), "%s: valid %d, model %d", what, valid, !valid);
    FUZZ_EXPECT(r->ix->iter_status(r->it) == M->iter_status(r->mit), "%s: status %d, model %d",
                what, r->ix->iter_status(r->it), M->iter_status(r->mit));
    size_t len = 1, mlen = 2;
    const void *k = r->ix->iter_key(r->it, &len), *mk = M->iter_key(r->mit, &mlen);
    FUZZ_EXPECT(valid ? k && key_cmp(k, len, mk, mlen) == 0 : k == NULL && len == 0,
                "%s: iterator on another key than the model's", what);
    FUZZ_EXPECT(r->ix->iter_value(r->it) == M->iter_value(r->mit), "%s: value %llu, model %llu",
                what, (unsigned long long)r->ix->iter_value(r->it),
                (unsigned long long)M->iter_value(r->mit));
}

static void op_seek(struct run *r) {
    unsigned how = fuzz_byte(&r->in) % 5;
    size_t len = how >= 2 ? raw_key(r, key_buf[0]) : 0;
    const void *key = how == 4 ? NULL : key_buf[0]; /* NULL with a length: LARCH_EINVAL */
    if (how == 4 && len == 0)
        len = 1;
    if (how == 0)
        r->ix->iter_seek_first(r->it), M->iter_seek_first(r->mit);
    else if (how == 1)
        r->ix->iter_seek_last(r->it), M->iter_seek_last(r->mit);
    else if (how == 2)
        r->ix->iter_seek(r->it, key, len), M->iter_seek(r->mit, key, len);
    else
        r->ix->iter_seek_for_prev(r->it, key, len), M->iter_seek_for_prev(r->mit, key, len);
    r->dirty = 0;
    same_position(r, "seek");
}

static void op_move(struct run *r, int forward) {
    if (r->dirty) {
        op_seek(r);
        return;
    }
    for (unsigned n = fuzz_byte(&r->in) % 8 + 1; n > 0; n--) {
        if (forward)
            r->ix->iter_next(r->it), M->iter_next(r->mit);
        else
            r->ix->iter_prev(r->it), M->iter_prev(r->mit);
        same_position(r, forward ? "next" : "prev");
    }
}

static void compare_all(struct run *r) {
    struct dump expected = {0};
    FUZZ_EXPECT(dump_scan(M, r->m, &expected), "model scan failed");
    FUZZ_EXPECT(index_matches(r->ix, r->t, &expected, "model"), "contents differ from the model");
    dump_free(&expected);
}

int fuzz_bytes_run(const struct index_ops *ix, const uint8_t *data, size_t size) {
    struct run r = {.ix = ix, .in = {data, data + size}};
    r.t = ix->new_();
    r.m = M->new_();
    r.it = r.t ? ix->iter_new(r.t) : NULL;
    r.mit = r.m ? M->iter_new(r.m) : NULL;
    if (!r.it || !r.mit)
        abort();
    while (fuzz_more(&r.in)) {
        unsigned op = fuzz_byte(&r.in) % 12;
        if (op < 5)
            op_write(&r, op);
        else if (op == 5)
            op_get(&r);
        else if (op == 6)
            op_scan(&r);
        else if (op == 7)
            op_seek(&r);
        else if (op < 10)
            op_move(&r, op == 8);
        else if (op == 10)
            compare_all(&r);
        else
            op_write(&r, 0); /* puts twice as often: trees that grow */
    }
    compare_all(&r);
    ix->iter_free(r.it);
    M->iter_free(r.mit);
    ix->free_(r.t);
    M->free_(r.m);
    larch_epoch_barrier();
    return 0;
}
