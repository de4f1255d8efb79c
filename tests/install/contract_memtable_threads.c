/* The memtable contract of API.md under concurrency, checked from outside: writers
 * publishing seqs out of order, racing duplicates, reads at a published snapshot,
 * value bytes handed from thread to thread, memtables freed while others work. */
#include "contract_memtable.h"

#include <pthread.h>

enum { WRITERS = 4, SEQS = 2000 };

struct writer {
    larch_memtable *m;
    int id;
    long failures;
};

/* Writer w writes seqs w, w + WRITERS, ... of the same 20 keys, newest first. */
static void *write_interleaved(void *arg) {
    struct writer *w = arg;
    for (long s = SEQS - WRITERS + w->id; s >= 0; s -= WRITERS) {
        char k[24], v[24];
        size_t klen = (size_t)snprintf(k, sizeof k, "k%02ld", s % 20);
        int rc = s % 11 == 0 ? larch_memtable_del(w->m, k, klen, (uint64_t)s)
                             : larch_memtable_put(w->m, k, klen, (uint64_t)s, v,
                                                  (size_t)snprintf(v, sizeof v, "%ld", s));
        w->failures += rc != LARCH_OK;
    }
    return NULL;
}

static void concurrent_out_of_order_seqs_all_land_in_place(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    pthread_t th[WRITERS];
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){m, i, 0};
        REQUIRE(pthread_create(&th[i], NULL, write_interleaved, &w[i]) == 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(w[i].failures, 0);
    }
    CHECK_EQ(larch_memtable_len(m), SEQS);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    /* Key kNN holds seqs NN, NN + 20, ...: newest first within each key. */
    long n = 0, wrong = 0;
    for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);
         larch_memtable_iter_next(it), n++) {
        long key = n / (SEQS / 20), expect = (SEQS / 20 - 1 - n % (SEQS / 20)) * 20 + key;
        char k[24];
        snprintf(k, sizeof k, "k%02ld", key);
        wrong += !(larch_memtable_iter_seq(it) == (uint64_t)expect &&
                   memcmp(larch_memtable_iter_key(it, NULL), k, 3) == 0 &&
                   larch_memtable_iter_is_tombstone(it) == (expect % 11 == 0));
    }
    CHECK_EQ(n, SEQS);
    CHECK_EQ(wrong, 0);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

/* Once every write with seq <= S has returned, reads at S never change, whatever
 * is written above S meanwhile. */
struct later_writer {
    larch_memtable *m;
    atomic_int *stop;
    long failures;
};

static void *write_above_100(void *arg) {
    struct later_writer *w = arg;
    for (uint64_t seq = 101; !atomic_load(w->stop) || seq < 2000; seq++) {
        char k[24];
        size_t klen = (size_t)snprintf(k, sizeof k, "k%02d", (int)(seq % 50));
        int rc = seq % 3 ? larch_memtable_put(w->m, k, klen, seq, "new", 3)
                         : larch_memtable_del(w->m, k, klen, seq);
        w->failures += rc != LARCH_OK;
    }
    return NULL;
}

static void read_at_a_published_snapshot_never_changes(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    char k[24], v[24];
    for (int seq = 1; seq <= 100; seq++) { /* keys k00..k24 only: k25.. come later */
        size_t klen = (size_t)snprintf(k, sizeof k, "k%02d", seq % 25);
        CHECK_EQ(larch_memtable_put(m, k, klen, (uint64_t)seq, v,
                                    (size_t)snprintf(v, sizeof v, "v%d", seq)),
                 LARCH_OK);
    }
    atomic_int stop = 0;
    struct later_writer w = {m, &stop, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, write_above_100, &w) == 0);
    long wrong = 0;
    larch_memtable_iter *it = larch_memtable_iter_new(m, 100, 0);
    REQUIRE(it);
    for (int round = 0; round < 20; round++) {
        for (int key = 0; key < 50; key++) {
            size_t klen = (size_t)snprintf(k, sizeof k, "k%02d", key);
            int last = key < 25 ? 100 - (100 - key) % 25 : 0; /* k00's last is 100 */
            const void *val;
            size_t vlen;
            uint64_t seq;
            int rc = larch_memtable_get(m, k, klen, 100, &val, &vlen, &seq);
            if (key >= 25)
                wrong += rc != LARCH_NOTFOUND;
            else
                wrong += rc != LARCH_OK || seq != (uint64_t)last ||
                         vlen != (size_t)snprintf(v, sizeof v, "v%d", last) ||
                         memcmp(val, v, vlen) != 0;
        }
        long n = 0;
        for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);
             larch_memtable_iter_next(it))
            n++;
        wrong += n != 25;
    }
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    CHECK_EQ(w.failures, 0);
    CHECK_EQ(wrong, 0);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

/* Values written by one thread are read whole by another: the bytes get and the
 * iterators hand out are exactly those put copied in (under ThreadSanitizer: with a
 * happens-before from the put, or a race would be reported). */
enum { HANDOVER_KEYS = 64, HANDOVER_VERSIONS = 4000 };

static size_t fill_value(char *v, uint64_t seq) {
    size_t n = 1 + seq % 200;
    for (size_t i = 0; i < n; i++)
        v[i] = (char)(seq * 31 + i);
    return n;
}

static bool value_matches(const void *val, size_t vlen, uint64_t seq) {
    char want[256];
    size_t n = fill_value(want, seq);
    return val && vlen == n && memcmp(val, want, n) == 0;
}

struct publisher {
    larch_memtable *m;
    atomic_int done;
    long failures;
};

static void *publish_values(void *arg) {
    struct publisher *p = arg;
    for (uint64_t seq = 1; seq <= HANDOVER_VERSIONS; seq++) {
        char k[24], v[256];
        size_t klen = (size_t)snprintf(k, sizeof k, "h%02d", (int)(seq % HANDOVER_KEYS));
        p->failures += larch_memtable_put(p->m, k, klen, seq, v, fill_value(v, seq)) != LARCH_OK;
    }
    atomic_store(&p->done, 1);
    return NULL;
}

static void values_written_by_one_thread_are_read_whole_by_another(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    struct publisher p = {m, 0, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, publish_values, &p) == 0);
    larch_memtable_iter *it = larch_memtable_iter_new(m, UINT64_MAX, LARCH_ITER_ALL_VERSIONS);
    REQUIRE(it);
    long bad = 0, reads = 0;
    while (!atomic_load(&p.done) || reads == 0) {
        for (int k = 0; k < HANDOVER_KEYS; k++) {
            char key[24];
            size_t klen = (size_t)snprintf(key, sizeof key, "h%02d", k);
            const void *val;
            size_t vlen;
            uint64_t seq;
            if (larch_memtable_get(m, key, klen, UINT64_MAX, &val, &vlen, &seq) == LARCH_OK)
                bad += !value_matches(val, vlen, seq), reads++;
        }
        int n = 0;
        for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it) && n < 500;
             larch_memtable_iter_next(it), n++) {
            size_t vlen;
            const void *val = larch_memtable_iter_value(it, &vlen);
            bad += !value_matches(val, vlen, larch_memtable_iter_seq(it));
        }
    }
    pthread_join(th, NULL);
    CHECK_EQ(p.failures, 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(larch_memtable_len(m), HANDOVER_VERSIONS);
    larch_memtable_iter_free(it);
    larch_memtable_free(m);
}

/* Memtables made, filled and freed (as flushes do) while another thread writes and
 * iterates a memtable of its own. */
struct long_lived {
    atomic_int stop;
    long failures;
};

static void *use_another_memtable(void *arg) {
    struct long_lived *l = arg;
    larch_memtable *m = new_memtable();
    char k[24];
    for (uint64_t seq = 1; !atomic_load(&l->stop); seq++) {
        size_t klen = (size_t)snprintf(k, sizeof k, "%d", (int)(seq % 3000));
        l->failures += larch_memtable_put(m, k, klen, seq, k, klen) != LARCH_OK;
        if (seq % 100 == 0) {
            larch_memtable_iter *it = larch_memtable_iter_new(m, seq, 0);
            for (larch_memtable_iter_seek_first(it); larch_memtable_iter_valid(it);)
                larch_memtable_iter_next(it);
            l->failures += larch_memtable_iter_status(it) != LARCH_OK;
            larch_memtable_iter_free(it);
        }
    }
    larch_memtable_free(m);
    return NULL;
}

static void memtables_can_be_freed_while_other_threads_work(void) {
    struct long_lived l = {0, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, use_another_memtable, &l) == 0);
    char k[24];
    for (int round = 0; round < 20; round++) {
        larch_memtable *m = new_memtable();
        REQUIRE(m);
        for (int i = 0; i < 2000; i++) {
            size_t klen = (size_t)snprintf(k, sizeof k, "r%d", i % 700);
            CHECK_EQ(larch_memtable_put(m, k, klen, (uint64_t)i, k, klen), LARCH_OK);
        }
        larch_memtable_free(m);
    }
    atomic_store(&l.stop, 1);
    pthread_join(th, NULL);
    CHECK_EQ(l.failures, 0);
}

/* Racing writers of the same (key, seq): exactly one gets LARCH_OK. */
struct racer {
    larch_memtable *m;
    long ok, exists, other;
};

static void *put_the_same_versions(void *arg) {
    struct racer *r = arg;
    for (uint64_t seq = 0; seq < 2000; seq++) {
        char k[24];
        size_t klen = (size_t)snprintf(k, sizeof k, "race%d", (int)(seq % 300));
        int rc = seq % 5 ? larch_memtable_put(r->m, k, klen, seq, "v", 1)
                         : larch_memtable_del(r->m, k, klen, seq);
        r->ok += rc == LARCH_OK, r->exists += rc == LARCH_EXISTS;
        r->other += rc != LARCH_OK && rc != LARCH_EXISTS;
    }
    return NULL;
}

static void racing_duplicates_are_added_exactly_once(void) {
    larch_memtable *m = new_memtable();
    REQUIRE(m);
    struct racer r[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        r[i] = (struct racer){m, 0, 0, 0};
        REQUIRE(pthread_create(&th[i], NULL, put_the_same_versions, &r[i]) == 0);
    }
    long ok = 0, exists = 0, other = 0;
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].ok, exists += r[i].exists, other += r[i].other;
    }
    CHECK_EQ(ok, 2000);
    CHECK_EQ(exists, 2000 * (WRITERS - 1));
    CHECK_EQ(other, 0);
    CHECK_EQ(larch_memtable_len(m), 2000);
    larch_memtable_free(m);
}

int main(void) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        new_memtable = kinds[i].new_;
        fprintf(stderr, "== memtable over %s\n", kinds[i].name);
        RUN(concurrent_out_of_order_seqs_all_land_in_place);
        RUN(read_at_a_published_snapshot_never_changes);
        RUN(values_written_by_one_thread_are_read_whole_by_another);
        RUN(memtables_can_be_freed_while_other_threads_work);
        RUN(racing_duplicates_are_added_exactly_once);
    }
    return harness_finish();
}
