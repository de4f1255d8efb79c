/* libFuzzer / AFL++ target: the memtable against a model that is a plain list of
 * versions, following the contract of API.md. The input decodes into puts and
 * deletes of (key, seq) pairs (keys that are prefixes of each other and keys of
 * 300 bytes and more; few sequence numbers, so that versions of a key interleave
 * and repeat), gets at snapshots, and iterators at a snapshot with each set of
 * flags, seeked and moved both ways; every result is compared with the model.
 * The input may also make an allocation fail, which must give LARCH_ENOMEM (NULL
 * from iter_new) and change nothing. Built when include/larch/memtable.h exists. */
#include <larch/memtable.h>
#include <string.h>

#include "common/alloc.h"
#include "fuzz_input.h"

/* ---- keys ------------------------------------------------------------------------ */

enum { KEYS = 52, VALUE_MAX = 40, VERSIONS_MAX = 4096 };

static unsigned char keys[KEYS][320];
static size_t key_lens[KEYS];

/* Every string of 0..3 bytes over {00 01 FF} (40 keys, each a prefix of others),
 * then the first 12 of them behind a shared 300-byte prefix. */
static void build_keys(void) {
    static const unsigned char alphabet[] = {0x00, 0x01, 0xFF};
    size_t id = 0;
    for (size_t len = 0; len <= 3; len++) {
        size_t count = len == 0 ? 1 : len == 1 ? 3 : len == 2 ? 9 : 27;
        for (size_t c = 0; c < count; c++, id++) {
            size_t x = c;
            for (size_t i = 0; i < len; i++, x /= 3)
                keys[id][i] = alphabet[x % 3];
            key_lens[id] = len;
        }
    }
    for (size_t i = 0; id < KEYS; i++, id++) { /* the prefix, then short key i */
        memset(keys[id], 'P', 300);
        memcpy(keys[id] + 300, keys[i], key_lens[i]);
        key_lens[id] = 300 + key_lens[i];
    }
}

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

/* ---- the model ------------------------------------------------------------------- */

struct version {
    int key;
    uint64_t seq;
    int tombstone;
    size_t vlen;
    unsigned char val[VALUE_MAX];
};

static struct version versions[VERSIONS_MAX];
static size_t nversions;

static long find_version(int key, uint64_t seq) {
    for (size_t i = 0; i < nversions; i++)
        if (versions[i].key == key && versions[i].seq == seq)
            return (long)i;
    return -1;
}

/* The version of key visible at snapshot (greatest seq <= snapshot), or NULL. */
static const struct version *visible(int key, uint64_t snapshot) {
    const struct version *best = NULL;
    for (size_t i = 0; i < nversions; i++) {
        const struct version *v = &versions[i];
        if (v->key == key && v->seq <= snapshot && (!best || v->seq > best->seq))
            best = v;
    }
    return best;
}

/* What an iterator at (snapshot, flags) walks, in order. */
static const struct version *view[VERSIONS_MAX];
static size_t nview;

static int view_order(const void *a, const void *b) {
    const struct version *x = *(const struct version *const *)a;
    const struct version *y = *(const struct version *const *)b;
    int c = key_cmp(keys[x->key], key_lens[x->key], keys[y->key], key_lens[y->key]);
    if (c)
        return c;
    return (x->seq < y->seq) - (x->seq > y->seq); /* seq descending */
}

static void build_view(uint64_t snapshot, int flags) {
    nview = 0;
    for (size_t i = 0; i < nversions; i++) {
        const struct version *v = &versions[i];
        if (v->seq > snapshot)
            continue;
        if (!(flags & LARCH_ITER_ALL_VERSIONS)) {
            if (visible(v->key, snapshot) != v)
                continue;
            if (v->tombstone && !(flags & LARCH_ITER_TOMBSTONES))
                continue;
        }
        view[nview++] = v;
    }
    qsort(view, nview, sizeof view[0], view_order);
}

/* ---- the run --------------------------------------------------------------------- */

static struct fuzz_input in;
static larch_memtable *mt;
static int injecting;

static void maybe_inject(void) {
    unsigned b = fuzz_byte(&in);
    injecting = b >= 0xD0;
    if (injecting)
        larch__alloc_fail_at(b & 7, b & 8);
}

static int disarm(void) {
    int was = injecting;
    larch__alloc_fail_at(-1, 0);
    injecting = 0;
    return was;
}

static uint64_t pick_seq(void) {
    unsigned b = fuzz_byte(&in);
    return b >= 0xF0 ? ((uint64_t)1 << 40) + (b & 15) : b % 48;
}

static uint64_t pick_snapshot(void) {
    unsigned b = fuzz_byte(&in);
    return b >= 0xE0 ? UINT64_MAX : b % 56;
}

static void op_write(int del) {
    int key = (int)(fuzz_byte(&in) % KEYS);
    uint64_t seq = pick_seq();
    unsigned char val[VALUE_MAX];
    size_t vlen = del ? 0 : fuzz_byte(&in) % (VALUE_MAX + 1);
    for (size_t i = 0; i < vlen; i++)
        val[i] = (unsigned char)fuzz_byte(&in);
    maybe_inject();
    int rc = del ? larch_memtable_del(mt, keys[key], key_lens[key], seq)
                 : larch_memtable_put(mt, keys[key], key_lens[key], seq, val, vlen);
    if (disarm() && rc == LARCH_ENOMEM)
        return;
    int exists = find_version(key, seq) >= 0;
    FUZZ_EXPECT(rc == (exists ? LARCH_EXISTS : LARCH_OK), "%s of key %d seq %llu: %d, model %d",
                del ? "del" : "put", key, (unsigned long long)seq, rc, exists);
    if (rc == LARCH_OK && nversions < VERSIONS_MAX) {
        struct version *v = &versions[nversions++];
        *v = (struct version){key, seq, del, vlen, {0}};
        memcpy(v->val, val, vlen);
    }
}

static void op_get(void) {
    int key = (int)(fuzz_byte(&in) % KEYS);
    uint64_t snapshot = pick_snapshot(), seq = 12345;
    const void *val = &seq;
    size_t vlen = 777;
    int rc = larch_memtable_get(mt, keys[key], key_lens[key], snapshot, &val, &vlen, &seq);
    const struct version *v = visible(key, snapshot);
    int want = !v ? LARCH_NOTFOUND : v->tombstone ? LARCH_DELETED : LARCH_OK;
    FUZZ_EXPECT(rc == want, "get of key %d at %llu: %d, model %d", key,
                (unsigned long long)snapshot, rc, want);
    if (rc == LARCH_OK)
        FUZZ_EXPECT(val && vlen == v->vlen && memcmp(val, v->val, vlen) == 0 && seq == v->seq,
                    "get of key %d at %llu: another value or seq", key,
                    (unsigned long long)snapshot);
    if (rc == LARCH_DELETED)
        FUZZ_EXPECT(val == NULL && vlen == 0 && seq == v->seq,
                    "get of deleted key %d: val %p vlen %zu seq %llu", key, val, vlen,
                    (unsigned long long)seq);
}

static void expect_at(larch_memtable_iter *it, long pos, const char *what) {
    int valid = larch_memtable_iter_valid(it);
    FUZZ_EXPECT(larch_memtable_iter_status(it) == LARCH_OK, "%s: status %d", what,
                larch_memtable_iter_status(it));
    FUZZ_EXPECT(valid == (pos >= 0 && (size_t)pos < nview),
                "%s: valid %d, model position %ld of %zu", what, valid, pos, nview);
    if (!valid)
        return;
    const struct version *v = view[pos];
    size_t klen = 0, vlen = 0;
    const void *k = larch_memtable_iter_key(it, &klen);
    const void *val = larch_memtable_iter_value(it, &vlen);
    FUZZ_EXPECT(k && key_cmp(k, klen, keys[v->key], key_lens[v->key]) == 0,
                "%s: iterator not on key %d (position %ld)", what, v->key, pos);
    FUZZ_EXPECT(larch_memtable_iter_seq(it) == v->seq, "%s: seq %llu, model %llu", what,
                (unsigned long long)larch_memtable_iter_seq(it), (unsigned long long)v->seq);
    FUZZ_EXPECT(!larch_memtable_iter_is_tombstone(it) == !v->tombstone, "%s: tombstone %d", what,
                larch_memtable_iter_is_tombstone(it));
    if (v->tombstone)
        FUZZ_EXPECT(val == NULL, "%s: a tombstone with a value", what);
    else
        FUZZ_EXPECT(vlen == v->vlen && (vlen == 0 || (val && memcmp(val, v->val, vlen) == 0)),
                    "%s: another value", what);
}

/* First view position whose key is >= (or, for_prev, last whose key is <=) the bound. */
static long seek_position(const unsigned char *key, size_t len, int for_prev) {
    if (!for_prev) {
        size_t i = 0;
        while (i < nview && key_cmp(keys[view[i]->key], key_lens[view[i]->key], key, len) < 0)
            i++;
        return (long)i;
    }
    long i = (long)nview - 1;
    while (i >= 0 && key_cmp(keys[view[i]->key], key_lens[view[i]->key], key, len) > 0)
        i--;
    return i;
}

static void op_iterate(void) {
    static const int flag_sets[] = {0, LARCH_ITER_TOMBSTONES, LARCH_ITER_ALL_VERSIONS};
    uint64_t snapshot = pick_snapshot();
    int flags = flag_sets[fuzz_byte(&in) % 3];
    maybe_inject();
    larch_memtable_iter *it = larch_memtable_iter_new(mt, snapshot, flags);
    if (disarm() && !it)
        return;
    FUZZ_EXPECT(it != NULL, "iter_new failed");
    build_view(snapshot, flags);
    unsigned how = fuzz_byte(&in);
    long pos;
    unsigned char bound[320];
    size_t blen = 0;
    if (how % 4 >= 2) { /* a key, maybe cut short or extended */
        int key = (int)(fuzz_byte(&in) % KEYS);
        blen = key_lens[key];
        memcpy(bound, keys[key], blen);
        if (how & 4 && blen > 0)
            blen--;
        else if (how & 8)
            bound[blen++] = (unsigned char)(how & 16 ? 0xFF : 0x00);
    }
    switch (how % 4) {
    case 0:
        larch_memtable_iter_seek_first(it);
        pos = 0;
        break;
    case 1:
        larch_memtable_iter_seek_last(it);
        pos = (long)nview - 1;
        break;
    case 2:
        larch_memtable_iter_seek(it, bound, blen);
        pos = seek_position(bound, blen, 0);
        break;
    default:
        larch_memtable_iter_seek_for_prev(it, bound, blen);
        pos = seek_position(bound, blen, 1);
        break;
    }
    expect_at(it, pos, "seek");
    /* Moves; once off either end the iterator stays invalid. */
    for (unsigned moves = fuzz_byte(&in) % 24, bits = fuzz_byte(&in); moves > 0; moves--) {
        int forward = bits & 1;
        bits = bits >> 1 | (bits & 1) << 7;
        int valid = pos >= 0 && (size_t)pos < nview;
        forward ? larch_memtable_iter_next(it) : larch_memtable_iter_prev(it);
        if (valid)
            pos += forward ? 1 : -1;
        expect_at(it, pos, forward ? "next" : "prev");
    }
    larch_memtable_iter_free(it);
}

static void op_bad_input(void) {
    static unsigned char long_key[LARCH_KEY_MAX + 64];
    unsigned how = fuzz_byte(&in);
    int null_key = how & 1;
    size_t len = null_key ? 1 + how % 64 : LARCH_KEY_MAX + 1 + how % 64;
    const void *key = null_key ? NULL : long_key;
    int want = null_key ? LARCH_EINVAL : LARCH_EKEYSIZE;
    int rc;
    switch ((how >> 1) % 3) {
    case 0:
        rc = larch_memtable_put(mt, key, len, 1, "v", 1);
        break;
    case 1:
        rc = larch_memtable_del(mt, key, len, 1);
        break;
    default:
        rc = larch_memtable_get(mt, key, len, UINT64_MAX, NULL, NULL, NULL);
        break;
    }
    FUZZ_EXPECT(rc == want, "bad input (how %u): %d, expected %d", how, rc, want);
    FUZZ_EXPECT(larch_memtable_put(NULL, "k", 1, 1, "v", 1) == LARCH_EINVAL, "put on NULL");
}

static void compare_all(void) {
    FUZZ_EXPECT(larch_memtable_len(mt) == nversions, "len %zu, model %zu", larch_memtable_len(mt),
                nversions);
    FUZZ_EXPECT(larch_memtable_bytes(mt) > 0, "bytes 0");
    larch_memtable_iter *it = larch_memtable_iter_new(mt, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    FUZZ_EXPECT(it != NULL, "iter_new failed");
    build_view(UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    larch_memtable_iter_seek_first(it);
    for (size_t i = 0; i <= nview; i++) {
        expect_at(it, (long)i, "full pass");
        larch_memtable_iter_next(it);
    }
    larch_memtable_iter_free(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (key_lens[KEYS - 1] == 0)
        build_keys();
    in = (struct fuzz_input){data, data + size};
    nversions = 0;
    mt = larch_memtable_new();
    FUZZ_EXPECT(mt != NULL, "new failed");
    while (fuzz_more(&in)) {
        switch (fuzz_byte(&in) % 8) {
        case 0:
        case 1:
            op_write(0);
            break;
        case 2:
            op_write(1);
            break;
        case 3:
        case 4:
            op_get();
            break;
        case 5:
            op_iterate();
            break;
        case 6:
            op_bad_input();
            break;
        default:
            compare_all();
            break;
        }
    }
    compare_all();
    larch_memtable_free(mt);
    larch_epoch_barrier(); /* whatever the index under it retired */
    return 0;
}
