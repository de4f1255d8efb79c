/* keys.c: builds a key set. Candidates come from a generator in a fixed-seed
 * stream; a hash set drops repeats, so the set holds exactly 2n distinct keys, the
 * first n generated present and the next n absent. Present keys are then sorted so
 * that a key's id is its rank, which is what lets scans be checked exactly. */
#include "keys.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[KEYS_COUNT] = {"u64rand", "u64seq", "email", "url", "k16"};

const char *key_kind_name(enum key_kind kind) {
    return kind_names[kind];
}

int key_kind_parse(const char *name) {
    for (int k = 0; k < KEYS_COUNT; k++)
        if (!strcmp(name, kind_names[k]))
            return k;
    return -1;
}

static void *xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) {
        fprintf(stderr, "larch-bench: out of memory generating keys (%zu bytes)\n", size);
        exit(1);
    }
    return p;
}

/* A key while the arena may still move: an offset instead of a pointer. */
struct draft {
    uint64_t off;
    uint32_t len;
    uint32_t gen; /* position among the present keys, in generation order */
};

struct builder {
    unsigned char *arena;
    size_t used, cap;
    struct draft *drafts;
    size_t count;
    uint32_t *slots; /* open addressing: draft index + 1, 0 = empty */
    size_t mask;
};

static uint64_t hash_bytes(const unsigned char *p, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull ^ len;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* Appends the key if it is new; returns 1 if it was added. */
static int builder_add(struct builder *b, const unsigned char *key, size_t len) {
    size_t i = hash_bytes(key, len) & b->mask;
    for (uint32_t s; (s = b->slots[i]) != 0; i = (i + 1) & b->mask) {
        const struct draft *d = &b->drafts[s - 1];
        if (d->len == len && !memcmp(b->arena + d->off, key, len))
            return 0;
    }
    if (b->used + len + 1 > b->cap) {
        b->cap = b->cap * 2 + len + 1;
        unsigned char *grown = realloc(b->arena, b->cap);
        if (!grown) {
            fprintf(stderr, "larch-bench: out of memory generating keys\n");
            exit(1);
        }
        b->arena = grown;
    }
    memcpy(b->arena + b->used, key, len);
    b->arena[b->used + len] = 0;
    b->drafts[b->count] = (struct draft){b->used, (uint32_t)len, (uint32_t)b->count};
    b->used += len + 1;
    b->slots[i] = (uint32_t)++b->count;
    return 1;
}

static void put_be64(unsigned char *out, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)v;
}

/* The next candidate for position `index` (present while index < n). */
static size_t candidate(enum key_kind kind, uint64_t *rng, size_t index, size_t n,
                        unsigned char *out) {
    switch (kind) {
    case KEYS_U64RAND:
        put_be64(out, rng_next(rng));
        return 8;
    case KEYS_U64SEQ: /* dense 0..n-1; absent keys anywhere above */
        put_be64(out, index < n ? index : n + rng_below(rng, UINT64_MAX - n));
        return 8;
    case KEYS_K16: {
        char digits[17];
        snprintf(digits, sizeof digits, "%016llu",
                 (unsigned long long)rng_below(rng, 10000000000000000ull));
        memcpy(out, digits, 16);
        return 16;
    }
    case KEYS_EMAIL:
        return keygen_email(rng, out);
    case KEYS_URL:
    default:
        return keygen_url(rng, out);
    }
}

static const unsigned char *sort_arena;

static int draft_cmp(const void *a, const void *b) {
    const struct draft *x = a, *y = b;
    size_t common = x->len < y->len ? x->len : y->len;
    int c = memcmp(sort_arena + x->off, sort_arena + y->off, common);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

void keyset_generate(struct keyset *ks, enum key_kind kind, size_t n) {
    size_t total = 2 * n, cap = 16;
    while (cap < 2 * total)
        cap *= 2;
    struct builder b = {0};
    b.cap = total * (kind == KEYS_U64RAND || kind == KEYS_U64SEQ ? 9 : 48);
    b.arena = xmalloc(b.cap);
    b.drafts = xmalloc(total * sizeof *b.drafts);
    b.slots = calloc(cap, sizeof *b.slots);
    if (!b.slots) {
        fprintf(stderr, "larch-bench: out of memory generating keys\n");
        exit(1);
    }
    b.mask = cap - 1;

    uint64_t rng = BENCH_SEED ^ ((uint64_t)kind << 56);
    unsigned char buf[BENCH_KEY_LEN_MAX];
    while (b.count < total)
        builder_add(&b, buf, candidate(kind, &rng, b.count, n, buf));
    free(b.slots);

    sort_arena = b.arena;
    qsort(b.drafts, n, sizeof *b.drafts, draft_cmp);

    for (size_t id = 1; id < n; id++)
        if (draft_cmp(&b.drafts[id - 1], &b.drafts[id]) >= 0) {
            fprintf(stderr, "larch-bench: key generation is broken (keys not distinct)\n");
            exit(1);
        }

    /* The final arena holds the keys in id order, so a scan's checker reads the
     * expected keys sequentially instead of missing the cache on every entry. */
    ks->kind = kind;
    ks->name = kind_names[kind];
    ks->u64 = kind == KEYS_U64RAND || kind == KEYS_U64SEQ;
    ks->n = n;
    ks->arena = xmalloc(b.used);
    ks->keys = xmalloc(total * sizeof *ks->keys);
    stream_alloc(&ks->load, n);
    stream_alloc(&ks->shuffled, n);
    stream_alloc(&ks->absent, n);
    size_t used = 0;
    for (size_t id = 0; id < total; id++) {
        const struct draft *d = &b.drafts[id];
        memcpy(ks->arena + used, b.arena + d->off, d->len + 1);
        ks->keys[id] = (struct bench_key){ks->arena + used, d->len};
        used += d->len + 1;
        if (id < n) {
            ks->load.req[d->gen].id = (uint32_t)id;
            ks->shuffled.req[id].id = (uint32_t)id;
        } else {
            ks->absent.req[id - n].id = (uint32_t)id;
        }
    }
    free(b.drafts);
    free(b.arena);

    uint64_t shuffle = BENCH_SEED ^ 0x5348554646ull;
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(&shuffle, i);
        uint32_t t = ks->shuffled.req[i - 1].id;
        ks->shuffled.req[i - 1].id = ks->shuffled.req[j].id;
        ks->shuffled.req[j].id = t;
    }
    stream_pack(&ks->load, ks);
    stream_pack(&ks->shuffled, ks);
    stream_pack(&ks->absent, ks);
}

void keyset_free(struct keyset *ks) {
    free(ks->keys);
    free(ks->arena);
    stream_free(&ks->load);
    stream_free(&ks->shuffled);
    stream_free(&ks->absent);
    memset(ks, 0, sizeof *ks);
}
