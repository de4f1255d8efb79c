/* workloads.c: the timed bodies and the checks around them. Everything a body
 * reads (keys, orders, request streams) exists before the clock starts; each
 * operation's result is checked inside the run, so a broken index cannot post a
 * figure. YCSB requests follow a scrambled Zipfian (theta 0.99) over the keys. */
#include "workloads.h"
#include "check.h"
#include "rng.h"
#include "runner.h"
#include "zipf.h"

#include <larch/larch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_LENGTH 100
#define ZIPF_THETA 0.99

static const struct {
    const char *name;
    int needs_scan, needs_load, changes_keys;
} info[W_COUNT] = {
    [W_INSERT] = {"insert", 0, 0, 1}, [W_LOOKUP] = {"lookup", 0, 1, 0},
    [W_MISS] = {"miss", 0, 1, 0},     [W_SCAN] = {"scan", 1, 1, 0},
    [W_DELETE] = {"delete", 0, 1, 1}, [W_YCSB_A] = {"ycsb-a", 0, 1, 0},
    [W_YCSB_B] = {"ycsb-b", 0, 1, 0}, [W_YCSB_C] = {"ycsb-c", 0, 1, 0},
    [W_YCSB_E] = {"ycsb-e", 1, 1, 0}, /* its new keys are deleted again after each run */
};

const char *workload_name(enum workload w) {
    return info[w].name;
}

int workload_parse(const char *name) {
    for (int w = 0; w < W_COUNT; w++)
        if (!strcmp(name, info[w].name))
            return w;
    return -1;
}

int workload_needs_scan(enum workload w) {
    return info[w].needs_scan;
}

int workload_needs_load(enum workload w) {
    return info[w].needs_load;
}

int workload_updates(enum workload w) {
    return w == W_YCSB_A || w == W_YCSB_B;
}

int workload_changes_keys(enum workload w) {
    return info[w].changes_keys;
}

long workload_ops(enum workload w, size_t n) {
    long ops = (long)n;
    if (w == W_SCAN || w == W_YCSB_E)
        ops = (long)n / 50;
    return ops > 0 ? ops : 1;
}

/* ---- YCSB request streams ------------------------------------------------- */

void requests_init(struct requests *rq, const struct keyset *ks) {
    memset(rq, 0, sizeof *rq);
    rq->ks = ks;
}

void requests_free(struct requests *rq) {
    for (int w = 0; w < W_COUNT; w++)
        stream_free(&rq->stream[w]);
    memset(rq, 0, sizeof *rq);
}

static const struct request *requests_for(struct requests *rq, enum workload w) {
    if (rq->stream[w].req)
        return rq->stream[w].req;
    size_t n = rq->ks->n;
    if (!rq->zipf_ready) {
        zipf_init(&rq->zipf, n, ZIPF_THETA);
        rq->zipf_ready = 1;
    }
    struct stream *s = &rq->stream[w];
    stream_alloc(s, (size_t)workload_ops(w, n));
    int write_percent = w == W_YCSB_A ? 50 : w == W_YCSB_B || w == W_YCSB_E ? 5 : 0;
    uint64_t rng = BENCH_SEED ^ (0x7963736200ull + (uint64_t)w);
    uint32_t inserted = 0;
    for (size_t i = 0; i < s->count; i++) {
        struct request *q = &s->req[i];
        q->write = (int)rng_below(&rng, 100) < write_percent;
        q->id = (uint32_t)zipf_next_scrambled(&rq->zipf, &rng);
        if (w == W_YCSB_E && q->write) /* a new key: the next absent one */
            q->id = (uint32_t)n + inserted++;
        else if (w == W_YCSB_E)
            q->scan_length = (uint8_t)(1 + rng_below(&rng, SCAN_LENGTH));
    }
    stream_pack(s, rq->ks);
    return s->req;
}

/* ---- the timed bodies ------------------------------------------------------ */

struct run {
    enum workload w;
    const struct bench_index *index;
    void *ix;
    const struct keyset *ks;
    const struct request *req; /* the stream this run walks */
    long total;
    uint32_t number;
};

static void put_new(const struct run *r, const void *key, size_t len, uint32_t id) {
    int st = r->index->put(r->ix, key, len, VALUE(id, r->number));
    if (st != LARCH_OK)
        check_fail("put of absent key #%u returned %s, expected LARCH_OK", id, larch_strerror(st));
}

static void put_update(const struct run *r, const void *key, size_t len, uint32_t id) {
    int st = r->index->put(r->ix, key, len, VALUE(id, r->number));
    if (st != LARCH_EXISTS)
        check_fail("put of present key #%u returned %s, expected LARCH_EXISTS", id,
                   larch_strerror(st));
}

static void get_present(const struct run *r, const void *key, size_t len, uint32_t id) {
    uint64_t val = 0;
    int st = r->index->get(r->ix, key, len, &val);
    if (st != LARCH_OK)
        check_fail("get of present key #%u returned %s", id, larch_strerror(st));
    if (VALUE_ID(val) != id)
        check_fail("get of key #%u returned the value %#llx of key #%u", id,
                   (unsigned long long)val, VALUE_ID(val));
}

static void get_absent(const struct run *r, const void *key, size_t len, uint32_t id) {
    uint64_t val = 0;
    int st = r->index->get(r->ix, key, len, &val);
    if (st != LARCH_NOTFOUND)
        check_fail("get of absent key #%u returned %s (value %#llx)", id, larch_strerror(st),
                   (unsigned long long)val);
}

static void delete_present(const struct run *r, const void *key, size_t len, uint32_t id) {
    int st = r->index->del(r->ix, key, len);
    if (st != LARCH_OK)
        check_fail("delete of present key #%u returned %s", id, larch_strerror(st));
}

/* Scan number `i` gets the full check once in SCAN_FULL_CHECK_EVERY. */
static void scan_from(const struct run *r, long i, const struct request *q, long length,
                      int exact) {
    struct scan_check c;
    scan_check_begin(&c, r->ks, q->id, q->data, q->len, length, exact,
                     i % SCAN_FULL_CHECK_EVERY == 0);
    long calls = r->index->scan(r->ix, q->data, q->len, scan_check_entry, &c);
    if (calls < 0)
        check_fail("scan from key #%u returned %s", q->id, larch_strerror((int)calls));
    scan_check_end(&c, calls);
}

static void body(void *arg, int thread, int threads) {
    const struct run *r = arg;
    long lo, hi;
    run_share(r->total, thread, threads, &lo, &hi);
    for (long i = lo; i < hi; i++) {
        const struct request *q = &r->req[i];
        switch (r->w) {
        case W_INSERT:
            put_new(r, q->data, q->len, q->id);
            break;
        case W_LOOKUP:
        case W_YCSB_C:
            get_present(r, q->data, q->len, q->id);
            break;
        case W_MISS:
            get_absent(r, q->data, q->len, q->id);
            break;
        case W_SCAN:
            scan_from(r, i, q, SCAN_LENGTH, 1);
            break;
        case W_DELETE:
            delete_present(r, q->data, q->len, q->id);
            break;
        case W_YCSB_A:
        case W_YCSB_B:
            if (q->write)
                put_update(r, q->data, q->len, q->id);
            else
                get_present(r, q->data, q->len, q->id);
            break;
        case W_YCSB_E:
            if (q->write)
                put_new(r, q->data, q->len, q->id);
            else
                scan_from(r, i, q, q->scan_length, 0);
            break;
        default:
            break;
        }
    }
}

/* ---- untimed checks after a run -------------------------------------------- */

static int stop_at_first(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx, (void)key, (void)len, (void)val;
    return 1;
}

static void check_after(const struct run *r) {
    const struct keyset *ks = r->ks;
    size_t stride = ks->n / 2000 + 1;
    if (r->index->thread_begin)
        r->index->thread_begin();
    switch (r->w) {
    case W_INSERT: /* every key went in with its value; absent keys stayed out */
        for (size_t id = 0; id < ks->n; id += stride) {
            const struct bench_key *k = &ks->keys[id], *a = &ks->keys[ks->n + id];
            get_present(r, k->data, k->len, (uint32_t)id);
            get_absent(r, a->data, a->len, (uint32_t)(ks->n + id));
        }
        break;
    case W_DELETE: /* the index is empty */
        for (size_t id = 0; id < ks->n; id += stride)
            get_absent(r, ks->keys[id].data, ks->keys[id].len, (uint32_t)id);
        if (r->index->scan) {
            long calls =
                r->index->scan(r->ix, ks->keys[0].data, ks->keys[0].len, stop_at_first, NULL);
            if (calls != 0)
                check_fail("after deleting every key a scan still returned %ld entries", calls);
        }
        break;
    case W_YCSB_E: /* every new key is there; take them out again, so that the next
                      run finds the same n keys */
        for (long i = 0; i < r->total; i++) {
            const struct request *q = &r->req[i];
            if (q->write) {
                get_present(r, q->data, q->len, q->id);
                delete_present(r, q->data, q->len, q->id);
            }
        }
        break;
    default:
        break;
    }
    if (r->index->thread_end)
        r->index->thread_end();
}

double workload_run(enum workload w, const struct bench_index *index, void *ix, struct requests *rq,
                    int threads, uint32_t number) {
    const struct keyset *ks = rq->ks;
    struct run r = {w, index, ix, ks, NULL, workload_ops(w, ks->n), number};
    if (w == W_INSERT)
        r.req = ks->load.req;
    else if (w == W_LOOKUP || w == W_SCAN || w == W_DELETE)
        r.req = ks->shuffled.req;
    else if (w == W_MISS)
        r.req = ks->absent.req;
    else
        r.req = requests_for(rq, w);
    double seconds = run_threads(index, threads, body, &r);
    check_after(&r);
    return seconds;
}
