/* The version lock, one thread: what each call promises about versions. */
#include "common/vlock.h"

#include "harness.h"

static void fresh_lock_reads_and_validates(void) {
    struct vlock l;
    vlock_init(&l);
    uint64_t v;
    CHECK(vlock_read_begin(&l, &v));
    CHECK(!vlock_is_locked(v));
    CHECK(!vlock_is_obsolete(v));
    CHECK(vlock_validate(&l, v));
}

static void a_write_invalidates_earlier_reads(void) {
    struct vlock l;
    vlock_init(&l);
    uint64_t before, after;
    REQUIRE(vlock_read_begin(&l, &before));
    REQUIRE(vlock_lock(&l));
    CHECK(!vlock_validate(&l, before));
    vlock_unlock(&l);
    CHECK(!vlock_validate(&l, before));
    REQUIRE(vlock_read_begin(&l, &after));
    CHECK(after != before);
    CHECK(vlock_validate(&l, after));
}

static void upgrade_succeeds_only_from_the_current_version(void) {
    struct vlock l;
    vlock_init(&l);
    uint64_t stale, current;
    REQUIRE(vlock_read_begin(&l, &stale));
    REQUIRE(vlock_upgrade(&l, stale));
    CHECK(!vlock_upgrade(&l, stale)); /* already locked */
    vlock_unlock(&l);
    CHECK(!vlock_upgrade(&l, stale)); /* version moved */
    REQUIRE(vlock_read_begin(&l, &current));
    CHECK(vlock_upgrade(&l, current));
    CHECK(vlock_is_locked(atomic_load(&l.word)));
    vlock_unlock(&l);
    CHECK(!vlock_is_locked(atomic_load(&l.word)));
}

static void an_upgrade_that_is_released_still_bumps_the_version(void) {
    struct vlock l;
    vlock_init(&l);
    uint64_t v, w;
    REQUIRE(vlock_read_begin(&l, &v));
    REQUIRE(vlock_upgrade(&l, v));
    vlock_unlock(&l);
    REQUIRE(vlock_read_begin(&l, &w));
    CHECK(w == v + VLOCK_STEP);
}

static void obsolete_nodes_refuse_readers_and_writers(void) {
    struct vlock l;
    vlock_init(&l);
    uint64_t v;
    REQUIRE(vlock_read_begin(&l, &v));
    REQUIRE(vlock_lock(&l));
    vlock_unlock_obsolete(&l);
    CHECK(!vlock_validate(&l, v));
    uint64_t seen;
    CHECK(!vlock_read_begin(&l, &seen));
    CHECK(vlock_is_obsolete(seen));
    CHECK(!vlock_upgrade(&l, seen));
    CHECK(!vlock_lock(&l));
}

static void versions_never_repeat_across_many_writes(void) {
    struct vlock l;
    vlock_init(&l);
    uint64_t prev;
    REQUIRE(vlock_read_begin(&l, &prev));
    for (int i = 0; i < 100000; i++) {
        REQUIRE(vlock_lock(&l));
        vlock_unlock(&l);
        uint64_t v;
        REQUIRE(vlock_read_begin(&l, &v));
        CHECK(v > prev);
        prev = v;
    }
}

int main(void) {
    RUN(fresh_lock_reads_and_validates);
    RUN(a_write_invalidates_earlier_reads);
    RUN(upgrade_succeeds_only_from_the_current_version);
    RUN(an_upgrade_that_is_released_still_bumps_the_version);
    RUN(obsolete_nodes_refuse_readers_and_writers);
    RUN(versions_never_repeat_across_many_writes);
    return harness_finish();
}
