/* Epoch costs: pin+unpin (outermost and nested), retire inside and outside a
 * section, amortised over the reclamation it causes. */
#include <larch/epoch.h>

#include "microbench.h"

static void pin_unpin(long n, void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) {
        larch_epoch_pin();
        larch_epoch_unpin();
    }
}

static void nested_pin_unpin(long n, void *arg) {
    (void)arg;
    larch_epoch_pin();
    for (long i = 0; i < n; i++) {
        larch_epoch_pin();
        larch_epoch_unpin();
    }
    larch_epoch_unpin();
}

static void noop(void *p) {
    (void)p;
}

static void retire_unpinned(long n, void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++)
        larch_epoch_retire((void *)(uintptr_t)i, noop);
}

static void retire_in_sections_of_16(long n, void *arg) {
    (void)arg;
    for (long i = 0; i < n; i += 16) {
        larch_epoch_pin();
        for (long j = 0; j < 16; j++)
            larch_epoch_retire((void *)(uintptr_t)(i + j), noop);
        larch_epoch_unpin();
    }
}

static void pin_retire_unpin(long n, void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) {
        larch_epoch_pin();
        larch_epoch_retire((void *)(uintptr_t)i, noop);
        larch_epoch_unpin();
    }
}

static void row(const char *name, micro_body body, long n, int repeat) {
    double one = micro_measure(body, NULL, n, 1, repeat);
    double two = micro_measure(body, NULL, n, 2, repeat);
    larch_epoch_barrier();
    micro_row(name, one, two);
}

void epoch_bench(long n, int repeat) {
    row("epoch pin+unpin", pin_unpin, n, repeat);
    row("epoch nested pin+unpin", nested_pin_unpin, n, repeat);
    row("epoch retire (unpinned, amortised)", retire_unpinned, n, repeat);
    row("epoch retire (16 per section, amortised)", retire_in_sections_of_16, n, repeat);
    row("epoch pin+retire+unpin", pin_retire_unpin, n, repeat);
}
