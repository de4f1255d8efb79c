/* Fixed-format inner nodes refusing separators of another length under
 * concurrency. Each round loads random 8-byte keys: fixed-format leaves and a
 * fixed-format root too full to be rebuilt slotted (more than 168 entries of 24
 * bytes). Then six writers squeezed onto two CPUs, each owning the keys around its
 * own leaf boundaries, insert and delete keys appended to full leaves (the split
 * keeps the leaf whole and cuts the separator from the new key): 9-byte keys that
 * extend a leaf's last key by one byte (9-byte separators) and short keys of 1 to
 * 7 bytes (separators of those lengths); and extensions of keys in the middle of
 * leaves (halves of equal bytes may be cut between a key and its extension), the
 * 8-byte keys themselves and new 8-byte keys. The root refuses such a separator;
 * the write is made again with room asked for on the way down while the other
 * writers split, redistribute and merge the same nodes. Readers look up keys that
 * stay present throughout and scan from them: every lookup finds its value, every
 * scan is strictly ascending and passes every present-throughout key in order.
 * Each writer knows exactly what each of its keys holds and checks them all at the
 * end; then larch_btree_check and the key count. A watchdog turns a livelock (a
 * refused write made again forever) into a failure instead of a hung CTest.
 *
 * Planted bugs it caught: parent_takes always true (segfault; UBSan: index out of
 * bounds), inner_has_room ignoring sep_need (watchdog), node_split_leaf_insert
 * building both halves before asking the parent (lost keys), refused() keeping
 * the spare (LeakSanitizer). */
#define _GNU_SOURCE
#include <larch/btree.h>

#include <signal.h>
#include <unistd.h>

#include "btree/census.h"
#include "btree/tree.h"
#include "cpus.h"
#include "harness.h"

/* BASE random 8-byte keys: a root of about 210 fixed 8-byte entries. Every
 * STABLE_EVERY-th stays present throughout. Per leaf boundary: its last key, EXT
 * extensions of it, up to 7 short keys between it and the next leaf's first key,
 * and MIDDLE keys from the leaf's middle with MIDDLE_EXT extensions each. Writer w
 * also inserts the new 8-byte keys BASE + i (i < GROW, i % WRITERS == w). */
enum { BASE = 40000, STABLE_EVERY = 8, WRITERS = 6, READERS = 2 };
enum { EXT = 8, MIDDLE = 4, MIDDLE_EXT = 2, GROW = 3000 };
enum { KEYS_PER_BOUNDARY = 1 + EXT + 7 + MIDDLE * (1 + MIDDLE_EXT) };

static const unsigned char ext_byte[EXT] = {0x00, 0x01, 0x02, 0x40, 0x80, 0xc0, 0xfe, 0xff};

static larch_btree *tree;
static atomic_int writers_done, writers_ready;

/* The i-th 8-byte key as an integer (an odd multiplier permutes the integers, so
 * they are distinct and spread over the key space), and back. */
static uint64_t spread(uint64_t i) {
    return (i + 1) * 0x9e3779b97f4a7c15ull;
}

static uint64_t spread_inverse_multiplier;

static uint64_t unspread(uint64_t w) {
    return w * spread_inverse_multiplier - 1;
}

static void be_store(uint64_t w, size_t len, unsigned char *out) {
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(w >> (8 * (len - 1 - i)));
}

static uint64_t be_load8(const unsigned char *key) {
    uint64_t w = 0;
    for (int i = 0; i < 8; i++)
        w = w << 8 | key[i];
    return w;
}

/* A key a writer owns and what it holds (0: absent). */
struct owned {
    unsigned char key[9];
    unsigned char len;
    uint64_t held;
};

/* The boundaries between the loaded tree's leaves: the last key of one leaf and
 * the first of the next, as integers. */
struct boundary {
    uint64_t last, next, middle[MIDDLE];
};

static struct boundary boundaries[BASE];
static unsigned nboundaries;

static void collect_boundaries(const struct node *n) {
    uint64_t m = node_meta(n);
    unsigned count = meta_count(m);
    if (meta_level(m) > 0) {
        for (unsigned i = 0; i <= count; i++)
            collect_boundaries(node_child(n, i, count));
        return;
    }
    unsigned char key[NODE_KEY_BUF];
    if (!count || node_key_copy(n, 0, key) != 8)
        return;
    if (nboundaries)
        boundaries[nboundaries - 1].next = be_load8(key);
    struct boundary *b = &boundaries[nboundaries++];
    node_key_copy(n, count - 1, key);
    b->last = be_load8(key);
    b->next = 0;
    for (unsigned i = 0; i < MIDDLE; i++) {
        node_key_copy(n, count / 2 - MIDDLE / 2 + i, key);
        b->middle[i] = be_load8(key);
    }
}

/* Keys between a leaf's last key K and the next leaf's first key K', which an
 * insert appends to K's leaf: when that leaf is full, the split keeps it whole and
 * the new key alone goes right, so the separator is cut from the new key: K and
 * one more byte give 9 bytes; K's first s - 1 bytes and its s-th byte plus one (K
 * and K' share fewer than s - 1 bytes) give s bytes. K itself goes too. */
static unsigned boundary_keys(const struct boundary *b, struct owned *u) {
    unsigned n = 0;
    unsigned char k[8], next[8];
    be_store(b->last, 8, k);
    be_store(b->next, 8, next);
    u[n] = (struct owned){{0}, 8, unspread(b->last) + 1}; /* loaded with value i + 1 */
    memcpy(u[n++].key, k, 8);
    for (unsigned e = 0; e < EXT; e++) {
        u[n] = (struct owned){{0}, 9, 0};
        memcpy(u[n].key, k, 8);
        u[n++].key[8] = ext_byte[e];
    }
    unsigned common = 0;
    while (common < 8 && k[common] == next[common])
        common++;
    for (unsigned s = common + 2; s <= 7; s++) {
        if (k[s - 1] == 0xff)
            continue;
        u[n] = (struct owned){{0}, (unsigned char)s, 0};
        memcpy(u[n].key, k, s);
        u[n++].key[s - 1]++;
    }
    if (common + 1 <= 7) { /* K' cut after the first byte it differs from K in */
        u[n] = (struct owned){{0}, (unsigned char)(common + 1), 0};
        memcpy(u[n++].key, next, common + 1);
    }
    /* Keys in the middle of the leaf, and extensions of them: a split between
     * halves of equal bytes may fall between a key and its extension. */
    for (unsigned i = 0; i < MIDDLE; i++) {
        uint64_t m = b->middle[i];
        if (unspread(m) % STABLE_EVERY == 0)
            continue;
        u[n] = (struct owned){{0}, 8, unspread(m) + 1};
        be_store(m, 8, u[n++].key);
        for (unsigned e = 0; e < MIDDLE_EXT; e++) {
            u[n] = (struct owned){{0}, 9, 0};
            be_store(m, 8, u[n].key);
            u[n++].key[8] = e ? 0xff : 0x00;
        }
    }
    return n;
}

struct writer {
    int id;
    long ops, bad;
    uint64_t rng;
    struct owned *u; /* its keys */
    unsigned nu;
    size_t present; /* keys of its own present at the end */
};

static void *write_own_keys(void *arg) {
    struct writer *w = arg;
    squeeze_onto_two_cpus();
    struct owned *u = w->u;
    uint64_t next_grow = (uint64_t)w->id, stamp = 1;
    unsigned char key[9];
    /* All at once: the first inserts split full leaves under the full root. */
    atomic_fetch_add(&writers_ready, 1);
    while (atomic_load(&writers_ready) < WRITERS)
        sched_yield();
    for (long op = 0; op < w->ops; op++) {
        int rc;
        uint64_t v = 0;
        if (op % 4 == 0 && op > w->ops / 4 && next_grow < GROW) {
            /* A new 8-byte key: fixed inner nodes fill up. */
            be_store(spread(BASE + next_grow), 8, key);
            rc = larch_btree_insert(tree, key, 8, BASE + next_grow + 1, &v);
            w->bad += rc != LARCH_OK;
            next_grow += WRITERS;
            continue;
        }
        struct owned *o = &u[test_rand(&w->rng) % w->nu];
        uint64_t nv = (uint64_t)w->id << 56 | stamp++;
        if (!o->held) {
            rc = larch_btree_insert(tree, o->key, o->len, nv, &v);
            w->bad += rc != LARCH_OK;
            o->held = nv;
        } else if (test_rand(&w->rng) % 4 == 0) {
            rc = larch_btree_put(tree, o->key, o->len, nv, &v);
            w->bad += rc != LARCH_EXISTS || v != o->held;
            o->held = nv;
        } else {
            rc = larch_btree_del(tree, o->key, o->len, &v);
            w->bad += rc != LARCH_OK || v != o->held;
            o->held = 0;
        }
        /* One of my keys at random: exactly what I left there. */
        struct owned *p = &u[test_rand(&w->rng) % w->nu];
        rc = larch_btree_get(tree, p->key, p->len, &v);
        w->bad += p->held ? rc != LARCH_OK || v != p->held : rc != LARCH_NOTFOUND;
    }
    atomic_fetch_add(&writers_done, 1);
    /* All of them, exactly. */
    w->present = 0;
    for (unsigned n = 0; n < w->nu; n++) {
        uint64_t v = 0;
        int rc = larch_btree_get(tree, u[n].key, u[n].len, &v);
        w->bad += u[n].held ? rc != LARCH_OK || v != u[n].held : rc != LARCH_NOTFOUND;
        w->present += u[n].held != 0;
    }
    for (uint64_t g = (uint64_t)w->id; g < GROW; g += WRITERS) {
        uint64_t v = 0;
        be_store(spread(BASE + g), 8, key);
        int rc = larch_btree_get(tree, key, 8, &v);
        w->bad += g < next_grow ? rc != LARCH_OK || v != BASE + g + 1 : rc != LARCH_NOTFOUND;
        w->present += g < next_grow;
    }
    return NULL;
}

/* The present-throughout keys' integers, ascending. */
static uint64_t stable_sorted[BASE / STABLE_EVERY];

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

struct reader {
    long bad, gets, scans;
    uint64_t rng;
};

struct scan_state {
    unsigned char prev[9];
    size_t prev_len;
    unsigned next_stable; /* rank of the present-throughout key due next */
    long seen, bad;
};

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

enum { SCAN_LIMIT = 300 };

static int see(void *ctx, const void *key_, size_t len, uint64_t val) {
    struct scan_state *s = ctx;
    const unsigned char *key = key_;
    if (len < 1 || len > 9) {
        s->bad++;
        return 1;
    }
    s->bad += s->seen && key_cmp(s->prev, s->prev_len, key, len) >= 0;
    memcpy(s->prev, key, len);
    s->prev_len = len;
    if (len == 8) {
        uint64_t w = be_load8(key), i = unspread(w);
        if (i < BASE && i % STABLE_EVERY == 0) {
            /* None skipped, none out of place, with its value. */
            s->bad += s->next_stable >= BASE / STABLE_EVERY || stable_sorted[s->next_stable] != w ||
                      val != i + 1;
            s->next_stable++;
        }
    }
    return ++s->seen >= SCAN_LIMIT;
}

static void *read_stable_keys(void *arg) {
    struct reader *r = arg;
    squeeze_onto_two_cpus();
    unsigned char key[8];
    while (atomic_load_explicit(&writers_done, memory_order_relaxed) < WRITERS) {
        unsigned rank = (unsigned)(test_rand(&r->rng) % (BASE / STABLE_EVERY));
        be_store(stable_sorted[rank], 8, key);
        uint64_t v = 0;
        uint64_t i = unspread(stable_sorted[rank]);
        r->bad += larch_btree_get(tree, key, 8, &v) != LARCH_OK || v != i + 1;
        r->gets++;
        if (r->gets % 16 == 0) {
            struct scan_state s = {{0}, 0, rank, 0, 0};
            long calls = larch_btree_scan(tree, key, 8, NULL, 0, see, &s);
            r->bad += s.bad + (calls != s.seen) + (s.seen == 0);
            r->scans++;
        }
    }
    return NULL;
}

static void watchdog_fired(int sig) {
    (void)sig;
    static const char msg[] = "  FAIL stress_fixed_inner: no progress within the watchdog's "
                              "limit (a refused write made again forever?)\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(2);
}

static void refused_separators_are_made_again_under_concurrency(void) {
    choose_two_cpus();
    /* The inverse of an odd multiplier modulo 2^64 (Newton: each step doubles the
     * correct low bits). */
    uint64_t a = 0x9e3779b97f4a7c15ull, x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    spread_inverse_multiplier = x;
    REQUIRE(unspread(spread(12345)) == 12345);
    for (unsigned s = 0; s < BASE / STABLE_EVERY; s++)
        stable_sorted[s] = spread((uint64_t)s * STABLE_EVERY);
    qsort(stable_sorted, BASE / STABLE_EVERY, sizeof stable_sorted[0], cmp_u64);

    signal(SIGALRM, watchdog_fired);
    long rounds = (under_sanitizer() ? 32 : 100) * stress_scale();
    long ops = under_sanitizer() ? 3000 : 6000;
    unsigned watchdog = under_sanitizer() ? 600 : 120;
    unsigned grew_slotted = 0;
    long gets = 0, scans = 0;
    for (long round = 0; round < rounds; round++) {
        tree = larch_btree_new();
        REQUIRE(tree != NULL);
        unsigned char key[8];
        for (uint64_t i = 0; i < BASE; i++) {
            be_store(spread(i), 8, key);
            REQUIRE(larch_btree_put(tree, key, 8, i + 1, NULL) == LARCH_OK);
        }
        /* The refusal path is reachable: a fixed inner node that cannot be rebuilt
         * slotted with one more 24-byte entry. */
        struct census before = inner_census(tree);
        REQUIRE(before.slotted == 0);
        REQUIRE(before.fullest_fixed * 24 + 8 + 24 > NODE_CAPACITY);

        /* Writer j % WRITERS owns the keys at boundary j, unless its last key is
         * one that stays. */
        nboundaries = 0;
        collect_boundaries(tree_root(tree));
        nboundaries--; /* the last leaf has no next one */
        REQUIRE(nboundaries > 100);
        size_t per_writer = (size_t)(nboundaries / WRITERS + 1) * KEYS_PER_BOUNDARY;
        struct owned *universe = malloc(WRITERS * per_writer * sizeof *universe);
        REQUIRE(universe != NULL);
        struct writer w[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            w[i] = (struct writer){i,    ops, 0, (uint64_t)(round * 100 + i + 1) * 0x2545f491,
                                   NULL, 0,   0};
            w[i].u = universe + (size_t)i * per_writer;
            for (unsigned j = (unsigned)i; j < nboundaries; j += WRITERS)
                if (unspread(boundaries[j].last) % STABLE_EVERY != 0) {
                    w[i].nu += boundary_keys(&boundaries[j], w[i].u + w[i].nu);
                }
        }

        atomic_store(&writers_done, 0);
        atomic_store(&writers_ready, 0);
        alarm(watchdog);
        struct reader r[READERS];
        pthread_t wt[WRITERS], rt[READERS];
        for (int i = 0; i < WRITERS; i++) {
            pthread_create(&wt[i], NULL, write_own_keys, &w[i]);
        }
        for (int i = 0; i < READERS; i++) {
            r[i] = (struct reader){0, 0, 0, (uint64_t)(round * 100 + 50 + i) * 0x9e3779b9};
            pthread_create(&rt[i], NULL, read_stable_keys, &r[i]);
        }
        size_t expected = BASE;
        for (int i = 0; i < WRITERS; i++)
            for (unsigned n = 0; n < w[i].nu; n++)
                expected -= w[i].u[n].len == 8; /* counted by its writer */
        long bad = 0;
        for (int i = 0; i < WRITERS; i++) {
            pthread_join(wt[i], NULL);
            bad += w[i].bad;
            expected += w[i].present;
        }
        for (int i = 0; i < READERS; i++) {
            pthread_join(rt[i], NULL);
            bad += r[i].bad;
            gets += r[i].gets;
            scans += r[i].scans;
        }
        alarm(0);
        CHECK_EQ(bad, 0);
        CHECK_EQ(larch_btree_check(tree, stderr), LARCH_OK);
        CHECK_EQ(larch_btree_len(tree), expected);
        struct census after = inner_census(tree);
        grew_slotted += after.slotted > 0;
        larch_btree_free(tree);
        free(universe);
    }
    /* Separators of other lengths did reach the inner nodes; the readers ran. */
    CHECK(grew_slotted > 0);
    CHECK(gets > 0 && scans > 0);
}

int main(void) {
    RUN(refused_separators_are_made_again_under_concurrency);
    return harness_finish();
}
