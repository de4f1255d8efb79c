/* The ordered walk: a depth-first traversal with an explicit stack, reading every
 * node optimistically. A leaf is emitted only after its node's version is checked,
 * so it was in the tree, with that value, at that moment. A node is left only
 * after its version is checked again, so no child was missed; if any check fails,
 * the walk starts over from the root, bounded by the last key it emitted. */
#include <string.h>

#include "art/bucket.h"
#include "art/walk.h"
#include "common/alloc.h"
#include "common/backoff.h"
#include "common/key.h"

enum { RESTART = -100 };
enum { PHASE_FIRST, PHASE_SECOND, PHASE_DONE };

void art_walk_init(struct walk *w, int dir, const uint8_t *bound, size_t blen, bool inclusive) {
    w->dir = dir;
    w->bound = bound;
    w->blen = blen;
    w->inclusive = inclusive;
    w->stack = w->inline_frames;
    w->cap = WALK_INLINE_FRAMES;
}

void art_walk_fini(struct walk *w) {
    if (w->stack != w->inline_frames)
        larch__free(w->stack);
    w->stack = w->inline_frames;
    w->cap = WALK_INLINE_FRAMES;
}

static bool stack_reserve(struct walk *w, unsigned need) {
    if (need <= w->cap)
        return true;
    unsigned cap = w->cap * 2 > need ? w->cap * 2 : need;
    struct walk_frame *s = larch__malloc(cap * sizeof *s);
    if (!s)
        return false;
    memcpy(s, w->stack, w->cap * sizeof *s);
    art_walk_fini(w);
    w->stack = s;
    w->cap = cap;
    return true;
}

/* Push node n, entered at depth, if any of its keys can qualify. */
static int enter(struct walk *w, unsigned *sp, struct art_node *n, uint64_t v, size_t depth,
                 bool tight) {
    uint32_t plen = art_prefix_len(n);
    if (depth + plen > LARCH_KEY_MAX)
        return RESTART; /* torn */
    if (tight && plen) {
        bool torn = false;
        int c = 0;
        art_prefix_mismatch(n, w->bound, w->blen, depth, true, &c, &torn);
        if (torn || !vlock_validate(&n->lock, v))
            return RESTART;
        if (c * w->dir < 0)
            return 0; /* the whole subtree is on the wrong side of the bound */
        tight = c == 0;
    }
    depth += plen;
    if (!stack_reserve(w, *sp + 1))
        return LARCH_ENOMEM;
    struct walk_frame *f = &w->stack[(*sp)++];
    f->node = n;
    f->v = v;
    f->depth = (uint32_t)depth;
    f->tight = tight;
    f->phase = PHASE_FIRST;
    if (!tight)
        f->next = w->dir > 0 ? 0 : 255;
    else if (w->blen > depth)
        f->next = w->bound[depth];
    else /* the bound is this node's end key: every child is above it */
        f->next = w->dir > 0 ? 0 : -1;
    return 0;
}

/* The last key handed out, which a restarted walk resumes after: a leaf's key (it
 * stays, since the walk is pinned) or a copy of a bucket's. */
struct last_key {
    const uint8_t *key;
    size_t len;
    uint8_t copy[ART_BUCKET_KEY_MAX];
};

/* Hand a validated leaf's key to emit; the walk resumes after the last key taken. */
static int hand_out(const uint8_t *key, size_t len, uint64_t value, art_emit_fn emit, void *ctx,
                    struct last_key *last) {
    int r = emit(ctx, key, len, value);
    if (r != WALK_REFUSED_STOP) {
        last->key = key;
        last->len = len;
    }
    return r == WALK_MORE ? 0 : WALK_STOPPED;
}

/* Emit a leaf read from f's node if its value validates. */
static int emit_leaf(struct walk_frame *f, const struct art_leaf *l, art_emit_fn emit, void *ctx,
                     struct last_key *last) {
    uint64_t value = art_leaf_value(l);
    if (!vlock_validate(&f->node->lock, f->v))
        return RESTART;
    return hand_out(l->key, l->len, value, emit, ctx, last);
}

/* The end leaf of f's node, if it qualifies. */
static int visit_end(struct walk *w, struct walk_frame *f, art_emit_fn emit, void *ctx,
                     struct last_key *last) {
    uintptr_t e = art_slot_load(&f->node->end);
    if (!e)
        return 0;
    if (!art_is_leaf(e))
        return RESTART;
    /* Tight, the end key is the bound's first `depth` bytes: equal to the bound if
     * it ends here, below it if it goes on. */
    if (f->tight && (w->blen == f->depth ? !w->inclusive : w->dir > 0))
        return 0;
    return emit_leaf(f, art_leaf_of(e), emit, ctx, last);
}

/* Leaves of one node read per validation. Their cache misses overlap: all are
 * prefetched before the first is read. */
#define RUN_MAX 32
/* Inner nodes looked at ahead of the walk (their lines and leaves prefetched):
 * enough to overlap their misses, few enough that the upper levels, all inner
 * nodes, are not read again and again. */
#define LOOKAHEAD_INNER 3

/* Whether a leaf under the child of byte b is on the walk's side of the bound. */
static bool leaf_qualifies(const struct walk *w, const struct walk_frame *f, uint8_t b,
                           const struct art_leaf *l) {
    if (!f->tight || w->blen <= f->depth || b != w->bound[f->depth])
        return true;
    int cmp = larch__key_cmp(l->key, l->len, w->bound, w->blen) * w->dir;
    return cmp > 0 || (cmp == 0 && w->inclusive);
}

/* The next children of f's node in the walk's direction: a run of leaves (read
 * together, validated once, then emitted), up to the first inner node, which is
 * entered. *done when there are none left. */
static int visit_children(struct walk *w, unsigned *sp, struct walk_frame *f, art_emit_fn emit,
                          void *ctx, struct last_key *last, bool *done) {
    uint8_t byte[RUN_MAX];
    uintptr_t word[RUN_MAX];
    uint64_t value[RUN_MAX];
    unsigned got = f->next < 0 || f->next > 255 ? 0
                                                : art_children(f->node, f->next, w->dir, RUN_MAX,
                                                               LOOKAHEAD_INNER, byte, word);
    /* The run: the leaves up to the first inner node. Everything collected is
     * prefetched (the inner nodes' leaves too, as soon as their lines arrive), so
     * that the misses of this run and of the next few overlap. */
    unsigned n = 0;
    while (n < got && art_is_leaf(word[n]))
        n++;
    for (unsigned i = 0; i < got; i++) {
        const char *p =
            art_is_leaf(word[i]) ? (const char *)art_leaf_of(word[i]) : (const char *)word[i];
        __builtin_prefetch(p);
        if (!art_is_leaf(word[i]))
            __builtin_prefetch(p + 64);
    }
    for (unsigned i = n; i < got; i++)
        if (!art_is_leaf(word[i]))
            art_prefetch_leaves(art_node_of(word[i]));
    uintptr_t inner = n < got ? word[n] : 0;
    uint8_t inner_byte = n < got ? byte[n] : 0;
    int next = !got ? f->next : (inner ? inner_byte : byte[n - 1]) + w->dir;
    if (!n && !inner) {
        *done = true;
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        value[i] = art_leaf_value(art_leaf_of(word[i]));
    if (!vlock_validate(&f->node->lock, f->v))
        return RESTART;
    f->next = (int16_t)next;
    for (unsigned i = 0; i < n; i++) {
        const struct art_leaf *l = art_leaf_of(word[i]);
        if (!leaf_qualifies(w, f, byte[i], l))
            continue;
        int r = hand_out(l->key, l->len, value[i], emit, ctx, last);
        if (r)
            return r;
    }
    if (!inner)
        return 0;
    struct art_node *child = art_node_of(inner);
    uint64_t v;
    if (!vlock_read_begin(&child->lock, &v) || !vlock_validate(&f->node->lock, f->v))
        return RESTART;
    bool tight = f->tight && w->blen > f->depth && inner_byte == w->bound[f->depth];
    return enter(w, sp, child, v, f->depth + 1, tight);
}

/* <0, 0, >0 as bucket key kw (of klen bytes) stands against the walk's bound. */
static int cmp_bound(const struct walk *w, uint64_t kw, unsigned klen) {
    uint8_t k[ART_BUCKET_KEY_MAX];
    art_word_key(kw, k);
    return larch__key_cmp(k, klen, w->bound, w->blen);
}

/* Where a walk starts in bucket b: the first slot on the walk's side of the bound
 * (cap or -1 if none; it may be a gap, which the walk passes over). Read
 * optimistically: the caller validates before it uses any entry. */
static int bucket_start(const struct walk *w, const struct walk_frame *f, struct art_bucket *b) {
    unsigned cap = b->cap;
    if (!f->tight)
        return w->dir > 0 ? 0 : (int)cap - 1;
    /* The first slot past the bound (ascending) or past it or at it (descending,
     * or ascending and exclusive), by binary search: a gap holds its next entry's
     * key (or one above every key), so the keys of all slots ascend. */
    bool after_equal = w->dir > 0 ? !w->inclusive : w->inclusive;
    unsigned lo = 0, n = cap;
    while (n > 0) {
        unsigned half = n / 2;
        int c = cmp_bound(w, art_bucket_key(b, lo + half), b->klen);
        if (c < 0 || (c == 0 && after_equal)) {
            lo += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    return w->dir > 0 ? (int)lo : (int)lo - 1;
}

/* Up to RUN_MAX entries of b from slot *next on, in direction dir: their keys and
 * values, stepping over the gaps a bitmap word at a time; *next becomes the slot
 * to go on from (cap or -1 past the end). Read optimistically: bounded however
 * torn, validated by the caller. */
static unsigned bucket_run(struct art_bucket *b, int *next, int dir, uint64_t *key,
                           uint64_t *value) {
    int cap = (int)b->cap, at = *next;
    unsigned got = 0;
    while (got < RUN_MAX && at >= 0 && at < cap) {
        int base = at / 64 * 64;
        uint64_t w = art_bucket_used(b, (unsigned)at / 64);
        w &= dir > 0 ? ~(uint64_t)0 << (at % 64) : ~(uint64_t)0 >> (63 - at % 64);
        at = dir > 0 ? base + 64 : base - 1; /* past this word, unless the run fills */
        while (w && got < RUN_MAX) {
            int slot = dir > 0 ? base + __builtin_ctzll(w) : base + 63 - __builtin_clzll(w);
            if (slot >= cap) { /* (torn) */
                at = cap;
                break;
            }
            w &= ~((uint64_t)1 << (slot - base));
            key[got] = art_bucket_key(b, (unsigned)slot);
            value[got++] = art_bucket_value(b, (unsigned)slot);
            if (got == RUN_MAX)
                at = slot + dir;
        }
    }
    *next = at < -1 ? -1 : at > cap ? cap : at;
    return got;
}

/* The next run of f's bucket: up to RUN_MAX entries read, validated once, then
 * emitted. */
static int visit_bucket(struct walk *w, struct walk_frame *f, art_emit_fn emit, void *ctx,
                        struct last_key *last) {
    struct art_bucket *b = art_bucket_of(f->node);
    unsigned klen = b->klen;
    if (f->phase == PHASE_FIRST) {
        f->next = (int16_t)bucket_start(w, f, b);
        f->phase = PHASE_SECOND;
    }
    uint64_t key[RUN_MAX], value[RUN_MAX];
    int at = f->next;
    unsigned got = bucket_run(b, &at, w->dir, key, value);
    if (klen > ART_BUCKET_KEY_MAX || !vlock_validate(&b->h.lock, f->v))
        return RESTART;
    if (!got) {
        f->phase = PHASE_DONE;
        return 0;
    }
    f->next = (int16_t)at;
    /* As hand_out, but the last key taken is copied (to bound a restart) once, at
     * the end. */
    unsigned taken = 0;
    int r = WALK_MORE;
    for (unsigned i = 0; i < got && r == WALK_MORE; i++) {
        uint8_t k[ART_BUCKET_KEY_MAX];
        art_word_key(key[i], k);
        r = emit(ctx, k, klen, value[i]);
        if (r != WALK_REFUSED_STOP)
            taken = i + 1;
    }
    if (taken) {
        art_word_key(key[taken - 1], last->copy);
        last->key = last->copy;
        last->len = klen;
    }
    return r == WALK_MORE ? 0 : WALK_STOPPED;
}

/* One pass from the root; RESTART if a check failed. */
static int walk_once(larch_art *t, struct walk *w, art_emit_fn emit, void *ctx,
                     struct last_key *last) {
    unsigned sp = 0;
    uint64_t v;
    if (!vlock_read_begin(&t->root->lock, &v))
        return RESTART;
    int r = enter(w, &sp, t->root, v, 0, w->bound != NULL);
    while (r == 0 && sp > 0) {
        struct walk_frame *f = &w->stack[sp - 1];
        /* Ascending: the end key, then the children; descending the other way. */
        bool end_now = (w->dir > 0) == (f->phase == PHASE_FIRST);
        if (f->phase == PHASE_DONE) {
            if (!vlock_validate(&f->node->lock, f->v))
                return RESTART;
            sp--;
        } else if (f->node->kind == ART_BUCKET) {
            r = visit_bucket(w, f, emit, ctx, last);
        } else if (end_now) {
            f->phase++;
            r = visit_end(w, f, emit, ctx, last);
        } else {
            bool done = false;
            r = visit_children(w, &sp, f, emit, ctx, last, &done);
            if (done)
                f->phase++;
        }
    }
    return r;
}

int art_walk(larch_art *t, struct walk *w, art_emit_fn emit, void *ctx) {
    struct larch__backoff backoff = {0};
    struct last_key last = {.key = NULL};
    for (;;) {
        int r = walk_once(t, w, emit, ctx, &last);
        if (r != RESTART)
            return r;
        art_count_restart(t);
        larch__backoff_wait(&backoff);
        if (last.key) {
            /* Pinned, so the last leaf emitted (and its key) is still there to
             * bound the next pass. */
            if (last.key == last.copy) {
                memcpy(w->bound_copy, last.copy, last.len);
                last.key = w->bound_copy;
            }
            w->bound = last.key;
            w->blen = last.len;
            w->inclusive = false;
        }
    }
}
