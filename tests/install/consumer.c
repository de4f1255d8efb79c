/* A program built outside the tree against the installed larch: it uses only the
 * public headers and the epoch contract, as a user's program would. Exits non-zero
 * on any failure. */
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

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "consumer";
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
