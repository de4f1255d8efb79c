/* The version lock under contention: a validated optimistic read is never torn,
 * exclusive sections exclude each other, and waiters make progress when there are
 * more threads than cores (so lock holders get preempted). */
#include <pthread.h>

#include "common/vlock.h"
#include "harness.h"

#define WORDS 8

/* A multi-word record that writers keep internally consistent: every word equals
 * `generation`, and checksum is the sum of the others. */
struct record {
    struct vlock lock;
    _Atomic uint64_t words[WORDS];
    _Atomic uint64_t checksum;
    uint64_t plain_counter; /* only ever touched under the exclusive lock */
};

static struct record shared;
static atomic_int writers_done;
static long writes_per_writer;

struct reader_result {
    long validated, torn, retried;
};

static void *writer(void *arg) {
    (void)arg;
    for (long i = 0; i < writes_per_writer; i++) {
        if (i % 2 == 0) {
            CHECK(vlock_lock(&shared.lock));
        } else {
            /* The optimistic-then-upgrade path the trees use. */
            uint64_t v;
            for (;;) {
                CHECK(vlock_read_begin(&shared.lock, &v));
                if (vlock_upgrade(&shared.lock, v))
                    break;
            }
        }
        uint64_t g = atomic_load_explicit(&shared.words[0], memory_order_relaxed) + 1;
        /* Written in halves with a pause between, so a torn read is likely if the
         * protocol were broken. */
        for (int w = 0; w < WORDS; w++) {
            atomic_store_explicit(&shared.words[w], g, memory_order_relaxed);
            if (w == WORDS / 2)
                larch__cpu_relax();
        }
        atomic_store_explicit(&shared.checksum, g * WORDS, memory_order_relaxed);
        shared.plain_counter++;
        vlock_unlock(&shared.lock);
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

static void *reader(void *arg) {
    struct reader_result *res = arg;
    int nwriters = 2;
    while (atomic_load(&writers_done) < nwriters) {
        uint64_t v, copy[WORDS], sum;
        if (!vlock_read_begin(&shared.lock, &v)) {
            res->torn++; /* the record is never made obsolete */
            continue;
        }
        for (int w = 0; w < WORDS; w++)
            copy[w] = atomic_load_explicit(&shared.words[w], memory_order_relaxed);
        sum = atomic_load_explicit(&shared.checksum, memory_order_relaxed);
        if (!vlock_validate(&shared.lock, v)) {
            res->retried++;
            continue;
        }
        res->validated++;
        for (int w = 0; w < WORDS; w++)
            if (copy[w] != copy[0])
                res->torn++;
        if (sum != copy[0] * WORDS)
            res->torn++;
    }
    return NULL;
}

static void validated_reads_are_never_torn_and_writers_exclude_each_other(int nreaders) {
    memset(&shared, 0, sizeof shared);
    vlock_init(&shared.lock);
    atomic_store(&writers_done, 0);
    writes_per_writer = (under_sanitizer() ? 20000 : 200000) * stress_scale();

    pthread_t w[2], r[4];
    struct reader_result res[4] = {{0}};
    for (int i = 0; i < nreaders; i++)
        pthread_create(&r[i], NULL, reader, &res[i]);
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, writer, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    long validated = 0, torn = 0, retried = 0;
    for (int i = 0; i < nreaders; i++) {
        pthread_join(r[i], NULL);
        validated += res[i].validated, torn += res[i].torn, retried += res[i].retried;
    }
    fprintf(stderr, "  %d readers: %ld validated reads, %ld retried, %ld torn\n", nreaders,
            validated, retried, torn);
    CHECK_EQ(torn, 0);
    CHECK(validated > 0);
    CHECK_EQ(shared.plain_counter, 2 * writes_per_writer);
    CHECK_EQ(atomic_load(&shared.words[WORDS - 1]), 2 * writes_per_writer);
}

static void two_writers_two_readers(void) {
    validated_reads_are_never_torn_and_writers_exclude_each_other(2);
}

/* Six threads on two cores: lock holders are preempted mid-section, so waiters must
 * yield rather than spin out their quantum. */
static void two_writers_four_readers_oversubscribed(void) {
    validated_reads_are_never_torn_and_writers_exclude_each_other(4);
}

int main(void) {
    RUN(two_writers_two_readers);
    RUN(two_writers_four_readers_oversubscribed);
    return harness_finish();
}
