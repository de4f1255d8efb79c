/* An ordered walk over the ART from a bound, in either direction, handing each
 * leaf to an emit callback: what scans and iterators are built on. */
#ifndef LARCH_ART_WALK_H
#define LARCH_ART_WALK_H

#include "art/tree.h"

/* What emit tells the walk. */
enum { WALK_MORE, WALK_TAKEN_STOP, WALK_REFUSED_STOP };
/* What the walk returns (or LARCH_ENOMEM). */
enum { WALK_END = 0, WALK_STOPPED = 1 };

/* Called pinned, holding no lock, for each key in order; `value` was the key's
 * value while the key was in the tree. The key's bytes stay valid only during the
 * call (a bucket's keys are copied out of it). */
typedef int (*art_emit_fn)(void *ctx, const uint8_t *key, size_t len, uint64_t value);

struct walk_frame {
    struct art_node *node;
    uint64_t v;
    uint32_t depth; /* where the node branches, after its prefix */
    int16_t next;   /* next child byte to look at, in the walk's direction (in a
                     * bucket: the next entry) */
    uint8_t tight;  /* the bound's bytes equal the node's path so far */
    uint8_t phase;
};

#define WALK_INLINE_FRAMES 24

struct walk {
    int dir;              /* +1 ascending, -1 descending */
    const uint8_t *bound; /* NULL: unbounded (from the first or last key) */
    size_t blen;
    bool inclusive;
    uint8_t bound_copy[8]; /* a restart's bound when the last key came from a bucket */
    /* The path being walked: inline for ordinary depths, grown on the heap for
     * deep trees (long keys branching late). */
    struct walk_frame *stack;
    unsigned cap;
    struct walk_frame inline_frames[WALK_INLINE_FRAMES];
};

#define art_walk_init larch__art_walk_init
void art_walk_init(struct walk *w, int dir, const uint8_t *bound, size_t blen, bool inclusive);
#define art_walk_fini larch__art_walk_fini
void art_walk_fini(struct walk *w);

#define art_walk larch__art_walk
/* Walk from the bound (keys >= it ascending, <= it descending; strictly if not
 * inclusive), calling emit until it stops the walk or the keys run out. The caller
 * is pinned. After a lost race the walk resumes after the last key emitted, so
 * every key is emitted at most once and in order. */
int art_walk(larch_art *t, struct walk *w, art_emit_fn emit, void *ctx);

#endif /* LARCH_ART_WALK_H */
