/* check.c: failing loudly, and the scan verifier. A scan is checked entry by entry
 * against the sorted key set: the present keys come in rank order from the start
 * key with none skipped, the scan ends at its limit or at the last key, and (in
 * full checks, and for every first entry) each entry is the key its value names and
 * new keys (ycsb-e) fall in order between the present ones. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char context[160] = "setup";

void check_context(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
}

void check_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\nlarch-bench: FAILED (%s): ", context);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    /* Other threads may still be running the index: leave without atexit work. */
    fflush(stdout);
    _Exit(1);
}

void scan_check_begin(struct scan_check *c, const struct keyset *ks, uint32_t start,
                      const unsigned char *start_key, size_t start_len, long limit, int exact,
                      int full) {
    c->ks = ks;
    c->start = start;
    c->start_key = start_key;
    c->start_len = start_len;
    c->limit = limit;
    c->seen = 0;
    c->next_present = start;
    c->exact = exact;
    c->full = full;
    c->prev_len = 0;
}

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* memcmp, with the 8-byte keys of the integer sets compared in one load each. */
static inline int same_bytes(const void *a, const void *b, size_t len) {
    if (len == 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x == y;
    }
    return !memcmp(a, b, len);
}

int scan_check_entry(void *ctx, const void *key, size_t len, uint64_t val) {
    struct scan_check *c = ctx;
    uint32_t id = VALUE_ID(val);
    if (id >= 2 * c->ks->n)
        check_fail("scan from key #%u: entry %ld has value %#llx, which no key was given", c->start,
                   c->seen, (unsigned long long)val);
    if (c->seen == 0) {
        /* The start key is present, so the first entry is it: compared with the
         * request's copy of its bytes, not keys[id], whose two random cache misses
         * a scan would otherwise be charged for. */
        if (id != c->start)
            check_fail("scan from key #%u (present) began at key #%u", c->start, id);
        if (c->start_len != len || !same_bytes(c->start_key, key, len))
            check_fail("scan from key #%u: entry 0 has its value but another key", c->start);
    } else if (c->full) {
        const struct bench_key *k = &c->ks->keys[id];
        if (k->len != len || !same_bytes(k->data, key, len))
            check_fail("scan from key #%u: entry %ld has the value of key #%u but another key",
                       c->start, c->seen, id);
    }
    if (id < c->ks->n) { /* a present key: none may be skipped */
        if (id != c->next_present)
            check_fail("scan from key #%u: entry %ld is key #%u, expected #%u", c->start, c->seen,
                       id, c->next_present);
        c->next_present++;
    } else if (c->exact) {
        check_fail("scan from key #%u: entry %ld is key #%u, which was never inserted", c->start,
                   c->seen, id);
    }
    if (!c->exact && c->full) { /* new keys fall between the present ones: check the order */
        if (c->seen > 0 && key_cmp(c->prev, c->prev_len, key, len) >= 0)
            check_fail("scan from key #%u: entry %ld (key #%u) is not above the entry before it",
                       c->start, c->seen, id);
        memcpy(c->prev, key, len);
        c->prev_len = len;
    }
    return ++c->seen >= c->limit;
}

void scan_check_end(struct scan_check *c, long returned) {
    if (returned != c->seen)
        check_fail("scan from key #%u returned %ld but made %ld calls", c->start, returned,
                   c->seen);
    /* It stops at the limit, or earlier only at the end of the keys. */
    if (c->seen > c->limit || (c->seen < c->limit && c->next_present != c->ks->n))
        check_fail("scan from key #%u for %ld entries returned %ld, the last present one #%u "
                   "of %zu",
                   c->start, c->limit, c->seen, c->next_present - 1, c->ks->n);
}
