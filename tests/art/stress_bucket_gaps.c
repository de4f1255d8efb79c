/* Review test of the gapped buckets: values that are pointers to objects stay
 * readable while inserts and deletes shift entries to the nearest gap and buckets
 * fill to their last slot, grow, burst, shrink and fold, in buckets holding the
 * ends of their keys' range (the 8-byte keys 0, the word that also means "no
 * first key", and UINT64_MAX, the key of the gaps past the last entry) and in
 * buckets of 3-byte keys. Pinned readers look up, scan from bounds inside the
 * buckets and iterate backwards, and dereference every value they get: an object
 * must name its key (a value moved without release, read without acquire, or
 * read from a slot whose entry moved on, fails here or under TSan/ASan). Keys
 * that stay put are always found. Run optimistic, lock-coupled and mixed. */
#include <larch/art.h>
#include <larch/epoch.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "art/tree.h"
#include "harness.h"

/* Four groups of keys, each below its own byte so that each is its own bucket:
 * 8 bytes under 00*6 (256 keys, 0 among them: a bucket filled to its last slot
 * and emptied again), 8 bytes under ff*6 (320 keys, UINT64_MAX among them: a
 * bucket that bursts into four, by the seventh byte), and 3 bytes under 1000 and
 * efff (256 each, 00 to ff: one full bucket each). */
enum { GROUPS = 4, KEYS = 256 + 320 + 256 + 256, STABLE_EVERY = 16 };
static const unsigned group_from[GROUPS + 1] = {0, 256, 576, 832, KEYS};
static const unsigned char group_fill[GROUPS][2] = {{0, 0}, {0xff, 0xff}, {0x10, 0}, {0xef, 0xff}};

static larch_art *tree;
static atomic_int writers_done;
static uint16_t tail_of[KEYS];      /* key i's varying bytes */
static uint16_t index_of[2][65536]; /* (8-byte group, tail) -> i + 1 */

struct obj {
    uint64_t id, check;
};

static uint64_t seal(uint64_t id) {
    return ~id * 0x9E3779B97F4A7C15ull;
}

static void obj_free(void *p) {
    struct obj *o = p;
    o->id = UINT64_MAX; /* poison: a reader that still holds it fails */
    o->check = 0;
    free(o);
}

static struct obj *obj_new(unsigned i) {
    struct obj *o = malloc(sizeof *o);
    if (!o)
        abort();
    o->id = i;
    o->check = seal(i);
    return o;
}

static unsigned group_of(unsigned i) {
    unsigned g = 0;
    while (i >= group_from[g + 1])
        g++;
    return g;
}

static size_t key_of(unsigned i, unsigned char *k) {
    unsigned g = group_of(i);
    if (g < 2) {
        memset(k, group_fill[g][0], 6);
        k[6] = (unsigned char)(tail_of[i] >> 8);
        k[7] = (unsigned char)tail_of[i];
        return 8;
    }
    k[0] = group_fill[g][0];
    k[1] = group_fill[g][1];
    k[2] = (unsigned char)tail_of[i];
    return 3;
}

/* The index of a key the tree handed out, or KEYS if it is none of ours. */
static unsigned decode(const unsigned char *k, size_t len) {
    if (len == 3) {
        for (unsigned g = 2; g < GROUPS; g++)
            if (k[0] == group_fill[g][0] && k[1] == group_fill[g][1])
                return group_from[g] + k[2];
        return KEYS;
    }
    if (len != 8 || (k[0] != 0 && k[0] != 0xff))
        return KEYS;
    for (size_t b = 1; b < 6; b++)
        if (k[b] != k[0])
            return KEYS;
    unsigned e = index_of[k[0] ? 1 : 0][(unsigned)k[6] << 8 | k[7]];
    return e ? e - 1 : KEYS;
}

/* Stable keys are never deleted: every 16th, and each group's lowest (in the
 * first group: the key 0) and highest possible key (in the second: UINT64_MAX). */
static bool stable(unsigned i) {
    uint16_t top = group_of(i) < 2 ? 0xffff : 0xff;
    return i % STABLE_EVERY == 0 || tail_of[i] == 0 || tail_of[i] == top;
}

static void setup_keys(void) {
    memset(index_of, 0, sizeof index_of);
    for (unsigned i = 0; i < KEYS; i++) {
        unsigned g = group_of(i), j = i - group_from[g];
        if (g == 0) /* the ends, and the rest spread by an odd multiplier */
            tail_of[i] = (uint16_t)(j == 0 ? 0 : j == 1 ? 0xffff : (j * 40503u) & 0xfffe);
        else if (g == 1) /* four buckets after the burst, by the seventh byte */
            tail_of[i] = (uint16_t)((0xfc + j % 4) << 8 | ((j / 4 * 167u + 0xff) & 0xff));
        else
            tail_of[i] = (uint16_t)j; /* a whole bucket's worth: 00 to ff */
        if (g < 2) {
            REQUIRE(index_of[g][tail_of[i]] == 0);
            index_of[g][tail_of[i]] = (uint16_t)(i + 1);
        }
    }
    REQUIRE(index_of[1][0xffff] != 0); /* UINT64_MAX is a key */
}

static void retire_value(uint64_t v) {
    if (v)
        larch_epoch_retire((void *)(uintptr_t)v, obj_free);
}

static void put_new(unsigned i, long *bad) {
    unsigned char k[8];
    size_t len = key_of(i, k);
    uint64_t old = 0;
    struct obj *o = obj_new(i);
    int rc = larch_art_put(tree, k, len, (uint64_t)(uintptr_t)o, &old);
    if (rc == LARCH_EXISTS)
        retire_value(old);
    else if (rc != LARCH_OK)
        (*bad)++;
    *bad += stable(i) && rc != LARCH_EXISTS;
}

/* Delete key i if present, its value retired. */
static void delete_key(unsigned i) {
    unsigned char k[8];
    size_t len = key_of(i, k);
    uint64_t old = 0;
    if (larch_art_del(tree, k, len, &old) == LARCH_OK)
        retire_value(old);
}

static void *churn(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    long ops = (under_sanitizer() ? 60000 : 300000) * stress_scale(), bad = 0;
    for (long n = 0; n < ops; n++) {
        uint64_t r = test_rand(&rng);
        unsigned i = (unsigned)(r % KEYS);
        if (r >> 60 == 0) {
            /* A sweep over one group: fill it (bursting a bucket of 8-byte keys,
             * filling the 3-byte one to its last slot) or empty it (shrinking). */
            unsigned g = group_of(i), from = group_from[g], to = group_from[g + 1];
            bool fill = r >> 59 & 1;
            for (unsigned j = from; j < to; j++) {
                unsigned x = from + (j - from) * 7 % (to - from); /* out of order */
                if (stable(x))
                    continue;
                if (fill) {
                    put_new(x, &bad);
                } else {
                    delete_key(x);
                }
            }
            n += to - from;
        } else if (stable(i) || r >> 40 & 1) {
            put_new(i, &bad);
        } else {
            delete_key(i);
        }
    }
    atomic_fetch_add(&writers_done, 1);
    return (void *)(intptr_t)bad;
}

/* A value handed out for key i must be a live object naming i. */
static long check_value(unsigned i, uint64_t v) {
    const struct obj *o = (const struct obj *)(uintptr_t)v;
    return i >= KEYS || !o || o->id != i || o->check != seal(i);
}

struct seen {
    unsigned char prev[8];
    size_t prev_len;
    bool any;
    int dir;
    long bad, stable;
};

static void see(struct seen *s, const unsigned char *key, size_t len, uint64_t v) {
    unsigned i = decode(key, len);
    s->bad += check_value(i, v);
    s->stable += i < KEYS && stable(i);
    if (s->any) {
        size_t m = len < s->prev_len ? len : s->prev_len;
        int c = memcmp(s->prev, key, m);
        c = c ? c : (s->prev_len > len) - (s->prev_len < len);
        s->bad += c * s->dir >= 0; /* strictly in the walk's order */
    }
    memcpy(s->prev, key, len);
    s->prev_len = len;
    s->any = true;
}

static int scan_see(void *ctx, const void *key, size_t len, uint64_t v) {
    see(ctx, key, len, v);
    return 0;
}

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The stable keys in [lo, hi) (hi NULL: no end), or <= from when dir < 0. */
static long stable_between(const unsigned char *lo, size_t lolen, const unsigned char *hi,
                           size_t hilen) {
    long n = 0;
    unsigned char k[8];
    for (unsigned i = 0; i < KEYS; i++) {
        if (!stable(i))
            continue;
        size_t len = key_of(i, k);
        n += key_cmp(k, len, lo, lolen) >= 0 && (!hi || key_cmp(k, len, hi, hilen) < 0);
    }
    return n;
}

static void *read_all_ways(void *arg) {
    int writers = (int)(intptr_t)arg;
    uint64_t rng = 77;
    long bad = 0, rounds = 0;
    larch_art_iter *it = larch_art_iter_new(tree);
    if (!it)
        return (void *)(intptr_t)1;
    unsigned char k[8], lo[8], hi[8];
    while (atomic_load(&writers_done) < writers || rounds < 5) {
        rounds++;
        larch_epoch_pin();
        for (unsigned n = 0; n < 64; n++) {
            unsigned i = (unsigned)(test_rand(&rng) % KEYS);
            size_t len = key_of(i, k);
            uint64_t v = 0;
            int rc = larch_art_get(tree, k, len, &v);
            if (rc == LARCH_OK)
                bad += check_value(i, v);
            else
                bad += stable(i) || rc != LARCH_NOTFOUND;
        }
        /* A scan from a key (or a prefix of one, or a key plus a byte) to another
         * key of the same group: bounds that land inside a bucket. */
        uint64_t r = test_rand(&rng);
        unsigned a = (unsigned)(r % KEYS), b = (unsigned)(r >> 32) % KEYS;
        size_t lolen = key_of(a, lo), hilen = key_of(b, hi);
        if (r >> 20 & 1)
            lolen -= 1; /* a prefix: below every key that extends it */
        else if (r >> 21 & 1 && lolen < 8)
            lo[lolen++] = 0; /* just above the key */
        struct seen s = {.dir = 1};
        bool upward = key_cmp(lo, lolen, hi, hilen) < 0;
        larch_art_scan(tree, lo, lolen, upward ? hi : NULL, upward ? hilen : 0, scan_see, &s);
        bad += s.bad + (s.stable != stable_between(lo, lolen, upward ? hi : NULL, hilen));
        /* Backwards from a key, through gaps and across buckets. */
        struct seen d = {.dir = -1};
        unsigned steps = 0;
        for (larch_art_iter_seek_for_prev(it, hi, hilen); larch_art_iter_valid(it) && steps < 48;
             larch_art_iter_prev(it), steps++) {
            size_t len;
            const unsigned char *key = larch_art_iter_key(it, &len);
            if (len > 8) {
                bad++;
                break;
            }
            see(&d, key, len, larch_art_iter_value(it));
        }
        bad += d.bad + (steps == 0); /* 3-byte 000000, stable, is at or below */
        larch_epoch_unpin();
    }
    larch_art_iter_free(it);
    return (void *)(intptr_t)bad;
}

static int free_value(void *ctx, const void *key, size_t len, uint64_t v) {
    (void)key;
    (void)len;
    *(long *)ctx += 1;
    obj_free((void *)(uintptr_t)v);
    return 0;
}

static void run(unsigned attempts) {
    larch__art_optimistic_attempts = attempts;
    setup_keys();
    tree = larch_art_new();
    REQUIRE(tree != NULL);
    long bad = 0, stables = 0;
    for (unsigned i = 0; i < KEYS; i++)
        if (stable(i)) {
            unsigned char k[8];
            size_t len = key_of(i, k);
            REQUIRE(larch_art_put(tree, k, len, (uint64_t)(uintptr_t)obj_new(i), NULL) == LARCH_OK);
            stables++;
        }
    atomic_store(&writers_done, 0);
    enum { WRITERS = 2, READERS = 2 };
    pthread_t w[WRITERS], r[READERS];
    for (uintptr_t i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, churn, (void *)(i + 1));
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, read_all_ways, (void *)(intptr_t)WRITERS);
    for (int i = 0; i < WRITERS + READERS; i++) {
        void *res;
        pthread_join(i < WRITERS ? w[i] : r[i - WRITERS], &res);
        bad += (long)(intptr_t)res;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(larch_art_check(tree, stderr), LARCH_OK);
    /* Every key where it should be, then every object freed once. */
    for (unsigned i = 0; i < KEYS; i++) {
        unsigned char k[8];
        size_t len = key_of(i, k);
        uint64_t v = 0;
        int rc = larch_art_get(tree, k, len, &v);
        CHECK(rc == LARCH_OK ? check_value(i, v) == 0 : !stable(i) && rc == LARCH_NOTFOUND);
    }
    long held = 0;
    larch_art_scan(tree, NULL, 0, NULL, 0, free_value, &held);
    CHECK_EQ(held, larch_art_len(tree));
    CHECK(held >= stables);
    larch_art_free(tree);
    larch_epoch_barrier();
    larch__art_optimistic_attempts = 16;
}

static void objects_in_gapped_buckets_under_optimistic_readers(void) {
    run(16);
}

static void objects_in_gapped_buckets_with_every_operation_lock_coupled(void) {
    run(0);
}

static void objects_in_gapped_buckets_with_optimistic_and_locked_operations_mixed(void) {
    run(1);
}

int main(void) {
    RUN(objects_in_gapped_buckets_under_optimistic_readers);
    RUN(objects_in_gapped_buckets_with_every_operation_lock_coupled);
    RUN(objects_in_gapped_buckets_with_optimistic_and_locked_operations_mixed);
    return harness_finish();
}
