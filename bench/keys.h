/* keys.h: the key sets, generated before any timing starts. A key set holds n
 * present keys (in sorted order, so a key's id is its rank) and n absent keys,
 * plus the orders in which the workloads visit them. */
#ifndef LARCH_BENCH_KEYS_H
#define LARCH_BENCH_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* The longest key any generator makes; scan checks copy keys into buffers this big. */
#define BENCH_KEY_LEN_MAX 128

enum key_kind { KEYS_U64RAND, KEYS_U64SEQ, KEYS_EMAIL, KEYS_URL, KEYS_COUNT };

struct bench_key {
    const unsigned char *data; /* followed by a NUL byte (string keys contain none) */
    uint32_t len;
};

struct keyset {
    enum key_kind kind;
    const char *name;
    int u64;  /* every key is 8 bytes: a big-endian uint64 */
    size_t n; /* present keys */
    /* keys[id]: ids 0..n-1 are the present keys in ascending order (id = rank);
     * ids n..2n-1 are absent keys in generation (random) order. */
    struct bench_key *keys;
    uint32_t *insert_order; /* the n present ids in generation order: the load order */
    uint32_t *random_order; /* the n present ids shuffled: lookup, delete, scan starts */
    unsigned char *arena;   /* the bytes of every key */
};

/* Name <-> kind; key_kind_parse returns -1 for an unknown name. */
const char *key_kind_name(enum key_kind kind);
int key_kind_parse(const char *name);

/* Generates the set (deterministic for a given kind and n); exits on failure. */
void keyset_generate(struct keyset *ks, enum key_kind kind, size_t n);
void keyset_free(struct keyset *ks);

/* Writes one string key into out (room for BENCH_KEY_LEN_MAX bytes) and returns its
 * length; keys_text.c. */
size_t keygen_email(uint64_t *rng, unsigned char *out);
size_t keygen_url(uint64_t *rng, unsigned char *out);

#endif /* LARCH_BENCH_KEYS_H */
