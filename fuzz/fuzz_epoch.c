/* libFuzzer / AFL++ target: epoch reclamation on one thread. The input is a
 * sequence of pins, unpins, retirements (some of whose callbacks retire another
 * object), barriers and injected allocation failures; after every step no object
 * retired inside the open section may have been freed, no object is freed twice,
 * and a barrier outside any section has freed everything retired before it. At the
 * end every object has been freed exactly once. */
#include <larch/epoch.h>
#include <string.h>

#include "common/alloc.h"
#include "fuzz_input.h"

enum { OBJECTS = 512, MAX_NEST = 8 };

struct object {
    int id;
    int chain; /* the callback retires a fresh object */
};

static struct {
    int freed[OBJECTS];
    int in_section[OBJECTS]; /* retired while the current section was open */
    int retired;             /* objects retired so far, by id order */
} st;

static void retire_new(int chain);

static void release(void *p) {
    struct object *o = p;
    FUZZ_EXPECT(o->id >= 0 && o->id < st.retired, "a callback for an object never retired");
    st.freed[o->id]++;
    int chain = o->chain;
    free(o);
    if (chain)
        retire_new(0);
}

static void retire_new(int chain) {
    if (st.retired == OBJECTS)
        return;
    struct object *o = malloc(sizeof *o);
    if (!o)
        abort();
    o->id = st.retired++;
    o->chain = chain;
    larch_epoch_retire(o, release);
}

static void check_objects(const char *after) {
    for (int i = 0; i < st.retired; i++) {
        FUZZ_EXPECT(st.freed[i] <= 1, "object %d freed %d times (after %s)", i, st.freed[i], after);
        FUZZ_EXPECT(!st.in_section[i] || st.freed[i] == 0,
                    "object %d retired in the open section was freed (after %s)", i, after);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fuzz_input in = {data, data + size};
    memset(&st, 0, sizeof st);
    int nest = 0;
    while (fuzz_more(&in)) {
        unsigned b = fuzz_byte(&in);
        const char *what;
        int inject = b >= 0xE0;
        if (inject) /* one allocation fails; retire must wait it out, not lose the object */
            larch__alloc_fail_at(b & 3, 0);
        switch (b % 6) {
        case 0:
            what = "pin";
            if (nest < MAX_NEST) {
                larch_epoch_pin();
                nest++;
            }
            break;
        case 1:
            what = "unpin";
            larch_epoch_unpin(); /* does nothing when not pinned */
            if (nest > 0 && --nest == 0)
                memset(st.in_section, 0, sizeof st.in_section);
            break;
        case 2:
        case 3: {
            what = "retire";
            int id = st.retired;
            retire_new(b % 6 == 3);
            if (nest > 0 && id < OBJECTS)
                st.in_section[id] = 1;
            break;
        }
        case 4: {
            what = "barrier";
            if (nest > 0)
                break; /* not allowed while pinned */
            int before = st.retired;
            larch_epoch_barrier();
            for (int i = 0; i < before; i++)
                FUZZ_EXPECT(st.freed[i] == 1, "object %d retired before a barrier not freed", i);
            break;
        }
        default:
            what = "pin-unpin";
            larch_epoch_pin();
            larch_epoch_unpin();
            break;
        }
        if (inject)
            larch__alloc_fail_at(-1, 0);
        check_objects(what);
    }
    while (nest-- > 0)
        larch_epoch_unpin();
    memset(st.in_section, 0, sizeof st.in_section);
    /* Chained callbacks retire once more: two barriers free everything. */
    larch_epoch_barrier();
    larch_epoch_barrier();
    check_objects("the end");
    for (int i = 0; i < st.retired; i++)
        FUZZ_EXPECT(st.freed[i] == 1, "object %d never freed", i);
    return 0;
}
