/* Splits and merges under concurrency: eight writers and two readers squeezed onto
 * two CPUs (so lock holders get preempted mid-split), all on a small key range of
 * long keys, so that the same nodes split and merge over and over. Each writer
 * owns every eighth key and knows exactly what each of its keys holds, so every
 * read of its own keys is checked exactly; the readers check keys that stay
 * present throughout. Then whole-index rounds that grow to several levels and
 * shrink back to one, and a handful of keys in one node hammered until optimistic
 * readers and writers must fall back to their slow paths, and one node whose
 * fanout goes from 4 to 256 and back under readers. */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "cpus.h"
#include "harness.h"
#include "index_test.h"

enum { WRITERS = 8, READERS = 2 };

static void *tree;

/* Key `id`: 2 big-endian bytes (so keys sort by id), then a tail of 0 to 299 bytes:
 * nodes hold few keys, so a small range spans many nodes. */
static size_t key_of(uint32_t id, unsigned char *out) {
    size_t tail = id * 37 % 300;
    out[0] = (unsigned char)(id >> 8), out[1] = (unsigned char)id;
    memset(out + 2, (int)(id & 0xFF), tail);
    return 2 + tail;
}

/* Stable key s: right after writer key 32 * s (whose tail bytes are never 0xFF),
 * so the 64 of them are spread through the writers' range. */
static size_t stable_key_of(uint32_t s, unsigned char *out) {
    uint32_t id = s * 32;
    out[0] = (unsigned char)(id >> 8), out[1] = (unsigned char)id;
    out[2] = 0xFF, out[3] = 's';
    return 4;
}

static uint64_t value_of(uint32_t id, uint64_t round) {
    return (uint64_t)id << 32 | round;
}

struct worker {
    int id;
    uint32_t nkeys;
    long rounds, bad, ops;
    uint64_t rng;
};

static atomic_int writers_done;

/* Insert all my keys in a random order, then delete them in another, reading my
 * own keys back as I go; every round leaves half of them in. */
static void *churn_own_keys(void *arg) {
    struct worker *w = arg;
    squeeze_onto_two_cpus();
    unsigned char key[2 + 300];
    uint32_t mine = w->nkeys / WRITERS;
    uint64_t *held = calloc(mine, sizeof *held); /* 0: absent, else the value */
    uint32_t *order = malloc(mine * sizeof *order);
    if (!held || !order)
        abort();
    for (uint32_t i = 0; i < mine; i++)
        order[i] = i;
    for (long round = 1; round <= w->rounds; round++) {
        for (int phase = 0; phase < 2; phase++) {
            for (uint32_t i = mine - 1; i > 0; i--) {
                uint32_t j = (uint32_t)(test_rand(&w->rng) % (i + 1)), x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
            for (uint32_t n = 0; n < mine; n++) {
                uint32_t slot = order[n], id = slot * WRITERS + (uint32_t)w->id;
                size_t len = key_of(id, key);
                uint64_t v = 0;
                int rc;
                if (phase == 0) { /* fill */
                    uint64_t nv = value_of(id, (uint64_t)round);
                    rc = IX->put(tree, key, len, nv, &v);
                    w->bad += rc != (held[slot] ? LARCH_EXISTS : LARCH_OK) ||
                              (held[slot] && v != held[slot]);
                    held[slot] = nv;
                } else if (round == w->rounds && slot % 2) { /* leave half in */
                    continue;
                } else { /* drain */
                    rc = IX->del(tree, key, len, &v);
                    w->bad += rc != LARCH_OK || v != held[slot];
                    held[slot] = 0;
                }
                /* Read back one of my keys at random: exactly what I left there. */
                uint32_t probe = (uint32_t)(test_rand(&w->rng) % mine);
                len = key_of(probe * WRITERS + (uint32_t)w->id, key);
                rc = IX->get(tree, key, len, &v);
                w->bad += held[probe] ? rc != LARCH_OK || v != held[probe] : rc != LARCH_NOTFOUND;
                w->ops += 2;
            }
        }
    }
    free(held);
    free(order);
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

/* Stable keys, present throughout: always found with their value. They sit among
 * the writers' keys, so every lookup goes through nodes that split and merge. */
static void *read_stable_keys(void *arg) {
    struct worker *w = arg;
    squeeze_onto_two_cpus();
    unsigned char key[2 + 300];
    while (atomic_load_explicit(&writers_done, memory_order_relaxed) < WRITERS) {
        uint32_t s = (uint32_t)(test_rand(&w->rng) % 64);
        uint64_t v = 0;
        size_t len = stable_key_of(s, key);
        w->bad += IX->get(tree, key, len, &v) != LARCH_OK || v != value_of(s, 0);
        w->ops++;
    }
    return NULL;
}

static void eight_writers_split_and_merge_a_small_range_on_two_cpus(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    choose_two_cpus();
    const uint32_t nkeys = 2048;
    unsigned char key[2 + 300];
    for (uint32_t s = 0; s < 64; s++)
        IX->put(tree, key, stable_key_of(s, key), value_of(s, 0), NULL);
    long rounds = (under_sanitizer() ? 2 : 8) * stress_scale();
    atomic_store(&writers_done, 0);
    pthread_t th[WRITERS + READERS];
    struct worker w[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        w[i] = (struct worker){.id = i, .nkeys = nkeys, .rounds = rounds, .rng = 99 + (uint64_t)i};
        pthread_create(&th[i], NULL, i < WRITERS ? churn_own_keys : read_stable_keys, &w[i]);
    }
    long bad = 0, ops = 0;
    for (int i = 0; i < WRITERS + READERS; i++) {
        pthread_join(th[i], NULL);
        bad += w[i].bad;
        ops += w[i].ops;
    }
    fprintf(stderr, "  %d writers and %d readers on %d CPUs: %ld operations, %ld rounds\n", WRITERS,
            READERS, ncpus, ops, rounds);
    CHECK_EQ(bad, 0);
    /* What is left: the stable keys and the odd slots of every writer. */
    struct dump expected = {0};
    for (uint32_t s = 0; s < 64; s++)
        dump_add(&expected, key, stable_key_of(s, key), value_of(s, 0));
    for (uint32_t id = 0; id < nkeys; id++)
        if (id / WRITERS % 2)
            dump_add(&expected, key, key_of(id, key), value_of(id, (uint64_t)rounds));
    dump_sort_unique(&expected);
    CHECK(index_matches(IX, tree, &expected, "after the churn"));
    dump_free(&expected);
    IX->free_(tree);
}

/* Rounds of everyone filling the index to several levels, then everyone emptying
 * it; between rounds, with the writers parked, the index is empty and one level. */
static pthread_barrier_t round_gate;
static long round_failures;

static void *fill_then_empty(void *arg) {
    struct worker *w = arg;
    squeeze_onto_two_cpus();
    unsigned char key[8];
    for (long round = 0; round < w->rounds; round++) {
        for (uint32_t i = (uint32_t)w->id; i < w->nkeys; i += WRITERS)
            w->bad += IX->insert(tree, key, key_u64(key, (uint64_t)i * 0x9E3779B97F4A7C15ULL), i,
                                 NULL) != LARCH_OK;
        pthread_barrier_wait(&round_gate);
        if (w->id == 0) {
            /* Writers parked: check() may run. */
            round_failures += IX->check(tree, stderr) != LARCH_OK || IX->len(tree) != w->nkeys;
            if (IX->has_levels && IX->height(tree) < 2)
                round_failures++;
        }
        pthread_barrier_wait(&round_gate);
        for (uint32_t i = (uint32_t)w->id; i < w->nkeys; i += WRITERS) {
            uint64_t v = 0;
            w->bad += IX->del(tree, key, key_u64(key, (uint64_t)i * 0x9E3779B97F4A7C15ULL), &v) !=
                          LARCH_OK ||
                      v != i;
        }
        pthread_barrier_wait(&round_gate);
        if (w->id == 0)
            round_failures +=
                IX->check(tree, stderr) != LARCH_OK || IX->len(tree) != 0 || IX->height(tree) != 1;
        pthread_barrier_wait(&round_gate);
    }
    return NULL;
}

static void rounds_of_filling_and_emptying_grow_and_shrink_the_height(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    choose_two_cpus();
    long rounds = (under_sanitizer() ? 2 : 5) * stress_scale();
    uint32_t nkeys = under_sanitizer() ? 5000 : 40000;
    pthread_barrier_init(&round_gate, NULL, WRITERS);
    round_failures = 0;
    struct worker w[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        w[i] = (struct worker){.id = i, .nkeys = nkeys, .rounds = rounds};
    run_threads(WRITERS, fill_then_empty, w, sizeof w[0]);
    pthread_barrier_destroy(&round_gate);
    long bad = 0;
    for (int i = 0; i < WRITERS; i++)
        bad += w[i].bad;
    CHECK_EQ(bad, 0);
    CHECK_EQ(round_failures, 0);
    IX->free_(tree);
}

/* Sixty-four short keys, all in one node: eight threads on two CPUs put, delete,
 * cas and update them as fast as they can, each owning eight and checking them
 * exactly after every write, while the node is locked, validated and restarted
 * around them all the time. */
static int add_to(void *ctx, uint64_t *val, int present) {
    uint64_t *want = ctx;
    *val = present ? *val + 1 : *want;
    return LARCH_UPDATE_STORE;
}

static void *hammer_one_node(void *arg) {
    struct worker *w = arg;
    squeeze_onto_two_cpus();
    uint64_t held[8] = {0};
    int present[8] = {0};
    unsigned char key[1];
    for (long i = 0; i < w->rounds; i++) {
        unsigned slot = (unsigned)(test_rand(&w->rng) % 8);
        key[0] = (unsigned char)(slot * WRITERS + (unsigned)w->id);
        uint64_t v = 0, fresh = test_rand(&w->rng) | 1;
        int rc;
        switch (test_rand(&w->rng) % 4) {
        case 0:
            rc = IX->put(tree, key, 1, fresh, &v);
            w->bad += rc != (present[slot] ? LARCH_EXISTS : LARCH_OK) ||
                      (present[slot] && v != held[slot]);
            present[slot] = 1, held[slot] = fresh;
            break;
        case 1:
            rc = IX->del(tree, key, 1, &v);
            w->bad += rc != (present[slot] ? LARCH_OK : LARCH_NOTFOUND) ||
                      (present[slot] && v != held[slot]);
            present[slot] = 0;
            break;
        case 2:
            rc = IX->cas(tree, key, 1, held[slot], fresh, &v);
            w->bad += rc != (present[slot] ? LARCH_OK : LARCH_NOTFOUND);
            if (present[slot])
                held[slot] = fresh;
            break;
        default:
            rc = IX->update(tree, key, 1, add_to, &fresh);
            w->bad += rc != (present[slot] ? LARCH_OK : LARCH_NOTFOUND);
            held[slot] = present[slot] ? held[slot] + 1 : fresh;
            present[slot] = 1;
            break;
        }
        rc = IX->get(tree, key, 1, &v);
        w->bad += present[slot] ? rc != LARCH_OK || v != held[slot] : rc != LARCH_NOTFOUND;
    }
    return NULL;
}

static void eight_threads_hammering_one_node_never_lose_a_write(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    choose_two_cpus();
    long ops = (under_sanitizer() ? 20000 : 200000) * stress_scale();
    struct worker w[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        w[i] = (struct worker){.id = i, .rounds = ops, .rng = 7 + (uint64_t)i};
    run_threads(WRITERS, hammer_one_node, w, sizeof w[0]);
    long bad = 0;
    for (int i = 0; i < WRITERS; i++)
        bad += w[i].bad;
    CHECK_EQ(bad, 0);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->free_(tree);
}

/* One node's fanout up and down: the keys share a 30-byte prefix and differ in the
 * byte after it, so an ART node there grows 4 -> 16 -> 48 -> 256 children and
 * shrinks back, again and again (in a B+ tree they are one busy leaf). The prefix
 * itself is a key too (a key that ends at that node), and so are four children
 * that never leave; readers look those up and walk the node the whole time. */
enum { FAN_PREFIX = 30 };

static size_t fan_key(int child, unsigned char *out) {
    memset(out, 'f', FAN_PREFIX);
    if (child < 0)
        return FAN_PREFIX; /* the prefix alone */
    out[FAN_PREFIX] = (unsigned char)child;
    return FAN_PREFIX + 1;
}

static int fan_stable(int child) {
    return child < 0 || child % 85 == 0; /* the prefix, 0, 85, 170, 255 */
}

static void *grow_and_shrink_fanout(void *arg) {
    struct worker *w = arg;
    squeeze_onto_two_cpus();
    unsigned char key[FAN_PREFIX + 1];
    int order[256];
    for (int i = 0; i < 256; i++)
        order[i] = i;
    for (long round = 0; round < w->rounds; round++) {
        for (int phase = 0; phase < 2; phase++) {
            for (int i = 255; i > 0; i--) {
                int j = (int)(test_rand(&w->rng) % (uint64_t)(i + 1)), x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
            for (int i = 0; i < 256; i++) {
                int c = order[i];
                if (fan_stable(c) || c % 2 != w->id) /* two writers split the children */
                    continue;
                size_t len = fan_key(c, key);
                if (phase == 0)
                    w->bad += IX->insert(tree, key, len, (uint64_t)c, NULL) != LARCH_OK;
                else
                    w->bad += IX->del(tree, key, len, NULL) != LARCH_OK;
            }
        }
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

static void *look_up_siblings(void *arg) {
    struct worker *w = arg;
    squeeze_onto_two_cpus();
    unsigned char key[FAN_PREFIX + 1];
    void *it = IX->iter_new(tree);
    while (it && atomic_load_explicit(&writers_done, memory_order_relaxed) < 2) {
        int c = (int)(test_rand(&w->rng) % 257) - 1;
        uint64_t v = 0;
        int rc = IX->get(tree, key, fan_key(c, key), &v);
        if (fan_stable(c))
            w->bad += rc != LARCH_OK || v != (uint64_t)(c < 0 ? 1000 : c);
        else
            w->bad += rc == LARCH_OK && v != (uint64_t)c;
        w->ops++;
        if (w->ops % 64)
            continue;
        /* A pass over the node, alternately each way: the stable keys, in order. */
        int forward = (int)(w->ops / 64 % 2), last = forward ? -2 : 256, stable = 0;
        size_t bound = fan_key(255, key);
        if (forward)
            IX->iter_seek(it, key, FAN_PREFIX); /* the prefix key, then its children */
        else
            IX->iter_seek_for_prev(it, key, bound); /* the last child, back to the prefix */
        for (; IX->iter_valid(it); forward ? IX->iter_next(it) : IX->iter_prev(it)) {
            size_t len = 0;
            const unsigned char *k = IX->iter_key(it, &len);
            if (len < FAN_PREFIX || memcmp(k, key, FAN_PREFIX) != 0)
                break;
            int child = len == FAN_PREFIX ? -1 : k[FAN_PREFIX];
            w->bad += len > FAN_PREFIX + 1 || (forward ? child <= last : child >= last);
            last = child;
            stable += fan_stable(child);
        }
        w->bad += stable != 5;
    }
    w->bad += it == NULL;
    IX->iter_free(it);
    return NULL;
}

static void a_node_grows_to_256_children_and_back_while_readers_look_up_siblings(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    choose_two_cpus();
    unsigned char key[FAN_PREFIX + 1];
    for (int c = -1; c < 256; c++)
        if (fan_stable(c))
            IX->put(tree, key, fan_key(c, key), (uint64_t)(c < 0 ? 1000 : c), NULL);
    /* Neighbours on both sides, so the node is not the whole tree. */
    for (int i = 0; i < 64; i++) {
        key[0] = (unsigned char)(i < 32 ? 'e' : 'g');
        key[1] = (unsigned char)i;
        IX->put(tree, key, 2, 1, NULL);
    }
    atomic_store(&writers_done, 0);
    long rounds = (under_sanitizer() ? 20 : 200) * stress_scale();
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.id = i % 2, .rounds = rounds, .rng = 500 + (uint64_t)i};
        pthread_create(&th[i], NULL, i < 2 ? grow_and_shrink_fanout : look_up_siblings, &w[i]);
    }
    long bad = 0, ops = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        bad += w[i].bad;
        ops += i >= 2 ? w[i].ops : 0;
    }
    fprintf(stderr, "  %ld rounds of 4 -> 256 -> 4 children, %ld lookups\n", rounds, ops);
    CHECK_EQ(bad, 0);
    CHECK_EQ(IX->len(tree), 5 + 64);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->free_(tree);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(eight_writers_split_and_merge_a_small_range_on_two_cpus);
        RUN(rounds_of_filling_and_emptying_grow_and_shrink_the_height);
        RUN(eight_threads_hammering_one_node_never_lose_a_write);
        RUN(a_node_grows_to_256_children_and_back_while_readers_look_up_siblings);
    }
    return harness_finish();
}
