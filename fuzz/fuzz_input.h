/* What every fuzz target shares: the fuzzer's bytes read one at a time (zeros once
 * they run out, so any input decodes to some sequence of operations), and the way a
 * divergence is reported: a message on stderr, then abort(), which libFuzzer and
 * AFL++ record as a crash together with the input that caused it. */
#ifndef LARCH_FUZZ_INPUT_H
#define LARCH_FUZZ_INPUT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fuzz_input {
    const uint8_t *p, *end;
};

static inline int fuzz_more(const struct fuzz_input *in) {
    return in->p < in->end;
}

static inline unsigned fuzz_byte(struct fuzz_input *in) {
    return in->p < in->end ? *in->p++ : 0;
}

static inline unsigned fuzz_u16(struct fuzz_input *in) {
    unsigned hi = fuzz_byte(in);
    return hi << 8 | fuzz_byte(in);
}

/* A value that makes cas match now and then and crosses the edges of the word. */
static inline uint64_t fuzz_value(struct fuzz_input *in) {
    unsigned b = fuzz_byte(in);
    switch (b >> 6) {
    case 0:
        return b & 15;
    case 1:
        return UINT64_MAX - (b & 3);
    default:
        return (uint64_t)b * 0x9E3779B97F4A7C15ULL;
    }
}

static inline void fuzz_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static inline void fuzz_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "larch fuzz: divergence: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

#define FUZZ_EXPECT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_die(__VA_ARGS__);                                                                 \
    } while (0)

/* The entry point every target defines (libFuzzer's name, also what AFL++'s driver
 * and fuzz/replay.c call). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* LARCH_FUZZ_INPUT_H */
