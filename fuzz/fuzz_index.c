/* Differential fuzzing of an ordered index. The first byte picks a sorted universe
 * of keys built to collide and share prefixes (every short string over {00 01 FF},
 * keys behind shared prefixes of up to 1000 bytes, thousands of numbers, a mix of
 * short and 300-1000-byte keys); the rest decodes into operations on keys named by
 * their position in it. Each operation runs on the index and on the model, an array
 * indexed by key id that is correct by inspection, and any difference aborts:
 * return codes, out-values, what update's fn saw, scans, iterator positions, the
 * whole contents and check(). The input may also make an allocation fail, which
 * must give LARCH_ENOMEM and change nothing.
 *
 * Iterator moves with no write since the seek must match the model exactly; moves
 * across writes are held to the contract of API.md (keys in order, each value one
 * the key held during the pass, no key skipped that stayed present throughout). */
#include "fuzz_index.h"

#include <larch/epoch.h>
#include <string.h>

#include "common/alloc.h"
#include "fuzz_input.h"
#include "index_test.h"

/* ---- the key universes ----------------------------------------------------------- */

enum { UNIVERSES = 4 };
static struct dump universes[UNIVERSES];

static void build_tiny(struct dump *u) {
    static const unsigned char alphabet[] = {0x00, 0x01, 0xFF};
    unsigned char key[3];
    for (size_t len = 0; len <= 3; len++) {
        size_t count = 1;
        for (size_t i = 0; i < len; i++)
            count *= 3;
        for (size_t c = 0; c < count; c++) {
            size_t x = c;
            for (size_t i = 0; i < len; i++, x /= 3)
                key[i] = alphabet[x % 3];
            dump_add(u, key, len, 0);
        }
    }
}

static void build_prefixes(struct dump *u) {
    /* Shared prefixes of 0, 9, 300 and 1000 bytes (each a prefix of the next), then
     * every tail of up to 3 bytes over {00 'a' FF}: few long keys fill a 4 KiB node. */
    static const unsigned char alphabet[] = {0x00, 'a', 0xFF};
    static const size_t prefixes[] = {0, 9, 300, 1000};
    static unsigned char key[LARCH_KEY_MAX];
    memset(key, 'P', sizeof key);
    for (size_t p = 0; p < 4; p++) {
        for (size_t tail = 0; tail <= 3; tail++) {
            size_t count = tail == 0 ? 1 : tail == 1 ? 3 : tail == 2 ? 9 : 27;
            for (size_t c = 0; c < count; c++) {
                size_t x = c;
                for (size_t i = 0; i < tail; i++, x /= 3)
                    key[prefixes[p] + i] = alphabet[x % 3];
                dump_add(u, key, prefixes[p] + tail, 0);
            }
        }
    }
}

static void build_numbers(struct dump *u) {
    unsigned char key[8];
    for (uint64_t i = 0; i < 2048; i++)
        dump_add(u, key, key_u64(key, i * 17), 0);
}

static void build_mixed(struct dump *u) {
    /* Two bytes of id, then a tail: one key in five of 300 to 1000 bytes. */
    static unsigned char key[LARCH_KEY_MAX];
    for (unsigned id = 0; id < 512; id++) {
        size_t len = 2 + (id % 5 == 0 ? 300 + id % 700 : id % 6);
        memset(key, 'k', len);
        key[0] = (unsigned char)(id >> 8);
        key[1] = (unsigned char)id;
        dump_add(u, key, len, 0);
    }
}

static const struct dump *universe(unsigned which) {
    static void (*const build[UNIVERSES])(struct dump *) = {build_tiny, build_prefixes,
                                                            build_numbers, build_mixed};
    struct dump *u = &universes[which % UNIVERSES];
    if (u->n == 0) {
        build[which % UNIVERSES](u);
        dump_sort_unique(u);
    }
    return u;
}

/* The first id whose key is >= (key, len), or n. */
static size_t lower_bound(const struct dump *u, const void *key, size_t len) {
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(u->e[mid].key, u->e[mid].len, key, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- the run --------------------------------------------------------------------- */

/* The state of a key before a write during the current iterator pass. */
struct before {
    size_t id;
    uint64_t val;
    int present;
};

struct run {
    const struct index_ops *ix;
    const struct dump *u;
    struct fuzz_input in;
    void *t, *it;
    /* The model. */
    unsigned char *present;
    uint64_t *val;
    size_t count;
    /* The current iterator pass: where the index's iterator is, whether no write has
     * happened since its seek, and what the writes since then replaced. */
    int it_valid;
    size_t it_id;
    int exact;
    unsigned pass;
    unsigned *touched; /* touched[id] == pass: written during this pass */
    struct before *log;
    size_t nlog, caplog;
    size_t *pending; /* ids passed over while present, checked when the pass ends */
    size_t npending, cappending;
    /* Allocation failure armed for the current operation. */
    int injecting;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size) {
    if (n < *cap)
        return p;
    *cap = *cap ? 2 * *cap : 64;
    p = realloc(p, *cap * size);
    if (!p)
        abort();
    return p;
}

static size_t pick(struct run *r) {
    unsigned x = r->u->n > 256 ? fuzz_u16(&r->in) : fuzz_byte(&r->in);
    return x % r->u->n;
}

static const struct entry *key_of(struct run *r, size_t id) {
    return &r->u->e[id];
}

/* Every write goes through here, so the iterator pass knows what it replaced. */
static void model_set(struct run *r, size_t id, int present, uint64_t val) {
    r->log = grow(r->log, &r->caplog, r->nlog, sizeof *r->log);
    r->log[r->nlog++] = (struct before){id, r->val[id], r->present[id]};
    r->touched[id] = r->pass;
    r->exact = 0;
    r->count += (size_t)present - (size_t)r->present[id];
    r->present[id] = (unsigned char)present;
    r->val[id] = present ? val : 0;
}

/* The key held val at some moment of the current pass. */
static int held_during_pass(const struct run *r, size_t id, uint64_t val) {
    if (r->present[id] && r->val[id] == val)
        return 1;
    for (size_t i = 0; i < r->nlog; i++)
        if (r->log[i].id == id && r->log[i].present && r->log[i].val == val)
            return 1;
    return 0;
}

static int present_throughout_pass(const struct run *r, size_t id) {
    return r->present[id] && r->touched[id] != r->pass;
}

/* Arms an allocation failure for the next call if the input asks for one. */
static void maybe_inject(struct run *r) {
    unsigned b = fuzz_byte(&r->in);
    r->injecting = b >= 0xC0;
    if (r->injecting)
        larch__alloc_fail_at(b & 15, b & 16);
}

static int disarm(struct run *r) {
    int was = r->injecting;
    larch__alloc_fail_at(-1, 0);
    r->injecting = 0;
    return was;
}

/* ---- point operations ------------------------------------------------------------ */

static void op_put(struct run *r, int insert) {
    size_t id = pick(r);
    const struct entry *k = key_of(r, id);
    uint64_t v = fuzz_value(&r->in), out = 0;
    maybe_inject(r);
    int rc = insert ? r->ix->insert(r->t, k->key, k->len, v, &out)
                    : r->ix->put(r->t, k->key, k->len, v, &out);
    if (disarm(r) && rc == LARCH_ENOMEM)
        return;
    int present = r->present[id];
    FUZZ_EXPECT(rc == (present ? LARCH_EXISTS : LARCH_OK), "%s of key %zu: %d, model present %d",
                insert ? "insert" : "put", id, rc, present);
    FUZZ_EXPECT(!present || out == r->val[id], "%s of key %zu: out %llu, model %llu",
                insert ? "insert" : "put", id, (unsigned long long)out,
                (unsigned long long)r->val[id]);
    if (!present || !insert)
        model_set(r, id, 1, v);
}

static void op_get(struct run *r) {
    size_t id = pick(r);
    const struct entry *k = key_of(r, id);
    uint64_t v = 0;
    int rc = r->ix->get(r->t, k->key, k->len, &v);
    FUZZ_EXPECT(rc == (r->present[id] ? LARCH_OK : LARCH_NOTFOUND), "get of key %zu: %d", id, rc);
    FUZZ_EXPECT(rc != LARCH_OK || v == r->val[id], "get of key %zu: %llu, model %llu", id,
                (unsigned long long)v, (unsigned long long)r->val[id]);
}

static void op_del(struct run *r) {
    size_t id = pick(r);
    const struct entry *k = key_of(r, id);
    uint64_t old = 0;
    maybe_inject(r);
    int rc = r->ix->del(r->t, k->key, k->len, &old);
    if (disarm(r) && rc == LARCH_ENOMEM)
        return;
    FUZZ_EXPECT(rc == (r->present[id] ? LARCH_OK : LARCH_NOTFOUND), "del of key %zu: %d", id, rc);
    FUZZ_EXPECT(rc != LARCH_OK || old == r->val[id], "del of key %zu: old %llu, model %llu", id,
                (unsigned long long)old, (unsigned long long)r->val[id]);
    if (rc == LARCH_OK)
        model_set(r, id, 0, 0);
}

static void op_cas(struct run *r) {
    size_t id = pick(r);
    const struct entry *k = key_of(r, id);
    unsigned how = fuzz_byte(&r->in);
    uint64_t expected = how & 1 ? r->val[id] : fuzz_value(&r->in);
    uint64_t desired = fuzz_value(&r->in), cur = 0;
    maybe_inject(r);
    int rc = r->ix->cas(r->t, k->key, k->len, expected, desired, &cur);
    if (disarm(r) && rc == LARCH_ENOMEM)
        return;
    int want = !r->present[id] ? LARCH_NOTFOUND : r->val[id] == expected ? LARCH_OK : LARCH_EXISTS;
    FUZZ_EXPECT(rc == want, "cas of key %zu: %d, model %d", id, rc, want);
    FUZZ_EXPECT(rc != LARCH_EXISTS || cur == r->val[id], "cas of key %zu: cur %llu, model %llu", id,
                (unsigned long long)cur, (unsigned long long)r->val[id]);
    if (rc == LARCH_OK)
        model_set(r, id, 1, desired);
}

static void op_update(struct run *r) {
    static const int actions[] = {LARCH_UPDATE_KEEP,
                                  LARCH_UPDATE_STORE,
                                  LARCH_UPDATE_STORE,
                                  LARCH_UPDATE_DELETE,
                                  LARCH_UPDATE_DELETE,
                                  3,
                                  -1,
                                  0x7fffffff};
    size_t id = pick(r);
    const struct entry *k = key_of(r, id);
    struct update_call c = {actions[fuzz_byte(&r->in) % 8], 0, -1, fuzz_value(&r->in), 0};
    maybe_inject(r);
    int rc = r->ix->update(r->t, k->key, k->len, update_call_fn, &c);
    if (disarm(r) && rc == LARCH_ENOMEM) {
        FUZZ_EXPECT(c.calls == 0, "update of key %zu failed with ENOMEM after fn ran", id);
        return;
    }
    int present = r->present[id];
    int valid = c.action >= LARCH_UPDATE_KEEP && c.action <= LARCH_UPDATE_DELETE;
    int want = !valid ? LARCH_EINVAL : present ? LARCH_OK : LARCH_NOTFOUND;
    FUZZ_EXPECT(rc == want, "update (action %d) of key %zu: %d, model %d", c.action, id, rc, want);
    FUZZ_EXPECT(c.calls == 1, "update's fn ran %d times", c.calls);
    FUZZ_EXPECT(c.present == present && c.seen == r->val[id],
                "update of key %zu: fn saw present %d value %llu, model %d %llu", id, c.present,
                (unsigned long long)c.seen, present, (unsigned long long)r->val[id]);
    if (c.action == LARCH_UPDATE_STORE)
        model_set(r, id, 1, c.store);
    else if (c.action == LARCH_UPDATE_DELETE && present)
        model_set(r, id, 0, 0);
}

/* Puts or deletes a run of consecutive keys: how trees grow levels and lose them. */
static void op_bulk(struct run *r, int del) {
    size_t id = pick(r), n = fuzz_byte(&r->in) + 1;
    uint64_t base = fuzz_value(&r->in);
    for (size_t i = 0; i < n && id + i < r->u->n; i++) {
        const struct entry *k = key_of(r, id + i);
        int rc = del ? r->ix->del(r->t, k->key, k->len, NULL)
                     : r->ix->put(r->t, k->key, k->len, base + i, NULL);
        int want = del ? (r->present[id + i] ? LARCH_OK : LARCH_NOTFOUND)
                       : (r->present[id + i] ? LARCH_EXISTS : LARCH_OK);
        FUZZ_EXPECT(rc == want, "bulk %s of key %zu: %d, model %d", del ? "del" : "put", id + i, rc,
                    want);
        if (del ? rc == LARCH_OK : 1)
            model_set(r, id + i, !del, base + i);
    }
}

/* ---- bounds, scans --------------------------------------------------------------- */

static unsigned char bound_buf[2][2 * LARCH_KEY_MAX + 2];

/* A seek or scan bound: a universe key as it is, cut short, extended by a byte,
 * raw bytes from the input, or longer than LARCH_KEY_MAX. */
static size_t bound(struct run *r, unsigned char *out) {
    unsigned how = fuzz_byte(&r->in) % 6;
    if (how == 5) {
        size_t len = fuzz_byte(&r->in) % 17;
        for (size_t i = 0; i < len; i++)
            out[i] = (unsigned char)fuzz_byte(&r->in);
        return len;
    }
    const struct entry *e = key_of(r, pick(r));
    memcpy(out, e->key, e->len);
    switch (how) {
    case 0:
    case 1:
        return e->len;
    case 2:
        return e->len ? fuzz_byte(&r->in) % e->len : 0;
    case 3:
        out[e->len] = (unsigned char)(fuzz_byte(&r->in) & 1 ? 0xFF : 0x00);
        return e->len + 1;
    default:
        memset(out + e->len, fuzz_byte(&r->in) & 1 ? 0xFF : 0x00, LARCH_KEY_MAX + 1);
        return e->len + LARCH_KEY_MAX + 1;
    }
}

struct scan_check {
    struct run *r;
    size_t next_id, end_id; /* the model's next key at or after next_id, below end_id */
    long calls, limit;
};

static size_t next_present(const struct run *r, size_t id, size_t end) {
    while (id < end && !r->present[id])
        id++;
    return id;
}

static int scan_check_fn(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_check *s = ctx;
    struct run *r = s->r;
    size_t want = next_present(r, s->next_id, s->end_id);
    FUZZ_EXPECT(want < s->end_id, "scan call %ld: a key past the model's last", s->calls);
    const struct entry *e = key_of(r, want);
    FUZZ_EXPECT(key_cmp(key, len, e->key, e->len) == 0 && val == r->val[want],
                "scan call %ld: not the model's key %zu (value %llu, model %llu)", s->calls, want,
                (unsigned long long)val, (unsigned long long)r->val[want]);
    s->next_id = want + 1;
    s->calls++;
    return s->limit && s->calls >= s->limit;
}

static void op_scan(struct run *r) {
    size_t lolen = bound(r, bound_buf[0]), hilen = bound(r, bound_buf[1]);
    unsigned how = fuzz_byte(&r->in);
    int unbounded = how & 1;
    struct scan_check s = {r, lower_bound(r->u, bound_buf[0], lolen),
                           unbounded ? r->u->n : lower_bound(r->u, bound_buf[1], hilen), 0,
                           (long)(how >> 1) % 24};
    maybe_inject(r);
    long n = r->ix->scan(r->t, bound_buf[0], lolen, unbounded ? NULL : bound_buf[1], hilen,
                         scan_check_fn, &s);
    if (disarm(r) && n == LARCH_ENOMEM)
        return; /* what it called fn with was checked: a correct prefix */
    /* The model's count: every key in range, or up to the stopping call. */
    long want = 0;
    for (size_t id = lower_bound(r->u, bound_buf[0], lolen); id < s.end_id; id++)
        want += r->present[id];
    if (s.limit && want > s.limit)
        want = s.limit;
    FUZZ_EXPECT(n == want && s.calls == n, "scan returned %ld after %ld calls, model %ld", n,
                s.calls, want);
}

/* ---- iterators ------------------------------------------------------------------- */

static void expect_position(struct run *r, const char *move, int valid, size_t id) {
    int got = r->ix->iter_valid(r->it);
    FUZZ_EXPECT(got == valid, "%s: iterator valid %d, model %d (key %zu)", move, got, valid, id);
    size_t len = 1;
    const void *k = r->ix->iter_key(r->it, &len);
    if (!valid) {
        FUZZ_EXPECT(k == NULL && len == 0 && r->ix->iter_value(r->it) == 0,
                    "%s: an invalid iterator answered a key or value", move);
        return;
    }
    const struct entry *e = key_of(r, id);
    FUZZ_EXPECT(k && key_cmp(k, len, e->key, e->len) == 0, "%s: iterator not on key %zu", move, id);
    FUZZ_EXPECT(r->ix->iter_value(r->it) == r->val[id], "%s: value %llu, model %llu", move,
                (unsigned long long)r->ix->iter_value(r->it), (unsigned long long)r->val[id]);
}

/* The pass ends: a key passed over that stayed present throughout is a miss. */
static void end_pass(struct run *r) {
    for (size_t i = 0; i < r->npending; i++)
        FUZZ_EXPECT(!present_throughout_pass(r, r->pending[i]),
                    "iterator skipped key %zu, present throughout the pass", r->pending[i]);
    r->npending = 0;
    r->nlog = 0;
    r->pass++;
    r->exact = 1;
}

/* The last present id <= id, or SIZE_MAX. */
static size_t prev_present(const struct run *r, size_t id) {
    for (size_t i = id + 1; i-- > 0;)
        if (r->present[i])
            return i;
    return SIZE_MAX;
}

static void set_position(struct run *r, size_t id, size_t none) {
    r->it_valid = id != none;
    r->it_id = r->it_valid ? id : 0;
}

static void op_seek(struct run *r) {
    end_pass(r);
    unsigned how = fuzz_byte(&r->in) % 4;
    size_t len = how >= 2 ? bound(r, bound_buf[0]) : 0;
    maybe_inject(r);
    const char *what;
    switch (how) {
    case 0:
        what = "seek_first";
        r->ix->iter_seek_first(r->it);
        set_position(r, next_present(r, 0, r->u->n), r->u->n);
        break;
    case 1:
        what = "seek_last";
        r->ix->iter_seek_last(r->it);
        set_position(r, r->u->n ? prev_present(r, r->u->n - 1) : SIZE_MAX, SIZE_MAX);
        break;
    case 2:
        what = "seek";
        r->ix->iter_seek(r->it, bound_buf[0], len);
        set_position(r, next_present(r, lower_bound(r->u, bound_buf[0], len), r->u->n), r->u->n);
        break;
    default: {
        what = "seek_for_prev";
        r->ix->iter_seek_for_prev(r->it, bound_buf[0], len);
        /* The last key <= bound: the one before the first key > bound. */
        size_t above = lower_bound(r->u, bound_buf[0], len);
        if (above < r->u->n &&
            key_cmp(r->u->e[above].key, r->u->e[above].len, bound_buf[0], len) == 0)
            above++;
        set_position(r, above ? prev_present(r, above - 1) : SIZE_MAX, SIZE_MAX);
        break;
    }
    }
    int status = r->ix->iter_status(r->it);
    if (disarm(r) && status == LARCH_ENOMEM && !r->ix->iter_valid(r->it)) {
        r->it_valid = 0;
        return;
    }
    FUZZ_EXPECT(status == LARCH_OK, "%s: status %d", what, status);
    expect_position(r, what, r->it_valid, r->it_id);
}

static void op_move(struct run *r, int forward) {
    const char *what = forward ? "next" : "prev";
    int was_valid = r->it_valid;
    size_t from = r->it_id;
    maybe_inject(r);
    forward ? r->ix->iter_next(r->it) : r->ix->iter_prev(r->it);
    int status = r->ix->iter_status(r->it);
    if (disarm(r) && status == LARCH_ENOMEM && !r->ix->iter_valid(r->it)) {
        r->it_valid = 0;
        return;
    }
    if (!was_valid) {
        FUZZ_EXPECT(!r->ix->iter_valid(r->it), "%s revived an invalid iterator", what);
        return;
    }
    FUZZ_EXPECT(status == LARCH_OK, "%s: status %d", what, status);
    if (r->exact) {
        if (forward)
            set_position(r, next_present(r, from + 1, r->u->n), r->u->n);
        else
            set_position(r, from ? prev_present(r, from - 1) : SIZE_MAX, SIZE_MAX);
        expect_position(r, what, r->it_valid, r->it_id);
        return;
    }
    /* Writes happened during this pass: hold the move to the contract. */
    long to = forward ? (long)r->u->n : -1;
    if (r->ix->iter_valid(r->it)) {
        size_t len;
        const void *k = r->ix->iter_key(r->it, &len);
        uint64_t v = r->ix->iter_value(r->it);
        to = k ? dump_find(r->u, k, len) : -1;
        FUZZ_EXPECT(to >= 0, "%s returned a key never inserted", what);
        FUZZ_EXPECT(forward ? to > (long)from : to < (long)from, "%s went from key %zu to key %ld",
                    what, from, to);
        FUZZ_EXPECT(held_during_pass(r, (size_t)to, v),
                    "%s returned key %ld with value %llu, which it did not hold during the pass",
                    what, to, (unsigned long long)v);
        set_position(r, (size_t)to, SIZE_MAX);
    } else {
        size_t len = 1;
        FUZZ_EXPECT(r->ix->iter_key(r->it, &len) == NULL && len == 0 &&
                        r->ix->iter_value(r->it) == 0,
                    "an invalid iterator answered a key or value");
        r->it_valid = 0;
    }
    for (long id = forward ? (long)from + 1 : (long)from - 1; id != to; id += forward ? 1 : -1)
        if (present_throughout_pass(r, (size_t)id)) {
            r->pending = grow(r->pending, &r->cappending, r->npending, sizeof *r->pending);
            r->pending[r->npending++] = (size_t)id;
        }
}

static void op_new_iterator(struct run *r) {
    end_pass(r);
    r->ix->iter_free(r->it);
    maybe_inject(r);
    r->it = r->ix->iter_new(r->t);
    if (disarm(r) && !r->it)
        r->it = r->ix->iter_new(r->t);
    FUZZ_EXPECT(r->it != NULL, "iter_new failed");
    r->it_valid = 0;
    FUZZ_EXPECT(!r->ix->iter_valid(r->it), "a new iterator is valid");
}

/* ---- bad input and the whole index ----------------------------------------------- */

static int never_called(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)val, (void)present;
    fuzz_die("update called fn on bad input");
}

static void op_bad_input(struct run *r) {
    static unsigned char long_key[2 * LARCH_KEY_MAX];
    unsigned how = fuzz_byte(&r->in);
    int null_key = how & 1;
    size_t len = null_key ? 1 + fuzz_u16(&r->in) % LARCH_KEY_MAX
                          : LARCH_KEY_MAX + 1 + fuzz_u16(&r->in) % LARCH_KEY_MAX;
    const void *key = null_key ? NULL : long_key;
    int want = null_key ? LARCH_EINVAL : LARCH_EKEYSIZE;
    uint64_t v = 0;
    int rc;
    switch ((how >> 1) % 6) {
    case 0:
        rc = r->ix->put(r->t, key, len, 1, &v);
        break;
    case 1:
        rc = r->ix->insert(r->t, key, len, 1, &v);
        break;
    case 2:
        rc = r->ix->get(r->t, key, len, &v);
        break;
    case 3:
        rc = r->ix->del(r->t, key, len, &v);
        break;
    case 4:
        rc = r->ix->cas(r->t, key, len, 0, 1, &v);
        break;
    default:
        rc = r->ix->update(r->t, key, len, never_called, NULL);
        break;
    }
    FUZZ_EXPECT(rc == want, "bad input (how %u, len %zu): %d, expected %d", how, len, rc, want);
}

static void compare_all(struct run *r) {
    FUZZ_EXPECT(r->ix->check(r->t, stderr) == LARCH_OK, "check failed");
    FUZZ_EXPECT(r->ix->len(r->t) == r->count, "len %zu, model %zu", r->ix->len(r->t), r->count);
    struct dump expected = {0}, got = {0};
    for (size_t id = 0; id < r->u->n; id++)
        if (r->present[id])
            dump_add(&expected, r->u->e[id].key, r->u->e[id].len, r->val[id]);
    FUZZ_EXPECT(dump_scan(r->ix, r->t, &got) && dump_equal(&got, &expected, "scan"),
                "full scan differs from the model");
    FUZZ_EXPECT(dump_iter_forward(r->ix, r->t, &got) && dump_equal(&got, &expected, "forward"),
                "forward iteration differs from the model");
    FUZZ_EXPECT(dump_iter_backward(r->ix, r->t, &got) && dump_equal(&got, &expected, "backward"),
                "backward iteration differs from the model");
    dump_free(&expected);
    dump_free(&got);
}

int fuzz_index_run(const struct index_ops *ix, const uint8_t *data, size_t size) {
    struct run r = {.ix = ix, .in = {data, data + size}, .exact = 1, .pass = 1};
    r.u = universe(fuzz_byte(&r.in));
    r.present = calloc(r.u->n, 1);
    r.val = calloc(r.u->n, sizeof *r.val);
    r.touched = calloc(r.u->n, sizeof *r.touched);
    r.t = ix->new_();
    r.it = r.t ? ix->iter_new(r.t) : NULL;
    if (!r.present || !r.val || !r.touched || !r.it)
        abort();
    while (fuzz_more(&r.in)) {
        switch (fuzz_byte(&r.in) % 16) {
        case 0:
        case 1:
            op_put(&r, 0);
            break;
        case 2:
            op_put(&r, 1);
            break;
        case 3:
            op_get(&r);
            break;
        case 4:
            op_del(&r);
            break;
        case 5:
            op_cas(&r);
            break;
        case 6:
            op_update(&r);
            break;
        case 7:
            op_scan(&r);
            break;
        case 8:
            op_seek(&r);
            break;
        case 9:
        case 10:
            op_move(&r, 1);
            break;
        case 11:
            op_move(&r, 0);
            break;
        case 12:
            op_bulk(&r, fuzz_byte(&r.in) & 1);
            break;
        case 13:
            op_bad_input(&r);
            break;
        case 14:
            op_new_iterator(&r);
            break;
        default:
            if (fuzz_byte(&r.in) < 64)
                compare_all(&r);
            else
                FUZZ_EXPECT(ix->len(r.t) == r.count, "len %zu, model %zu", ix->len(r.t), r.count);
            break;
        }
    }
    end_pass(&r);
    compare_all(&r);
    ix->iter_free(r.it);
    ix->free_(r.t);
    /* Run the retirements the index made, so that each input starts from nothing. */
    larch_epoch_barrier();
    free(r.present);
    free(r.val);
    free(r.touched);
    free(r.log);
    free(r.pending);
    return 0;
}
