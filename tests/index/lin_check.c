/* The Wing-Gong linearizability search with Lowe's cache. The history is a list of
 * call and return events in time order. The search walks it: at a call it tries
 * to linearize that operation next (its result must be what the register gives),
 * lifts it out of the list and starts again from the head; at a return whose call
 * is still in the list, that operation can no longer come later, so the search
 * backtracks to the last choice. A (set of linearized operations, state) pair seen
 * before is never explored twice, which keeps the search polynomial in practice. */
#include "lin_check.h"

#include <larch/larch.h>
#include <stdlib.h>
#include <string.h>

int lin_apply(const struct lin_op *op, struct lin_state *s) {
    int present = s->present;
    uint64_t val = s->val;
    int found = present ? LARCH_OK : LARCH_NOTFOUND;
    switch (op->kind) {
    case LIN_PUT:
        if (op->rc != (present ? LARCH_EXISTS : LARCH_OK) || (present && op->out != val))
            return 0;
        *s = (struct lin_state){1, op->arg};
        return 1;
    case LIN_INSERT:
        if (op->rc != (present ? LARCH_EXISTS : LARCH_OK) || (present && op->out != val))
            return 0;
        if (!present)
            *s = (struct lin_state){1, op->arg};
        return 1;
    case LIN_GET:
        return op->rc == found && (!present || op->out == val);
    case LIN_DEL:
        if (op->rc != found || (present && op->out != val))
            return 0;
        *s = (struct lin_state){0, 0};
        return 1;
    case LIN_CAS:
        if (!present)
            return op->rc == LARCH_NOTFOUND;
        if (val == op->arg2) {
            if (op->rc != LARCH_OK)
                return 0;
            s->val = op->arg;
            return 1;
        }
        return op->rc == LARCH_EXISTS && op->out == val;
    case LIN_UPDATE:
        if (op->rc != found || op->fn_present != present || op->fn_seen != (present ? val : 0))
            return 0;
        switch ((enum lin_update_mode)op->arg2) {
        case LIN_UPDATE_STORE:
            *s = (struct lin_state){1, op->arg};
            break;
        case LIN_UPDATE_DELETE:
            *s = (struct lin_state){0, 0};
            break;
        case LIN_UPDATE_INCREMENT:
            if (present)
                s->val = val + 1;
            break;
        case LIN_UPDATE_KEEP:
            break;
        }
        return 1;
    }
    return 0;
}

/* ---- the cache of explored (linearized set, state) pairs ------------------------- */

struct bits {
    uint64_t w[LIN_MAX_OPS / 64];
};

struct seen {
    struct bits set;
    struct lin_state state;
    int used;
};

struct cache {
    struct seen *slots;
    size_t cap, n;
};

static uint64_t seen_hash(const struct bits *b, const struct lin_state *s) {
    uint64_t h = s->val * 0x9E3779B97F4A7C15ULL ^ (uint64_t)s->present;
    for (size_t i = 0; i < LIN_MAX_OPS / 64; i++)
        h = (h ^ b->w[i]) * 0xFF51AFD7ED558CCDULL;
    return h ^ h >> 29;
}

static int seen_equal(const struct seen *e, const struct bits *b, const struct lin_state *s) {
    return memcmp(&e->set, b, sizeof *b) == 0 && e->state.present == s->present &&
           e->state.val == s->val;
}

/* Adds the pair; 0 if it was already there. */
static int cache_add(struct cache *c, const struct bits *b, const struct lin_state *s);

static void cache_grow(struct cache *c) {
    struct cache bigger = {calloc(c->cap ? 2 * c->cap : 1024, sizeof(struct seen)),
                           c->cap ? 2 * c->cap : 1024, 0};
    if (!bigger.slots)
        abort();
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].used)
            cache_add(&bigger, &c->slots[i].set, &c->slots[i].state);
    free(c->slots);
    *c = bigger;
}

static int cache_add(struct cache *c, const struct bits *b, const struct lin_state *s) {
    if (2 * (c->n + 1) > c->cap)
        cache_grow(c);
    for (size_t i = seen_hash(b, s) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        struct seen *e = &c->slots[i];
        if (!e->used) {
            *e = (struct seen){*b, *s, 1};
            c->n++;
            return 1;
        }
        if (seen_equal(e, b, s))
            return 0;
    }
}

/* ---- the search ------------------------------------------------------------------ */

struct event {
    struct event *prev, *next;
    struct event *match; /* a call's return (NULL on a return) */
    size_t op;
};

static int by_time(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

/* Takes a call and its return out of the list; the list has a head sentinel. */
static void lift(struct event *call) {
    call->prev->next = call->next;
    if (call->next)
        call->next->prev = call->prev;
    struct event *ret = call->match;
    ret->prev->next = ret->next;
    if (ret->next)
        ret->next->prev = ret->prev;
}

/* Puts them back, in the reverse order. */
static void unlift(struct event *call) {
    struct event *ret = call->match;
    ret->prev->next = ret;
    if (ret->next)
        ret->next->prev = ret;
    call->prev->next = call;
    if (call->next)
        call->next->prev = call;
}

int lin_check(const struct lin_op *ops, size_t n, struct lin_state initial, long *steps) {
    if (n > LIN_MAX_OPS)
        abort();
    /* Events in time order: (time, index) pairs, index < n a call, >= n a return. */
    uint64_t order[2 * LIN_MAX_OPS][2];
    for (size_t i = 0; i < n; i++) {
        order[2 * i][0] = ops[i].invoke, order[2 * i][1] = i;
        order[2 * i + 1][0] = ops[i].ret, order[2 * i + 1][1] = n + i;
    }
    qsort(order, 2 * n, sizeof order[0], by_time);
    struct event head = {0}, events[2 * LIN_MAX_OPS];
    struct event *calls[LIN_MAX_OPS], *rets[LIN_MAX_OPS];
    struct event *last = &head;
    for (size_t i = 0; i < 2 * n; i++) {
        struct event *e = &events[i];
        size_t idx = (size_t)order[i][1];
        *e = (struct event){last, NULL, NULL, idx % n};
        last->next = e;
        last = e;
        if (idx < n)
            calls[idx] = e;
        else
            rets[idx - n] = e;
    }
    for (size_t i = 0; i < n; i++)
        calls[i]->match = rets[i];

    struct {
        struct event *call;
        struct lin_state state;
    } stack[LIN_MAX_OPS];
    size_t depth = 0;
    struct bits linearized = {{0}};
    struct lin_state state = initial;
    struct cache cache = {0};
    long taken = 0;
    int ok = 1;
    struct event *e = head.next;
    while (head.next) {
        taken++;
        if (e->match) { /* a call: try it next */
            struct lin_state next = state;
            struct bits with = linearized;
            with.w[e->op / 64] |= (uint64_t)1 << (e->op % 64);
            if (lin_apply(&ops[e->op], &next) && cache_add(&cache, &with, &next)) {
                stack[depth].call = e;
                stack[depth].state = state;
                depth++;
                state = next;
                linearized = with;
                lift(e);
                e = head.next;
            } else {
                e = e->next;
            }
        } else { /* a return whose call is not linearized: undo the last choice */
            if (depth == 0) {
                ok = 0;
                break;
            }
            depth--;
            struct event *call = stack[depth].call;
            state = stack[depth].state;
            linearized.w[call->op / 64] &= ~((uint64_t)1 << (call->op % 64));
            unlift(call);
            e = call->next;
        }
    }
    free(cache.slots);
    if (steps)
        *steps = taken;
    return ok;
}
