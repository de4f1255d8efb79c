/* rng.h: the benchmark's deterministic random numbers (splitmix64). Every stream
 * is seeded from a fixed constant, so every run generates the same keys and the
 * same request sequences. */
#ifndef LARCH_BENCH_RNG_H
#define LARCH_BENCH_RNG_H

#include <stdint.h>

#define BENCH_SEED 0x6c617263682d6265ull /* "larch-be" */

static inline uint64_t rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound > 0 (Lemire's multiply-shift, bias below 2^-32). */
static inline uint64_t rng_below(uint64_t *state, uint64_t bound) {
    return (uint64_t)(((unsigned __int128)rng_next(state) * bound) >> 64);
}

/* Uniform in [0, 1). */
static inline double rng_unit(uint64_t *state) {
    return (double)(rng_next(state) >> 11) * 0x1.0p-53;
}

#endif /* LARCH_BENCH_RNG_H */
