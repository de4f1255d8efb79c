/* Allocation failure at every allocation point. For each operation the walk makes
 * the k-th allocation from the start of the call fail (and every later one), for
 * k = 0, 1, 2, ... until the call completes without reaching a failure. Each time
 * the call returns LARCH_ENOMEM the index must be exactly as before (contents,
 * len, height, check), and update's fn must not have run; a call that gets past a
 * failure (an allocation it could do without) must have done its whole job. The
 * index is big enough, and its keys long enough, that puts split nodes and deletes
 * merge them; LeakSanitizer, in the sanitizer build, proves nothing leaks.
 * Runs on every index whose memory goes through src/common/alloc.h, the reference
 * index included, which proves the walk itself. */
#include <string.h>

#include "common/alloc.h"
#include "harness.h"
#include "index_test.h"

/* What the walk saw for one kind of operation. */
struct tally {
    const char *what;
    long calls, failures, most_points;
};

static void report(const struct tally *t) {
    fprintf(stderr,
            "    %-28s %5ld calls, %5ld failed with LARCH_ENOMEM, at most %ld failure "
            "points in one call\n",
            t->what, t->calls, t->failures, t->most_points);
}

/* The index matches `expected` exactly, and its height is `height`. */
static int unchanged(void *t, const struct dump *expected, int height) {
    struct dump got = {0};
    int ok = IX->check(t, stderr) == LARCH_OK && IX->len(t) == expected->n &&
             IX->height(t) == height && dump_scan(IX, t, &got) &&
             dump_equal(&got, expected, "after an allocation failure");
    dump_free(&got);
    return ok;
}

static uint64_t rng = 2024;

static size_t random_key(unsigned char *key) {
    size_t len = 1 + test_rand(&rng) % 400;
    for (size_t i = 0; i < len; i++)
        key[i] = (unsigned char)(i < 3 ? 'a' + test_rand(&rng) % 3 : test_rand(&rng));
    return len;
}

enum op { PUT, INSERT, DEL, CAS, UPDATE_STORE, UPDATE_DELETE, UPDATE_KEEP };

/* What a CAS walk expects the value to be: the present one, so that it swaps. */
static uint64_t cas_expected;

static int update_calls;

static int store_7(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)present;
    update_calls++;
    *val = 7;
    return LARCH_UPDATE_STORE;
}

static int delete_it(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)val, (void)present;
    update_calls++;
    return LARCH_UPDATE_DELETE;
}

static int keep_it(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)val, (void)present;
    update_calls++;
    return LARCH_UPDATE_KEEP;
}

static int call(void *t, enum op op, const unsigned char *key, size_t len, uint64_t val,
                uint64_t *out) {
    switch (op) {
    case PUT:
        return IX->put(t, key, len, val, out);
    case INSERT:
        return IX->insert(t, key, len, val, out);
    case DEL:
        return IX->del(t, key, len, out);
    case CAS:
        return IX->cas(t, key, len, cas_expected, val, out);
    case UPDATE_STORE:
        return IX->update(t, key, len, store_7, NULL);
    case UPDATE_DELETE:
        return IX->update(t, key, len, delete_it, NULL);
    default:
        return IX->update(t, key, len, keep_it, NULL);
    }
}

/* Walks every allocation point of one call of `op` on (key, len). `expected` is the
 * index's contents, kept up to date. Returns 0 after a failed CHECK. */
static int walk(void *t, struct dump *expected, enum op op, const unsigned char *key, size_t len,
                uint64_t val, struct tally *tally) {
    long pos = dump_find(expected, key, len);
    int present = pos >= 0;
    uint64_t before = present ? expected->e[pos].val : 0;
    int is_update = op >= UPDATE_STORE;
    cas_expected = before;
    tally->calls++;
    for (long k = 0;; k++) {
        if (k > 1000) {
            CHECK(!"an operation that keeps allocating");
            return 0;
        }
        int height = IX->height(t);
        uint64_t out = 0;
        update_calls = 0;
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        int rc = call(t, op, key, len, val, &out);
        larch__alloc_fail_at(-1, 0);
        long allocations = (long)(larch__alloc_count() - start);

        if (rc == LARCH_ENOMEM) {
            tally->failures++;
            if (k + 1 > tally->most_points)
                tally->most_points = k + 1;
            if (allocations <= k || (is_update && update_calls != 0) ||
                !unchanged(t, expected, height)) {
                fprintf(stderr,
                        "    %s: LARCH_ENOMEM at allocation %ld of %ld, fn ran %d "
                        "times, index %s\n",
                        tally->what, k, allocations, update_calls,
                        unchanged(t, expected, height) ? "unchanged" : "CHANGED");
                CHECK(!"LARCH_ENOMEM changed nothing");
                return 0;
            }
            continue;
        }

        /* It succeeded: with its whole effect. */
        int want_rc;
        int now_present = present;
        uint64_t now = before;
        switch (op) {
        case PUT:
            want_rc = present ? LARCH_EXISTS : LARCH_OK, now_present = 1, now = val;
            break;
        case INSERT:
            want_rc = present ? LARCH_EXISTS : LARCH_OK, now_present = 1,
            now = present ? before : val;
            break;
        case DEL:
            want_rc = present ? LARCH_OK : LARCH_NOTFOUND, now_present = 0;
            break;
        case CAS:
            want_rc = present ? LARCH_OK : LARCH_NOTFOUND, now = present ? val : before;
            break;
        case UPDATE_STORE:
            want_rc = present ? LARCH_OK : LARCH_NOTFOUND, now_present = 1, now = 7;
            break;
        case UPDATE_DELETE:
            want_rc = present ? LARCH_OK : LARCH_NOTFOUND, now_present = 0;
            break;
        default:
            want_rc = present ? LARCH_OK : LARCH_NOTFOUND;
            break;
        }
        int has_out = op == PUT || op == INSERT || op == DEL;
        int out_ok = !(present && has_out) || out == before;
        if (rc != want_rc || !out_ok || (is_update && update_calls != 1)) {
            fprintf(stderr, "    %s: returned %d (expected %d), out %llu, fn ran %d times\n",
                    tally->what, rc, want_rc, (unsigned long long)out, update_calls);
            CHECK(!"the call did its job");
            return 0;
        }
        /* The contents now. */
        struct dump after = {0};
        for (size_t i = 0; i < expected->n; i++)
            if ((long)i != pos)
                dump_add(&after, expected->e[i].key, expected->e[i].len, expected->e[i].val);
        if (now_present)
            dump_add(&after, key, len, now);
        dump_sort_unique(&after);
        int new_height = IX->height(t);
        if (!unchanged(t, &after, new_height)) {
            CHECK(!"the index holds what the call left");
            dump_free(&after);
            return 0;
        }
        if (allocations <= k) { /* finished without meeting the failure: done */
            dump_free(expected);
            *expected = after;
            return 1;
        }
        /* It got past a failure it could do without: undo it and go on walking. */
        if (present)
            IX->put(t, key, len, before, NULL);
        else
            IX->del(t, key, len, NULL);
        dump_free(&after);
        if (!unchanged(t, expected, IX->height(t))) {
            CHECK(!"undone");
            return 0;
        }
    }
}

/* The index for a walk: keys of 1 to 400 bytes, so that a node holds only a few and
 * splits and merges come often. */
static void *grown(struct dump *expected, int n) {
    void *t = IX->new_();
    if (!t)
        return NULL;
    unsigned char key[LARCH_KEY_MAX];
    for (int i = 0; i < n; i++) {
        size_t len = random_key(key);
        dump_add(expected, key, len, test_rand(&rng));
    }
    dump_sort_unique(expected);
    if (!index_fill(IX, t, expected)) {
        IX->free_(t);
        return NULL;
    }
    return t;
}

static int scale(int n) {
    return under_sanitizer() ? n / 4 : n;
}

static void a_failed_put_or_insert_changes_nothing_at_every_allocation_point(void) {
    struct dump expected = {0};
    void *t = grown(&expected, scale(800));
    REQUIRE(t != NULL);
    struct tally put_new = {"put of an absent key", 0, 0, 0};
    struct tally put_old = {"put of a present key", 0, 0, 0};
    struct tally ins_new = {"insert of an absent key", 0, 0, 0};
    struct tally ins_old = {"insert of a present key", 0, 0, 0};
    unsigned char key[LARCH_KEY_MAX];
    int ok = 1;
    for (int i = 0; ok && i < scale(1200); i++) {
        int replace = i % 4 >= 2, insert = i % 2 == 1;
        size_t len;
        if (replace) {
            const struct entry *e = &expected.e[test_rand(&rng) % expected.n];
            len = e->len;
            memcpy(key, e->key, len);
        } else {
            len = random_key(key);
        }
        struct tally *tally =
            insert ? (replace ? &ins_old : &ins_new) : (replace ? &put_old : &put_new);
        ok = walk(t, &expected, insert ? INSERT : PUT, key, len, test_rand(&rng), tally);
    }
    report(&put_new), report(&put_old), report(&ins_new), report(&ins_old);
    if (IX->has_levels)
        CHECK(IX->height(t) > 1);
    /* Inserting into a full node needs memory: some puts must have met a failure. */
    CHECK(put_new.failures + ins_new.failures > 0);
    dump_free(&expected);
    IX->free_(t);
}

static void a_failed_delete_changes_nothing_at_every_allocation_point(void) {
    struct dump expected = {0};
    void *t = grown(&expected, scale(1500));
    REQUIRE(t != NULL);
    struct tally del = {"del of a present key", 0, 0, 0};
    struct tally absent = {"del of an absent key", 0, 0, 0};
    unsigned char key[LARCH_KEY_MAX];
    int ok = 1;
    /* Down to empty, so that leaves merge and the root shrinks back to one leaf. */
    while (ok && expected.n > 0) {
        const struct entry *e = &expected.e[test_rand(&rng) % expected.n];
        size_t len = e->len;
        memcpy(key, e->key, len);
        ok = walk(t, &expected, DEL, key, len, 0, &del);
        if (ok && expected.n % 16 == 0) {
            len = random_key(key);
            if (dump_find(&expected, key, len) < 0)
                ok = walk(t, &expected, DEL, key, len, 0, &absent);
        }
    }
    report(&del), report(&absent);
    if (ok)
        CHECK_EQ(IX->height(t), 1);
    dump_free(&expected);
    IX->free_(t);
}

static void a_failed_update_changes_nothing_and_never_runs_fn(void) {
    struct dump expected = {0};
    void *t = grown(&expected, scale(800));
    REQUIRE(t != NULL);
    struct tally store_new = {"update storing an absent key", 0, 0, 0};
    struct tally store_old = {"update storing a present key", 0, 0, 0};
    struct tally del = {"update deleting", 0, 0, 0};
    struct tally keep = {"update keeping", 0, 0, 0};
    unsigned char key[LARCH_KEY_MAX];
    int ok = 1;
    /* The first half grows the index, the second shrinks it. */
    static const enum op growing[] = {UPDATE_STORE, UPDATE_STORE, UPDATE_STORE, UPDATE_KEEP};
    static const enum op shrinking[] = {UPDATE_DELETE, UPDATE_DELETE, UPDATE_STORE, UPDATE_KEEP};
    const int n = scale(1600);
    for (int i = 0; ok && i < n; i++) {
        enum op op = (i < n / 2 ? growing : shrinking)[i % 4];
        int absent = (op == UPDATE_STORE && i % 2 == 0) || expected.n == 0;
        size_t len;
        if (absent) {
            len = random_key(key);
        } else {
            const struct entry *e = &expected.e[test_rand(&rng) % expected.n];
            len = e->len;
            memcpy(key, e->key, len);
        }
        int present = dump_find(&expected, key, len) >= 0;
        struct tally *tally = op == UPDATE_DELETE ? &del
                              : op == UPDATE_KEEP ? &keep
                              : present           ? &store_old
                                                  : &store_new;
        ok = walk(t, &expected, op, key, len, 0, tally);
    }
    report(&store_new), report(&store_old), report(&del), report(&keep);
    /* Storing a new key into a full node needs memory, taken before fn runs. */
    CHECK(store_new.failures > 0);
    dump_free(&expected);
    IX->free_(t);
}

static void a_failed_cas_changes_nothing_at_every_allocation_point(void) {
    struct dump expected = {0};
    void *t = grown(&expected, scale(400));
    REQUIRE(t != NULL);
    struct tally swap = {"cas of a present key", 0, 0, 0};
    struct tally absent = {"cas of an absent key", 0, 0, 0};
    unsigned char key[LARCH_KEY_MAX];
    int ok = 1;
    for (int i = 0; ok && i < scale(400); i++) {
        size_t len;
        if (i % 4 == 3) {
            len = random_key(key);
        } else {
            const struct entry *e = &expected.e[test_rand(&rng) % expected.n];
            len = e->len;
            memcpy(key, e->key, len);
        }
        struct tally *tally = dump_find(&expected, key, len) >= 0 ? &swap : &absent;
        ok = walk(t, &expected, CAS, key, len, test_rand(&rng), tally);
    }
    report(&swap), report(&absent);
    dump_free(&expected);
    IX->free_(t);
}

static void new_and_iter_new_fail_cleanly(void) {
    long points = 0;
    for (long k = 0;; k++) {
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        void *t = IX->new_();
        larch__alloc_fail_at(-1, 0);
        long allocations = (long)(larch__alloc_count() - start);
        if (!t) {
            CHECK(allocations > k);
            points++;
            continue;
        }
        CHECK_EQ(IX->len(t), 0);
        CHECK_EQ(IX->check(t, stderr), LARCH_OK);
        CHECK_EQ(IX->put(t, "k", 1, 1, NULL), LARCH_OK);
        IX->free_(t);
        if (allocations <= k)
            break;
    }
    CHECK(points > 0); /* a new index needs memory */
    void *t = IX->new_();
    REQUIRE(t != NULL);
    for (long k = 0;; k++) {
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        void *it = IX->iter_new(t);
        larch__alloc_fail_at(-1, 0);
        long allocations = (long)(larch__alloc_count() - start);
        if (!it) {
            CHECK(allocations > k);
            continue;
        }
        IX->iter_seek_first(it);
        CHECK(!IX->iter_valid(it));
        IX->iter_free(it);
        if (allocations <= k)
            break;
    }
    IX->free_(t);
}

/* An iterator move that cannot get memory ends invalid with status LARCH_ENOMEM;
 * the iterator and the index stay usable. */
static void an_iterator_move_that_fails_says_enomem_and_recovers(void) {
    struct dump expected = {0};
    void *t = grown(&expected, scale(600));
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    long failures = 0;
    for (int backward = 0; backward < 2; backward++) {
        for (long k = 0;; k++) {
            if (k > 100000) {
                CHECK(!"a pass that keeps allocating");
                break;
            }
            unsigned long start = larch__alloc_count();
            larch__alloc_fail_at(k, 1);
            backward ? IX->iter_seek_last(it) : IX->iter_seek_first(it);
            size_t seen = 0;
            int ok = 1;
            while (IX->iter_valid(it)) {
                size_t len = 0;
                const void *key = IX->iter_key(it, &len);
                if (seen >= expected.n) {
                    ok = 0;
                    break;
                }
                const struct entry *e = &expected.e[backward ? expected.n - 1 - seen : seen];
                if (key_cmp(key, len, e->key, e->len) != 0 || IX->iter_value(it) != e->val) {
                    ok = 0;
                    break;
                }
                seen++;
                backward ? IX->iter_prev(it) : IX->iter_next(it);
            }
            int status = IX->iter_status(it);
            larch__alloc_fail_at(-1, 0);
            long allocations = (long)(larch__alloc_count() - start);
            CHECK(ok);
            if (!ok)
                break;
            if (seen < expected.n) {
                /* It ended early: only because memory ran out, and it says so. */
                CHECK_EQ(status, LARCH_ENOMEM);
                CHECK(allocations > k);
                failures++;
                if (status != LARCH_ENOMEM)
                    break;
                continue;
            }
            CHECK_EQ(status, LARCH_OK);
            if (allocations <= k)
                break;
        }
    }
    fprintf(stderr, "    %ld iterator passes ended early by LARCH_ENOMEM\n", failures);
    IX->iter_seek_first(it);
    CHECK(IX->iter_valid(it));
    CHECK_EQ(IX->iter_status(it), LARCH_OK);
    IX->iter_free(it);
    CHECK(unchanged(t, &expected, IX->height(t)));
    dump_free(&expected);
    IX->free_(t);
}

/* A seek or seek_for_prev that cannot get memory ends invalid with status
 * LARCH_ENOMEM; one that gets through is on the right entry. */
static void a_seek_that_fails_says_enomem_and_recovers(void) {
    struct dump expected = {0};
    void *t = grown(&expected, scale(600));
    REQUIRE(t != NULL);
    void *it = IX->iter_new(t);
    REQUIRE(it != NULL);
    long seeks = 0, failures = 0;
    unsigned char key[LARCH_KEY_MAX];
    for (int i = 0; i < scale(400); i++) {
        size_t len = random_key(key);
        int for_prev = i % 2;
        /* Where it must land: the first key >= key, or the last key <= key. */
        long at = 0;
        while ((size_t)at < expected.n &&
               key_cmp(expected.e[at].key, expected.e[at].len, key, len) < 0)
            at++;
        if (for_prev && !((size_t)at < expected.n &&
                          key_cmp(expected.e[at].key, expected.e[at].len, key, len) == 0))
            at--;
        seeks++;
        for (long k = 0;; k++) {
            unsigned long start = larch__alloc_count();
            larch__alloc_fail_at(k, 1);
            for_prev ? IX->iter_seek_for_prev(it, key, len) : IX->iter_seek(it, key, len);
            larch__alloc_fail_at(-1, 0);
            long allocations = (long)(larch__alloc_count() - start);
            int status = IX->iter_status(it);
            if (status == LARCH_ENOMEM) {
                CHECK(!IX->iter_valid(it));
                CHECK(allocations > k);
                failures++;
                continue;
            }
            CHECK_EQ(status, LARCH_OK);
            int valid = at >= 0 && (size_t)at < expected.n;
            CHECK_EQ(IX->iter_valid(it), valid);
            if (valid && IX->iter_valid(it)) {
                size_t got_len = 0;
                const void *got = IX->iter_key(it, &got_len);
                CHECK(key_cmp(got, got_len, expected.e[at].key, expected.e[at].len) == 0);
                CHECK_EQ(IX->iter_value(it), expected.e[at].val);
            }
            if (allocations <= k)
                break;
        }
    }
    fprintf(stderr, "    %ld seeks walked, %ld failed with LARCH_ENOMEM\n", seeks, failures);
    IX->iter_free(it);
    CHECK(unchanged(t, &expected, IX->height(t)));
    dump_free(&expected);
    IX->free_(t);
}

/* A scan that cannot get memory returns LARCH_ENOMEM, having called fn only on the
 * right entries, in order; the index is unchanged. */
static void a_scan_that_fails_returns_enomem_after_a_correct_prefix(void) {
    struct dump expected = {0};
    void *t = grown(&expected, scale(600));
    REQUIRE(t != NULL);
    for (long k = 0;; k++) {
        struct dump got = {0};
        unsigned long start = larch__alloc_count();
        larch__alloc_fail_at(k, 1);
        long n = IX->scan(t, NULL, 0, NULL, 0, scan_collect, &got);
        larch__alloc_fail_at(-1, 0);
        long allocations = (long)(larch__alloc_count() - start);
        struct dump prefix = {0};
        for (size_t i = 0; i < got.n && i < expected.n; i++)
            dump_add(&prefix, expected.e[i].key, expected.e[i].len, expected.e[i].val);
        CHECK(got.n <= expected.n && dump_equal(&got, &prefix, "scan under failure"));
        dump_free(&prefix);
        dump_free(&got);
        if (n == LARCH_ENOMEM) {
            CHECK(allocations > k);
            continue;
        }
        CHECK_EQ(n, (long)expected.n);
        if (allocations <= k || n != (long)expected.n)
            break;
    }
    CHECK(unchanged(t, &expected, IX->height(t)));
    dump_free(&expected);
    IX->free_(t);
}

int main(void) {
    FOR_EACH_INDEX {
        if (!IX->honours_alloc_hook) {
            fprintf(stderr, "  (%s allocates without the hook: nothing to inject)\n", IX->name);
            continue;
        }
        RUN(a_failed_put_or_insert_changes_nothing_at_every_allocation_point);
        RUN(a_failed_delete_changes_nothing_at_every_allocation_point);
        RUN(a_failed_update_changes_nothing_and_never_runs_fn);
        RUN(a_failed_cas_changes_nothing_at_every_allocation_point);
        RUN(new_and_iter_new_fail_cleanly);
        RUN(an_iterator_move_that_fails_says_enomem_and_recovers);
        RUN(a_seek_that_fails_says_enomem_and_recovers);
        RUN(a_scan_that_fails_returns_enomem_after_a_correct_prefix);
    }
    return harness_finish();
}
