/* update, the atomic read-modify-write: what fn sees, what each of its three
 * answers does to a present and to an absent key, what update returns, that an
 * answer outside the three changes nothing, and that fn runs exactly once, pinned,
 * and may retire through the epoch collector. */
#include <string.h>

#include "epoch/epoch.h"
#include "harness.h"
#include "index_test.h"

#define K(s) (s), (sizeof(s) - 1)

/* fn's instructions and what fn saw. */
struct call {
    int action;     /* returned to update */
    uint64_t store; /* written to *val before returning */
    int calls, saw_present, pinned;
    uint64_t saw_val;
};

static int scripted(void *ctx, uint64_t *val, int present) {
    struct call *c = ctx;
    c->calls++;
    c->saw_present = present;
    c->saw_val = *val;
    c->pinned = larch__epoch_pin_generation() != 0;
    *val = c->store;
    return c->action;
}

static void *with_key_k(uint64_t val) {
    void *t = IX->new_();
    if (t && IX->put(t, K("k"), val, NULL) != LARCH_OK) {
        IX->free_(t);
        return NULL;
    }
    return t;
}

static void fn_sees_the_present_value(void) {
    void *t = with_key_k(41);
    REQUIRE(t != NULL);
    struct call c = {.action = LARCH_UPDATE_KEEP, .store = 41};
    CHECK_EQ(IX->update(t, K("k"), scripted, &c), LARCH_OK);
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.saw_present, 1);
    CHECK_EQ(c.saw_val, 41);
    IX->free_(t);
}

static void fn_sees_zero_and_not_present_for_an_absent_key(void) {
    void *t = with_key_k(41);
    REQUIRE(t != NULL);
    struct call c = {.action = LARCH_UPDATE_KEEP, .store = 5};
    CHECK_EQ(IX->update(t, K("absent"), scripted, &c), LARCH_NOTFOUND);
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.saw_present, 0);
    CHECK_EQ(c.saw_val, 0);
    IX->free_(t);
}

static void store_replaces_a_present_value(void) {
    void *t = with_key_k(1);
    REQUIRE(t != NULL);
    struct call c = {.action = LARCH_UPDATE_STORE, .store = 2};
    CHECK_EQ(IX->update(t, K("k"), scripted, &c), LARCH_OK);
    uint64_t v = 0;
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 2);
    CHECK_EQ(IX->len(t), 1);
    IX->free_(t);
}

static void store_inserts_an_absent_key_and_returns_notfound(void) {
    void *t = with_key_k(1);
    REQUIRE(t != NULL);
    struct call c = {.action = LARCH_UPDATE_STORE, .store = 9};
    CHECK_EQ(IX->update(t, K("new"), scripted, &c), LARCH_NOTFOUND);
    uint64_t v = 0;
    CHECK_EQ(IX->get(t, K("new"), &v), LARCH_OK);
    CHECK_EQ(v, 9);
    CHECK_EQ(IX->len(t), 2);
    /* The next update finds it present. */
    c = (struct call){.action = LARCH_UPDATE_STORE, .store = 10};
    CHECK_EQ(IX->update(t, K("new"), scripted, &c), LARCH_OK);
    CHECK_EQ(c.saw_val, 9);
    IX->free_(t);
}

static void delete_removes_a_present_key_and_returns_ok(void) {
    void *t = with_key_k(1);
    REQUIRE(t != NULL);
    struct call c = {.action = LARCH_UPDATE_DELETE, .store = 7};
    CHECK_EQ(IX->update(t, K("k"), scripted, &c), LARCH_OK);
    CHECK_EQ(c.saw_val, 1);
    CHECK_EQ(IX->get(t, K("k"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->len(t), 0);
    CHECK_EQ(IX->check(t, stderr), LARCH_OK);
    IX->free_(t);
}

static void delete_of_an_absent_key_changes_nothing_and_returns_notfound(void) {
    void *t = with_key_k(1);
    REQUIRE(t != NULL);
    struct call c = {.action = LARCH_UPDATE_DELETE, .store = 7};
    CHECK_EQ(IX->update(t, K("absent"), scripted, &c), LARCH_NOTFOUND);
    CHECK_EQ(IX->get(t, K("absent"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->len(t), 1);
    IX->free_(t);
}

static void keep_changes_nothing_even_if_fn_wrote_to_val(void) {
    void *t = with_key_k(1);
    REQUIRE(t != NULL);
    struct call c = {.action = LARCH_UPDATE_KEEP, .store = 100};
    CHECK_EQ(IX->update(t, K("k"), scripted, &c), LARCH_OK);
    uint64_t v = 0;
    CHECK_EQ(IX->get(t, K("k"), &v), LARCH_OK);
    CHECK_EQ(v, 1);
    c = (struct call){.action = LARCH_UPDATE_KEEP, .store = 100};
    CHECK_EQ(IX->update(t, K("absent"), scripted, &c), LARCH_NOTFOUND);
    CHECK_EQ(IX->get(t, K("absent"), NULL), LARCH_NOTFOUND);
    CHECK_EQ(IX->len(t), 1);
    IX->free_(t);
}

static void an_answer_outside_the_three_is_einval_and_changes_nothing(void) {
    void *t = with_key_k(1);
    REQUIRE(t != NULL);
    const int bad[] = {3, -1, 4, 100, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct call c = {.action = bad[i], .store = 55};
        CHECK_EQ(IX->update(t, K("k"), scripted, &c), LARCH_EINVAL);
        CHECK_EQ(c.calls, 1);
        c = (struct call){.action = bad[i], .store = 55};
        CHECK_EQ(IX->update(t, K("absent"), scripted, &c), LARCH_EINVAL);
        CHECK_EQ(c.calls, 1);
    }
    struct dump expected = {0};
    dump_add(&expected, "k", 1, 1);
    CHECK(index_matches(IX, t, &expected, "after invalid answers"));
    dump_free(&expected);
    IX->free_(t);
}

static void fn_runs_exactly_once_and_pinned(void) {
    void *t = with_key_k(1);
    REQUIRE(t != NULL);
    const int actions[] = {LARCH_UPDATE_KEEP, LARCH_UPDATE_STORE, LARCH_UPDATE_DELETE, 9};
    for (size_t i = 0; i < 4; i++) {
        for (int present = 0; present < 2; present++) {
            struct call c = {.action = actions[i], .store = 3};
            IX->update(t, present ? "k" : "q", 1, scripted, &c);
            CHECK_EQ(c.calls, 1);
            CHECK_EQ(c.pinned, 1);
            IX->put(t, K("k"), 1, NULL);
            IX->del(t, K("q"), NULL);
        }
    }
    CHECK_EQ(larch__epoch_pin_generation(), 0); /* and unpinned again afterwards */
    IX->free_(t);
}

/* The contract's use: the value is a pointer to an object; fn replaces it and
 * retires the old one, nesting a pin of its own. */
struct object {
    uint64_t payload;
    int *frees;
};

static void free_object(void *p) {
    struct object *o = p;
    (*o->frees)++;
    free(o);
}

struct replace_ctx {
    struct object *fresh;
};

static int replace_and_retire(void *ctx, uint64_t *val, int present) {
    struct replace_ctx *r = ctx;
    larch_epoch_pin();
    if (present)
        larch_epoch_retire((struct object *)(uintptr_t)*val, free_object);
    larch_epoch_unpin();
    *val = (uint64_t)(uintptr_t)r->fresh;
    return LARCH_UPDATE_STORE;
}

static void fn_may_retire_the_value_it_replaces_and_pin(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    int frees = 0;
    for (int i = 0; i < 100; i++) {
        struct object *o = malloc(sizeof *o);
        REQUIRE(o != NULL);
        *o = (struct object){(uint64_t)i, &frees};
        struct replace_ctx r = {o};
        CHECK_EQ(IX->update(t, K("obj"), replace_and_retire, &r), i ? LARCH_OK : LARCH_NOTFOUND);
    }
    larch_epoch_barrier();
    CHECK_EQ(frees, 99);
    uint64_t v = 0;
    CHECK_EQ(IX->del(t, K("obj"), &v), LARCH_OK);
    REQUIRE(v != 0);
    struct object *last = (struct object *)(uintptr_t)v;
    CHECK_EQ(last->payload, 99);
    free_object(last);
    CHECK_EQ(frees, 100);
    IX->free_(t);
}

/* Every key shape through update: the empty key, prefixes of one another, a
 * LARCH_KEY_MAX-long key. */
static int add_one(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)present;
    ++*val;
    return LARCH_UPDATE_STORE;
}

static void update_works_on_every_key_shape(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    static unsigned char longest[LARCH_KEY_MAX];
    memset(longest, 0xAB, sizeof longest);
    const size_t lens[] = {0, 1, 2, 3, 100, LARCH_KEY_MAX - 1, LARCH_KEY_MAX};
    const size_t n = sizeof lens / sizeof lens[0];
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < n; i++)
            CHECK_EQ(IX->update(t, longest, lens[i], add_one, NULL),
                     round ? LARCH_OK : LARCH_NOTFOUND);
    struct dump expected = {0};
    for (size_t i = 0; i < n; i++)
        dump_add(&expected, longest, lens[i], 3);
    CHECK(index_matches(IX, t, &expected, "update on every key shape"));
    dump_free(&expected);
    IX->free_(t);
}

/* Enough keys to split and merge nodes, inserted and removed through update only. */
static int store_ctx(void *ctx, uint64_t *val, int present) {
    (void)present;
    *val = *(uint64_t *)ctx;
    return LARCH_UPDATE_STORE;
}

static int delete_always(void *ctx, uint64_t *val, int present) {
    (void)ctx, (void)val, (void)present;
    return LARCH_UPDATE_DELETE;
}

static void update_alone_grows_and_empties_a_large_index(void) {
    void *t = IX->new_();
    REQUIRE(t != NULL);
    const uint64_t n = under_sanitizer() ? 5000 : 30000;
    struct dump expected = {0};
    unsigned char key[8];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = i * 0x9E3779B97F4A7C15ULL, v = ~i;
        CHECK_EQ(IX->update(t, key, key_u64(key, k), store_ctx, &v), LARCH_NOTFOUND);
        dump_add(&expected, key, 8, v);
    }
    dump_sort_unique(&expected);
    CHECK(index_matches(IX, t, &expected, "after inserting through update"));
    if (IX->has_levels)
        CHECK(IX->height(t) > 1);
    for (uint64_t i = 0; i < n; i++)
        CHECK_EQ(IX->update(t, key, key_u64(key, i * 0x9E3779B97F4A7C15ULL), delete_always, NULL),
                 LARCH_OK);
    dump_clear(&expected);
    CHECK(index_matches(IX, t, &expected, "after deleting through update"));
    CHECK_EQ(IX->height(t), 1);
    dump_free(&expected);
    IX->free_(t);
}

int main(void) {
    FOR_EACH_INDEX {
        RUN(fn_sees_the_present_value);
        RUN(fn_sees_zero_and_not_present_for_an_absent_key);
        RUN(store_replaces_a_present_value);
        RUN(store_inserts_an_absent_key_and_returns_notfound);
        RUN(delete_removes_a_present_key_and_returns_ok);
        RUN(delete_of_an_absent_key_changes_nothing_and_returns_notfound);
        RUN(keep_changes_nothing_even_if_fn_wrote_to_val);
        RUN(an_answer_outside_the_three_is_einval_and_changes_nothing);
        RUN(fn_runs_exactly_once_and_pinned);
        RUN(fn_may_retire_the_value_it_replaces_and_pin);
        RUN(update_works_on_every_key_shape);
        RUN(update_alone_grows_and_empties_a_large_index);
    }
    return harness_finish();
}
