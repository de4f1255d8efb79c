/* The memtable in a few lines: versions by sequence number, a read at an old
 * snapshot, a tombstone, and the flush: every version in key order, newest first.
 * Build: cc memtable_basics.c $(pkg-config --cflags --libs larch) */
#include <larch/larch.h>

#include <stdio.h>
#include <string.h>

static int put(larch_memtable *m, const char *key, uint64_t seq, const char *val) {
    return larch_memtable_put(m, key, strlen(key), seq, val, strlen(val));
}

int main(void) {
    larch_memtable *m = larch_memtable_new();
    if (!m)
        return 1;
    put(m, "apple", 1, "red");
    put(m, "fig", 2, "purple");
    put(m, "apple", 4, "green"); /* a newer version of apple */
    put(m, "pear", 3, "yellow"); /* seqs may arrive out of order */
    larch_memtable_del(m, "fig", 3, 5);
    if (put(m, "apple", 4, "again") == LARCH_EXISTS)
        printf("(apple, 4) exists already: nothing changed\n");

    const void *val;
    size_t vlen;
    uint64_t seq;
    if (larch_memtable_get(m, "apple", 5, 3, &val, &vlen, &seq) == LARCH_OK) /* snapshot 3 */
        printf("apple at snapshot 3: %.*s (seq %llu)\n", (int)vlen, (const char *)val,
               (unsigned long long)seq);
    if (larch_memtable_get(m, "fig", 3, UINT64_MAX, NULL, NULL, &seq) == LARCH_DELETED)
        printf("fig now: deleted at seq %llu\n", (unsigned long long)seq);

    printf("the flush, every version:\n");
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    if (!it)
        return 1;
    for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it)) {
        size_t klen;
        const char *key = larch_memtable_iter_key(it, &klen);
        const char *v = larch_memtable_iter_value(it, &vlen);
        printf("  %.*s @%llu %.*s\n", (int)klen, key,
               (unsigned long long)larch_memtable_iter_seq(it), v ? (int)vlen : 9,
               v ? v : "tombstone");
    }
    larch_memtable_iter_free(it);
    printf("%zu versions, about %zu bytes\n", larch_memtable_len(m), larch_memtable_bytes(m));
    larch_memtable_free(m);
    return 0;
}
