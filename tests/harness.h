/* The in-repo test harness: one executable per suite, each test a function run by
 * RUN() in main, CHECK* macros that record a failure and carry on (they may be used
 * from any thread), and a closing "N passed, N failed" line with a non-zero exit on
 * any failure. Stress tests scale their iteration counts by LARCH_STRESS_SCALE. */
#ifndef LARCH_TESTS_HARNESS_H
#define LARCH_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long harness_failures;
static int harness_passed, harness_failed;

static inline void harness_fail(const char *file, int line, const char *what) {
    atomic_fetch_add(&harness_failures, 1);
    fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what);
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            harness_fail(__FILE__, __LINE__, #cond);                                               \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            char check_msg_[256];                                                                  \
            snprintf(check_msg_, sizeof check_msg_, "%s == %s (%lld != %lld)", #a, #b, check_a_,   \
                     check_b_);                                                                    \
            harness_fail(__FILE__, __LINE__, check_msg_);                                          \
        }                                                                                          \
    } while (0)

/* For setup that the rest of a test cannot do without. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            harness_fail(__FILE__, __LINE__, #cond);                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define RUN(test)                                                                                  \
    do {                                                                                           \
        long before_ = atomic_load(&harness_failures);                                             \
        fprintf(stderr, "%s ...\n", #test);                                                        \
        test();                                                                                    \
        if (atomic_load(&harness_failures) == before_) {                                           \
            harness_passed++;                                                                      \
        } else {                                                                                   \
            harness_failed++;                                                                      \
            fprintf(stderr, "%s FAILED\n", #test);                                                 \
        }                                                                                          \
    } while (0)

static inline int harness_finish(void) {
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}

/* Multiplier for stress iteration counts: 1 in `make check`, larger in `make stress`. */
static inline long stress_scale(void) {
    const char *s = getenv("LARCH_STRESS_SCALE");
    long v = s ? strtol(s, NULL, 10) : 1;
    return v > 0 ? v : 1;
}

/* True when built with a sanitizer that slows code by an order of magnitude; stress
 * tests shrink their counts so `make check-sanitize` stays within CI's time. */
static inline int under_sanitizer(void) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
    return 1;
#else
    return 0;
#endif
#else
    return 0;
#endif
}

/* xorshift64*: deterministic per-thread random numbers for tests. */
static inline uint64_t test_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif /* LARCH_TESTS_HARNESS_H */
