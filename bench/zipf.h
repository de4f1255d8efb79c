/* zipf.h: YCSB's request distribution: Zipfian over n items with constant theta
 * (Gray et al., "Quickly generating billion-record synthetic databases"), with the
 * popular items scattered over the key space by a hash, as YCSB's scrambled
 * generator does. */
#ifndef LARCH_BENCH_ZIPF_H
#define LARCH_BENCH_ZIPF_H

#include <stddef.h>
#include <stdint.h>

struct zipf {
    size_t n;
    double theta, alpha, zetan, eta, half_pow_theta;
};

/* O(n): computes zeta(n, theta) once. */
void zipf_init(struct zipf *z, size_t n, double theta);
/* An item in [0, n): item 0 is the most popular, then 1, ... */
size_t zipf_next(const struct zipf *z, uint64_t *rng);
/* The same, scattered: the popular items are spread over [0, n). */
size_t zipf_next_scrambled(const struct zipf *z, uint64_t *rng);

#endif /* LARCH_BENCH_ZIPF_H */
