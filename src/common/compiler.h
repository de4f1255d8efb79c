/* Compiler and CPU helpers shared by every module: branch hints, cache-line size,
 * and the pause instruction used while spinning. */
#ifndef LARCH_COMMON_COMPILER_H
#define LARCH_COMMON_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define LARCH_LIKELY(x) __builtin_expect(!!(x), 1)
#define LARCH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LARCH_NOINLINE __attribute__((noinline))
#define LARCH_ALWAYS_INLINE inline __attribute__((always_inline))
#define LARCH_COLD __attribute__((cold, noinline))
/* Thread-local with the initial-exec model: the shared library pays no
 * __tls_get_addr call per access. */
#define LARCH_TLS_IE __thread __attribute__((tls_model("initial-exec")))
#else
#define LARCH_LIKELY(x) (x)
#define LARCH_UNLIKELY(x) (x)
#define LARCH_NOINLINE
#define LARCH_ALWAYS_INLINE inline
#define LARCH_COLD
#define LARCH_TLS_IE _Thread_local
#endif

/* Two 64-byte lines: x86 prefetches cache lines in adjacent pairs, so padding per
 * thread records to 128 bytes keeps neighbours from sharing a prefetch unit. */
#define LARCH_CACHE_PAD 128

static inline void larch__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* LARCH_COMMON_COMPILER_H */
