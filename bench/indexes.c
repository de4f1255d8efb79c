/* indexes.c: the indexes this build of larch-bench can measure. The larch
 * structures join when their headers exist at configure time; the baselines when
 * their Debian packages are installed (see bench/CMakeLists.txt). The memtable
 * (over the ART, or over the B+ tree as memtable-btree) is found by name only. */
#include "index.h"

#include <string.h>

const struct bench_index *const bench_indexes[] = {
#ifdef LARCH_BENCH_HAVE_ART
    &bench_index_art,
#endif
#ifdef LARCH_BENCH_HAVE_BTREE
    &bench_index_btree,
#endif
#ifdef LARCH_BENCH_HAVE_JUDY
    &bench_index_rwlock,
#endif
#ifdef LARCH_BENCH_HAVE_URCU
    &bench_index_hash,
#endif
    NULL,
};

static const char *const all_names[] = {"art",    "btree", "memtable", "memtable-btree",
                                        "rwlock", "hash"};

const struct bench_index *bench_index_find(const char *name, int *known) {
    for (int i = 0; bench_indexes[i]; i++)
        if (!strcmp(bench_indexes[i]->name, name))
            return bench_indexes[i];
#ifdef LARCH_BENCH_HAVE_MEMTABLE
    if (!strcmp(name, "memtable"))
        return &bench_index_memtable;
    if (!strcmp(name, "memtable-btree"))
        return &bench_index_memtable_btree;
#endif
    *known = 0;
    for (size_t i = 0; i < sizeof all_names / sizeof all_names[0]; i++)
        if (!strcmp(all_names[i], name))
            *known = 1;
    return NULL;
}
