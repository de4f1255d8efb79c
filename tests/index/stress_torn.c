/* Readers that copy from nodes writers are changing: whatever a torn read sees, it
 * never writes past a buffer (long keys churned in one node, read by scans and
 * seeks; ASan checks the bounds), and an iterator sought to its own current key
 * (the pointer iter_key gave it) lands at that key or after it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "index_test.h"

static void *tree;
static atomic_int stop;

/* ---- long keys churned in one node ------------------------------------------ */

static size_t long_key(unsigned char *k, int c, int i, size_t len) {
    memset(k, 'x', len);
    k[0] = (unsigned char)c;
    k[1] = (unsigned char)('0' + i);
    return len;
}

static void *churn_long_keys(void *arg) {
    (void)arg;
    unsigned char k[128];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int i = 0; i < 3; i++)
            IX->put(tree, k, long_key(k, 'A', i, 100), 1, NULL);
        for (int i = 0; i < 3; i++)
            IX->del(tree, k, long_key(k, 'A', i, 100), NULL);
    }
    return NULL;
}

struct order {
    unsigned char prev[LARCH_KEY_MAX];
    size_t prev_len;
    long seen, bad;
};

static int in_order(void *ctx, const void *key, size_t len, uint64_t val) {
    struct order *o = ctx;
    (void)val;
    if (o->seen++ && key_cmp(o->prev, o->prev_len, key, len) >= 0)
        o->bad++;
    memcpy(o->prev, key, len);
    o->prev_len = len;
    return 0;
}

static void *scan_and_seek(void *arg) {
    long rounds = (long)(intptr_t)arg, bad = 0;
    void *it = IX->iter_new(tree);
    for (long r = 0; r < rounds; r++) {
        struct order o = {.seen = 0};
        IX->scan(tree, NULL, 0, NULL, 0, in_order, &o);
        bad += o.bad + (o.seen < 6); /* six keys are never touched */
        IX->iter_seek_last(it);
        IX->iter_seek_first(it);
        bad += !IX->iter_valid(it);
    }
    IX->iter_free(it);
    return (void *)(intptr_t)bad;
}

static void copies_of_a_changing_node_stay_inside_their_buffers(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    unsigned char k[LARCH_KEY_MAX];
    /* Three maximal keys and three short ones share the leaf the writer churns. */
    for (int i = 0; i < 3; i++)
        IX->put(tree, k, long_key(k, 'M', i, LARCH_KEY_MAX), 1, NULL);
    for (int i = 0; i < 3; i++)
        IX->put(tree, k, long_key(k, 'z', i, 100), 1, NULL);
    atomic_store(&stop, 0);
    long rounds = (under_sanitizer() ? 3000 : 30000) * stress_scale();
    pthread_t w, r[3];
    pthread_create(&w, NULL, churn_long_keys, NULL);
    for (int i = 0; i < 3; i++)
        pthread_create(&r[i], NULL, scan_and_seek, (void *)(intptr_t)rounds);
    long bad = 0;
    for (int i = 0; i < 3; i++) {
        void *res;
        pthread_join(r[i], &res);
        bad += (long)(intptr_t)res;
    }
    atomic_store(&stop, 1);
    pthread_join(w, NULL);
    CHECK_EQ(bad, 0);
    CHECK_EQ(IX->check(tree, stderr), LARCH_OK);
    IX->free_(tree);
}

/* ---- seeking to the key the iterator hands out -------------------------------- */

static size_t short_key(char *k, unsigned n, int churned) {
    return (size_t)snprintf(k, 16, churned ? "k%03u5" : "k%03u", n % 200);
}

static void *churn_between(void *arg) {
    unsigned s = (unsigned)(uintptr_t)arg;
    char k[16];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        s = s * 1103515245 + 12345;
        size_t n = short_key(k, s >> 8, 1);
        IX->put(tree, k, n, 7, NULL);
        IX->del(tree, k, n, NULL);
    }
    return NULL;
}

static void *reseek_own_key(void *arg) {
    unsigned s = (unsigned)(uintptr_t)arg;
    long bad = 0, rounds = (under_sanitizer() ? 5000 : 50000) * stress_scale();
    void *it = IX->iter_new(tree);
    char k[16], want[16];
    for (long r = 0; r < rounds; r++) {
        s = s * 1103515245 + 12345;
        IX->iter_seek(it, k, short_key(k, s >> 8, 0));
        for (unsigned j = 0; j < (s >> 20) % 12 && IX->iter_valid(it); j++)
            IX->iter_next(it);
        if (!IX->iter_valid(it))
            continue;
        size_t len, got_len;
        const void *key = IX->iter_key(it, &len);
        memcpy(want, key, len);
        IX->iter_seek(it, key, len);
        const void *got = IX->iter_valid(it) ? IX->iter_key(it, &got_len) : NULL;
        /* Past the last stable key ("k199") the churned keys may all be gone. */
        if (got)
            bad += key_cmp(got, got_len, want, len) < 0;
        else
            bad += key_cmp(want, len, "k199", 4) <= 0;
    }
    IX->iter_free(it);
    return (void *)(intptr_t)bad;
}

static void seeking_to_the_key_the_iterator_points_at_lands_there_or_after(void) {
    tree = IX->new_();
    REQUIRE(tree != NULL);
    char k[16];
    for (unsigned i = 0; i < 200; i++)
        IX->put(tree, k, short_key(k, i, 0), 1, NULL);
    atomic_store(&stop, 0);
    pthread_t w[2], r[3];
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, churn_between, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < 3; i++)
        pthread_create(&r[i], NULL, reseek_own_key, (void *)(uintptr_t)(i + 11));
    long bad = 0;
    for (int i = 0; i < 3; i++) {
        void *res;
        pthread_join(r[i], &res);
        bad += (long)(intptr_t)res;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    CHECK_EQ(bad, 0);
    IX->free_(tree);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(copies_of_a_changing_node_stay_inside_their_buffers);
        RUN(seeking_to_the_key_the_iterator_points_at_lands_there_or_after);
    }
    return harness_finish();
}
