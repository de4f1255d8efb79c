/* keys.h: the key sets, generated before any timing starts. A key set holds n
 * present keys (in sorted order, so a key's id is its rank) and n absent keys,
 * plus the orders in which the workloads visit them. */
#ifndef LARCH_BENCH_KEYS_H
#define LARCH_BENCH_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* The longest key any generator makes; scan checks copy keys into buffers this big. */
#define BENCH_KEY_LEN_MAX 128

/* k16: LevelDB db_bench's keys: a random number below 10^16 in 16 decimal digits
 * ("%016llu"). */
enum key_kind { KEYS_U64RAND, KEYS_U64SEQ, KEYS_EMAIL, KEYS_URL, KEYS_K16, KEYS_COUNT };

struct bench_key {
    const unsigned char *data; /* followed by a NUL byte (string keys contain none) */
    uint32_t len;
};

/* One request as a timed body issues it: the key's bytes, its id, and for YCSB what
 * to do with it. A stream's keys are copied into an arena of their own in the order
 * the stream uses them, so the harness reads its keys sequentially and the cache
 * misses measured are the index's own. */
struct request {
    const unsigned char *data;
    uint32_t id;
    uint16_t len;
    uint8_t write;       /* YCSB: an update (A, B) or an insert of a new key (E) */
    uint8_t scan_length; /* ycsb-e: entries wanted (1..100); 0 for a point request */
};

struct stream {
    struct request *req;
    size_t count;
    unsigned char *arena;
};

struct keyset {
    enum key_kind kind;
    const char *name;
    int u64;  /* every key is 8 bytes: a big-endian uint64 */
    size_t n; /* present keys */
    /* keys[id]: ids 0..n-1 are the present keys in ascending order (id = rank);
     * ids n..2n-1 are absent keys in generation (random) order. */
    struct bench_key *keys;
    unsigned char *arena;   /* the bytes of keys[], in id order */
    struct stream load;     /* the present keys in generation order: insert */
    struct stream shuffled; /* the present keys shuffled: lookup, delete, scan starts */
    struct stream absent;   /* the absent keys: miss */
};
/* Name <-> kind; key_kind_parse returns -1 for an unknown name. */
const char *key_kind_name(enum key_kind kind);
int key_kind_parse(const char *name);

/* Generates the set (deterministic for a given kind and n); exits on failure. */
void keyset_generate(struct keyset *ks, enum key_kind kind, size_t n);
void keyset_free(struct keyset *ks);

/* streams.c: stream_alloc makes `count` zeroed requests; the caller sets each id
 * (and write, scan_length), then stream_pack copies the keys' bytes into place. */
void stream_alloc(struct stream *s, size_t count);
void stream_pack(struct stream *s, const struct keyset *ks);
void stream_free(struct stream *s);

/* Writes one string key into out (room for BENCH_KEY_LEN_MAX bytes) and returns its
 * length; keys_text.c. */
size_t keygen_email(uint64_t *rng, unsigned char *out);
size_t keygen_url(uint64_t *rng, unsigned char *out);

#endif /* LARCH_BENCH_KEYS_H */
