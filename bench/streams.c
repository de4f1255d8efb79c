/* streams.c: requests laid out in the order they are issued. Each stream copies its
 * keys' bytes into one arena in request order, so walking a stream is a sequential
 * read that the prefetcher hides, and a timed run measures the index, not the
 * harness's own cache misses. */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stream_alloc(struct stream *s, size_t count) {
    s->count = count;
    s->arena = NULL;
    s->req = calloc(count ? count : 1, sizeof *s->req);
    if (!s->req) {
        fprintf(stderr, "larch-bench: out of memory for %zu requests\n", count);
        exit(1);
    }
}

void stream_pack(struct stream *s, const struct keyset *ks) {
    size_t bytes = 0;
    for (size_t i = 0; i < s->count; i++)
        bytes += ks->keys[s->req[i].id].len + 1;
    s->arena = malloc(bytes ? bytes : 1);
    if (!s->arena) {
        fprintf(stderr, "larch-bench: out of memory for %zu bytes of requests\n", bytes);
        exit(1);
    }
    unsigned char *p = s->arena;
    for (size_t i = 0; i < s->count; i++) {
        const struct bench_key *k = &ks->keys[s->req[i].id];
        memcpy(p, k->data, k->len + 1); /* with the NUL that JudySL relies on */
        s->req[i].data = p;
        s->req[i].len = (uint16_t)k->len;
        p += k->len + 1;
    }
}

void stream_free(struct stream *s) {
    free(s->req);
    free(s->arena);
    memset(s, 0, sizeof *s);
}
