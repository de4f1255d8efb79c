/* Compile-only: the headers have the contracted shapes (../shared/contract) for
 * every part implemented so far. Grows with each structure. */
#include <larch/larch.h>

#include <stdint.h>
#include <stdio.h>

/* Every call of the B+ tree and of the ART has exactly the contracted type. */
#define SHAPE(P)                                                                                   \
    static void shape_##P(void) {                                                                  \
        larch_##P *(*new_)(void) = larch_##P##_new;                                                \
        void (*free_)(larch_##P *) = larch_##P##_free;                                             \
        int (*put)(larch_##P *, const void *, size_t, uint64_t, uint64_t *) = larch_##P##_put;     \
        int (*ins)(larch_##P *, const void *, size_t, uint64_t, uint64_t *) = larch_##P##_insert;  \
        int (*get)(larch_##P *, const void *, size_t, uint64_t *) = larch_##P##_get;               \
        int (*del)(larch_##P *, const void *, size_t, uint64_t *) = larch_##P##_del;               \
        int (*upd)(larch_##P *, const void *, size_t, larch_update_fn, void *) =                   \
            larch_##P##_update;                                                                    \
        int (*cas)(larch_##P *, const void *, size_t, uint64_t, uint64_t, uint64_t *) =            \
            larch_##P##_cas;                                                                       \
        long (*scan)(larch_##P *, const void *, size_t, const void *, size_t, larch_scan_fn,       \
                     void *) = larch_##P##_scan;                                                   \
        size_t (*len)(larch_##P *) = larch_##P##_len;                                              \
        int (*height)(larch_##P *) = larch_##P##_height;                                           \
        int (*check)(larch_##P *, FILE *) = larch_##P##_check;                                     \
        larch_##P##_iter *(*it_new)(larch_##P *) = larch_##P##_iter_new;                           \
        void (*it_free)(larch_##P##_iter *) = larch_##P##_iter_free;                               \
        void (*seek)(larch_##P##_iter *, const void *, size_t) = larch_##P##_iter_seek;            \
        void (*seekp)(larch_##P##_iter *, const void *, size_t) = larch_##P##_iter_seek_for_prev;  \
        void (*first)(larch_##P##_iter *) = larch_##P##_iter_seek_first;                           \
        void (*last)(larch_##P##_iter *) = larch_##P##_iter_seek_last;                             \
        int (*valid)(const larch_##P##_iter *) = larch_##P##_iter_valid;                           \
        void (*next)(larch_##P##_iter *) = larch_##P##_iter_next;                                  \
        void (*prev)(larch_##P##_iter *) = larch_##P##_iter_prev;                                  \
        const void *(*key)(const larch_##P##_iter *, size_t *) = larch_##P##_iter_key;             \
        uint64_t (*value)(const larch_##P##_iter *) = larch_##P##_iter_value;                      \
        int (*ist)(const larch_##P##_iter *) = larch_##P##_iter_status;                            \
        (void)new_, (void)free_, (void)put, (void)ins, (void)get, (void)del, (void)upd, (void)cas; \
        (void)scan, (void)len, (void)height, (void)check, (void)it_new, (void)it_free, (void)seek; \
        (void)seekp, (void)first, (void)last, (void)valid, (void)next, (void)prev, (void)key;      \
        (void)value, (void)ist;                                                                    \
    }
SHAPE(btree)
SHAPE(art)

/* Every call of the memtable has exactly the contracted type. */
static void shape_memtable(void) {
    larch_memtable *(*new_)(void) = larch_memtable_new;
    void (*free_)(larch_memtable *) = larch_memtable_free;
    int (*put)(larch_memtable *, const void *, size_t, uint64_t, const void *, size_t) =
        larch_memtable_put;
    int (*del)(larch_memtable *, const void *, size_t, uint64_t) = larch_memtable_del;
    int (*get)(larch_memtable *, const void *, size_t, uint64_t, const void **, size_t *,
               uint64_t *) = larch_memtable_get;
    size_t (*len)(larch_memtable *) = larch_memtable_len;
    size_t (*bytes)(larch_memtable *) = larch_memtable_bytes;
    larch_memtable_iter *(*it_new)(larch_memtable *, uint64_t, int) = larch_memtable_iter_new;
    void (*it_free)(larch_memtable_iter *) = larch_memtable_iter_free;
    void (*seek)(larch_memtable_iter *, const void *, size_t) = larch_memtable_iter_seek;
    void (*seekp)(larch_memtable_iter *, const void *, size_t) = larch_memtable_iter_seek_for_prev;
    void (*first)(larch_memtable_iter *) = larch_memtable_iter_seek_first;
    void (*last)(larch_memtable_iter *) = larch_memtable_iter_seek_last;
    int (*valid)(const larch_memtable_iter *) = larch_memtable_iter_valid;
    void (*next)(larch_memtable_iter *) = larch_memtable_iter_next;
    void (*prev)(larch_memtable_iter *) = larch_memtable_iter_prev;
    const void *(*key)(const larch_memtable_iter *, size_t *) = larch_memtable_iter_key;
    const void *(*value)(const larch_memtable_iter *, size_t *) = larch_memtable_iter_value;
    uint64_t (*seq)(const larch_memtable_iter *) = larch_memtable_iter_seq;
    int (*tomb)(const larch_memtable_iter *) = larch_memtable_iter_is_tombstone;
    int (*st)(const larch_memtable_iter *) = larch_memtable_iter_status;
    (void)new_, (void)free_, (void)put, (void)del, (void)get, (void)len, (void)bytes;
    (void)it_new, (void)it_free, (void)seek, (void)seekp, (void)first, (void)last, (void)valid;
    (void)next, (void)prev, (void)key, (void)value, (void)seq, (void)tomb, (void)st;
}

int main(void) {
    shape_btree();
    shape_art();
    shape_memtable();
    _Static_assert(LARCH_OK == 0 && LARCH_NOTFOUND == 1 && LARCH_EXISTS == 2 && LARCH_DELETED == 3,
                   "status values");
    _Static_assert(LARCH_EINVAL == -1 && LARCH_ENOMEM == -2 && LARCH_EKEYSIZE == -3 &&
                       LARCH_ECORRUPT == -4,
                   "error values");
    _Static_assert(LARCH_UPDATE_KEEP == 0 && LARCH_UPDATE_STORE == 1 && LARCH_UPDATE_DELETE == 2,
                   "update actions");
    _Static_assert(LARCH_ITER_ALL_VERSIONS == 1 && LARCH_ITER_TOMBSTONES == 2, "iterator flags");
    _Static_assert(LARCH_KEY_MAX >= 1024, "LARCH_KEY_MAX");
    const char *(*se)(int) = larch_strerror;
    int (*ufn)(void *, uint64_t *, int) = (larch_update_fn)0;
    int (*sfn)(void *, const void *, size_t, uint64_t) = (larch_scan_fn)0;
    void (*pin)(void) = larch_epoch_pin;
    void (*unpin)(void) = larch_epoch_unpin;
    void (*retire)(void *, void (*)(void *)) = larch_epoch_retire;
    void (*barrier)(void) = larch_epoch_barrier;
    (void)se, (void)ufn, (void)sfn, (void)pin, (void)unpin, (void)retire, (void)barrier;
    return 0;
}
