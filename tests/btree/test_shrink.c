/* Deleting every key gives the memory back: the tree returns to one root leaf,
 * even when long keys make inner nodes hold so few separators that a node left
 * with a single child cannot merge with its sibling. */
#include <larch/btree.h>

#include <pthread.h>

#include "harness.h"

static larch_btree *tree;
static int nkeys, nthreads;

static size_t long_key(unsigned char *k, int i) {
    memset(k, 'p', LARCH_KEY_MAX);
    k[LARCH_KEY_MAX - 3] = (unsigned char)(i >> 8);
    k[LARCH_KEY_MAX - 2] = (unsigned char)i;
    return LARCH_KEY_MAX;
}

static void *delete_share(void *arg) {
    int me = (int)(intptr_t)arg;
    static _Thread_local unsigned char k[LARCH_KEY_MAX];
    for (int i = me; i < nkeys; i += nthreads)
        CHECK_EQ(larch_btree_del(tree, k, long_key(k, i), NULL), LARCH_OK);
    return NULL;
}

static void delete_everything(int threads) {
    static unsigned char k[LARCH_KEY_MAX];
    nthreads = threads;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < nkeys; i++)
            REQUIRE(larch_btree_put(tree, k, long_key(k, i * 7919 % nkeys), 1, NULL) == LARCH_OK);
        CHECK(larch_btree_height(tree) > 3);
        pthread_t th[4];
        for (int i = 0; i < threads; i++)
            pthread_create(&th[i], NULL, delete_share, (void *)(intptr_t)i);
        for (int i = 0; i < threads; i++)
            pthread_join(th[i], NULL);
        CHECK_EQ(larch_btree_len(tree), 0);
        CHECK_EQ(larch_btree_height(tree), 1);
        CHECK_EQ(larch_btree_check(tree, stderr), LARCH_OK);
    }
}

static void deleting_every_long_key_leaves_one_leaf(void) {
    tree = larch_btree_new();
    REQUIRE(tree != NULL);
    nkeys = under_sanitizer() ? 600 : 2000;
    delete_everything(1);
    larch_btree_free(tree);
}

static void deleting_every_long_key_from_four_threads_leaves_one_leaf(void) {
    tree = larch_btree_new();
    REQUIRE(tree != NULL);
    nkeys = under_sanitizer() ? 600 : 2000;
    delete_everything(4);
    larch_btree_free(tree);
}

int main(void) {
    RUN(deleting_every_long_key_leaves_one_leaf);
    RUN(deleting_every_long_key_from_four_threads_leaves_one_leaf);
    return harness_finish();
}
