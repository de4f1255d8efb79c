/* zipf.c: the Zipfian generator of YCSB (theta < 1). One sample costs one pow(). */
#include "zipf.h"
#include "rng.h"

#include <math.h>

void zipf_init(struct zipf *z, size_t n, double theta) {
    double zetan = 0;
    for (size_t i = 1; i <= n; i++)
        zetan += 1.0 / pow((double)i, theta);
    double zeta2 = 1.0 + 1.0 / pow(2.0, theta);
    z->n = n;
    z->theta = theta;
    z->alpha = 1.0 / (1.0 - theta);
    z->zetan = zetan;
    z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / zetan);
    z->half_pow_theta = 1.0 + pow(0.5, theta);
}

size_t zipf_next(const struct zipf *z, uint64_t *rng) {
    double u = rng_unit(rng), uz = u * z->zetan;
    if (uz < 1.0)
        return 0;
    if (uz < z->half_pow_theta)
        return z->n > 1;
    size_t item = (size_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return item < z->n ? item : z->n - 1;
}

/* FNV-1a over the item's 8 bytes, as YCSB's ScrambledZipfianGenerator. */
static uint64_t fnv64(uint64_t v) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 8; i++, v >>= 8)
        h = (h ^ (v & 0xff)) * 0x100000001b3ull;
    return h;
}

size_t zipf_next_scrambled(const struct zipf *z, uint64_t *rng) {
    return (size_t)(fnv64(zipf_next(z, rng)) % z->n);
}
