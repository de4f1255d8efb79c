/* Compile-only: the headers have the contracted shapes (../shared/contract) for
 * every part implemented so far. Grows with each structure. */
#include <larch/larch.h>

#include <stdint.h>

int main(void) {
    _Static_assert(LARCH_OK == 0 && LARCH_NOTFOUND == 1 && LARCH_EXISTS == 2 && LARCH_DELETED == 3,
                   "status values");
    _Static_assert(LARCH_EINVAL == -1 && LARCH_ENOMEM == -2 && LARCH_EKEYSIZE == -3 &&
                       LARCH_ECORRUPT == -4,
                   "error values");
    _Static_assert(LARCH_UPDATE_KEEP == 0 && LARCH_UPDATE_STORE == 1 && LARCH_UPDATE_DELETE == 2,
                   "update actions");
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
