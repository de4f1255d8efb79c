/* Review test: a bucket shrunk after deletes keeps room for one insert, as
 * art_bucket_shrink_cap promises ("one insert must not grow it straight back").
 * A bucket of 32 keys deleted down to 16 is shrunk to a full bucket of 16 (the
 * class of 16 is exactly 16), so the next insert copies it again into 20. */
#include <larch/art.h>

#include "art/bucket.h"
#include "art/tree.h"
#include "harness.h"

static struct art_bucket *bucket_under(larch_art *t, uint8_t b) {
    uintptr_t w = art_slot_load(art_find_child(t->root, b));
    return w && art_is_bucket(w) ? art_bucket_of(art_node_of(w)) : NULL;
}

static void a_shrunk_bucket_has_room_for_one_insert(void) {
    unsigned sizes[] = {4, 8, 16, 32, 64, 128, 256};
    for (unsigned s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        unsigned full = sizes[s];
        larch_art *t = larch_art_new();
        REQUIRE(t != NULL);
        unsigned char k[3] = {'Z', 0, 0};
        for (unsigned i = 0; i < full; i++) {
            k[1] = (unsigned char)i;
            REQUIRE(larch_art_put(t, k, 3, i, NULL) == LARCH_OK);
        }
        struct art_bucket *b = bucket_under(t, 'Z');
        REQUIRE(b != NULL);
        CHECK_EQ(b->cap, full);
        /* Delete down to half. */
        for (unsigned i = full / 2; i < full; i++) {
            k[1] = (unsigned char)i;
            REQUIRE(larch_art_del(t, k, 3, NULL) == LARCH_OK);
        }
        b = bucket_under(t, 'Z');
        REQUIRE(b != NULL);
        CHECK_EQ(art_count(&b->h), full / 2);
        /* Room for one more in place: it must not need a copy. */
        struct art_bucket *before = b;
        unsigned shrunk = b->cap;
        k[1] = (unsigned char)(full / 2);
        REQUIRE(larch_art_put(t, k, 3, 0, NULL) == LARCH_OK);
        b = bucket_under(t, 'Z');
        CHECK(b == before);
        if (b != before)
            fprintf(stderr, "    %u keys deleted to %u: shrunk to %u, then grown by one insert\n",
                    full, full / 2, shrunk);
        CHECK_EQ(larch_art_check(t, stderr), LARCH_OK);
        larch_art_free(t);
    }
}

int main(void) {
    RUN(a_shrunk_bucket_has_room_for_one_insert);
    return harness_finish();
}
