/* The B+ tree in a few lines: put, get, an ordered scan, an iterator, delete.
 * Build: cc btree_basics.c $(pkg-config --cflags --libs larch) */
#include <larch/larch.h>

#include <stdio.h>
#include <string.h>

static int print_entry(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx;
    printf("  %.*s = %llu\n", (int)len, (const char *)key, (unsigned long long)val);
    return 0; /* go on */
}

int main(void) {
    larch_btree *t = larch_btree_new();
    if (!t)
        return 1;
    const char *fruit[] = {"pear", "apple", "fig", "apricot", "banana"};
    for (int i = 0; i < 5; i++)
        larch_btree_put(t, fruit[i], strlen(fruit[i]), (uint64_t)i, NULL);

    uint64_t v;
    if (larch_btree_get(t, "fig", 3, &v) == LARCH_OK)
        printf("fig = %llu\n", (unsigned long long)v);

    printf("keys in [ap, b):\n");
    larch_btree_scan(t, "ap", 2, "b", 1, print_entry, NULL);

    printf("backwards from 'c':\n");
    larch_btree_iter *it = larch_btree_iter_new(t);
    for (larch_btree_iter_seek_for_prev(it, "c", 1); larch_btree_iter_valid(it);
         larch_btree_iter_prev(it)) {
        size_t len;
        const char *key = larch_btree_iter_key(it, &len);
        printf("  %.*s\n", (int)len, key);
    }
    larch_btree_iter_free(it);

    int rc = larch_btree_del(t, "pear", 4, NULL);
    printf("del pear: %s, %zu keys left\n", larch_strerror(rc), larch_btree_len(t));
    larch_btree_free(t);
    return 0;
}
