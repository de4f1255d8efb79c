/* Readers use a shared configuration object without locks; a writer replaces it and
 * retires the old one, which is freed once no reader can still be looking at it.
 * Build: cc epoch_swap.c $(pkg-config --cflags --libs larch) */
#include <larch/larch.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct config {
    int version;
};

static _Atomic(struct config *) current;

static void *reader(void *arg) {
    long sum = 0;
    for (int i = 0; i < 1000000; i++) {
        larch_epoch_pin(); /* from here until unpin, nothing we load is freed */
        struct config *c = atomic_load_explicit(&current, memory_order_acquire);
        sum += c->version;
        larch_epoch_unpin();
    }
    *(long *)arg = sum;
    return NULL;
}

int main(void) {
    struct config *first = malloc(sizeof *first);
    first->version = 0;
    atomic_store(&current, first);

    long sum;
    pthread_t t;
    pthread_create(&t, NULL, reader, &sum);
    for (int v = 1; v <= 10000; v++) {
        struct config *next = malloc(sizeof *next);
        next->version = v;
        struct config *old = atomic_exchange_explicit(&current, next, memory_order_acq_rel);
        larch_epoch_retire(old, free); /* freed after every reader that might see it */
    }
    pthread_join(t, NULL);
    larch_epoch_barrier(); /* run every retirement made so far */
    free(atomic_load(&current));
    printf("reader saw versions summing to %ld\n", sum);
    return 0;
}
