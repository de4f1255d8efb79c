/* A program built outside the tree against the installed larch: it uses only the
 * public headers, the epoch contract and the memtable, as a user's program would.
 * Exits non-zero on any failure. */
#include <larch/larch.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct object {
    _Atomic long value;
};

static _Atomic(struct object *) shared_object;
static atomic_long freed;
static atomic_int stop;

static void free_object(void *p) {
    struct object *o = p;
    atomic_store(&o->value, -1);
    free(o);
    atomic_fetch_add(&freed, 1);
}

static void *reader(void *arg) {
    (void)arg;
    long bad = 0;
    while (!atomic_load(&stop)) {
        larch_epoch_pin();
        struct object *o = atomic_load(&shared_object);
        if (atomic_load(&o->value) < 0)
            bad++;
        larch_epoch_unpin();
    }
    return (void *)bad;
}

/* The memtable as an engine uses it: two writers publish interleaved seqs (each
 * writes its own seqs of a shared key set, in descending order), then every version
 * must be there, in flush order, and reads at snapshots must see the right one. */
static larch_memtable *memtable;

static void *memtable_writer(void *arg) {
    long parity = (long)arg, bad = 0;
    for (long s = 2000 - parity; s >= 1; s -= 2) {
        char key[16], val[16];
        int klen = snprintf(key, sizeof key, "key%ld", s % 50);
        int vlen = snprintf(val, sizeof val, "v%ld", s);
        int rc = s % 7 == 0 ? larch_memtable_del(memtable, key, (size_t)klen, (uint64_t)s)
                            : larch_memtable_put(memtable, key, (size_t)klen, (uint64_t)s, val,
                                                 (size_t)vlen);
        bad += rc != LARCH_OK;
    }
    return (void *)bad;
}

static int memtable_check(void) {
    memtable = larch_memtable_new();
    if (!memtable)
        return 1;
    pthread_t w[2];
    long bad = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, memtable_writer, (void *)i);
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(w[i], &r);
        bad += (long)r;
    }
    bad += larch_memtable_len(memtable) != 2000 || larch_memtable_bytes(memtable) == 0;
    bad += larch_memtable_put(memtable, "key1", 4, 1001, "x", 1) != LARCH_EXISTS;
    const void *val;
    size_t vlen;
    uint64_t seq;
    /* key7's versions are 7, 57, ..., 1957; 7 and every multiple of 7 are deleted. */
    bad +=
        larch_memtable_get(memtable, "key7", 4, 56, &val, &vlen, &seq) != LARCH_DELETED || seq != 7;
    bad += larch_memtable_get(memtable, "key7", 4, 57, &val, &vlen, &seq) != LARCH_OK ||
           seq != 57 || vlen != 3 || memcmp(val, "v57", 3) != 0;
    bad += larch_memtable_get(memtable, "key7", 4, 6, &val, &vlen, &seq) != LARCH_NOTFOUND;
    larch_memtable_iter *it =
        larch_memtable_iter_new(memtable, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    long n = 0;
    char prev[16] = "";
    size_t prev_len = 0;
    uint64_t prev_seq = 0;
    for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), n++) {
        size_t klen;
        const char *key = larch_memtable_iter_key(it, &klen);
        seq = larch_memtable_iter_seq(it);
        int c = memcmp(prev, key, prev_len < klen ? prev_len : klen);
        if (c == 0)
            c = (prev_len > klen) - (prev_len < klen);
        if (n > 0 && !(c < 0 || (c == 0 && prev_seq > seq)))
            bad++;
        memcpy(prev, key, klen);
        prev_len = klen;
        prev_seq = seq;
    }
    larch_memtable_iter_free(it);
    larch_memtable_free(memtable);
    return bad || n != 2000;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "consumer";
    if (memtable_check()) {
        fprintf(stderr, "%s: the memtable lost or misplaced versions\n", how);
        return 1;
    }
    if (strcmp(larch_strerror(LARCH_ENOMEM), "out of memory") != 0 || !larch_strerror(12345)) {
        fprintf(stderr, "%s: larch_strerror\n", how);
        return 1;
    }
    struct object *first = malloc(sizeof *first);
    atomic_init(&first->value, 0);
    atomic_store(&shared_object, first);

    pthread_t readers[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&readers[i], NULL, reader, NULL);
    long retired = 0;
    for (long i = 1; i <= 20000; i++) {
        struct object *o = malloc(sizeof *o);
        atomic_init(&o->value, i);
        larch_epoch_pin();
        struct object *old = atomic_exchange(&shared_object, o);
        larch_epoch_retire(old, free_object);
        larch_epoch_unpin();
        retired++;
    }
    atomic_store(&stop, 1);
    long bad = 0;
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(readers[i], &r);
        bad += (long)r;
    }
    larch_epoch_barrier();
    long freed_now = atomic_load(&freed);
    free(atomic_load(&shared_object));
    if (bad || freed_now != retired) {
        fprintf(stderr, "%s: %ld reads of freed objects, %ld of %ld freed\n", how, bad, freed_now,
                retired);
        return 1;
    }
    printf("%s: ok (%ld retired, %ld freed)\n", how, retired, freed_now);
    return 0;
}
