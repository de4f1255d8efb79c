/* larch: concurrent, in-memory, ordered key-value indexes.
 *
 * This header gives the whole public API: the status codes and limits shared by
 * every structure, then (at the end) the header of each structure. Every call is
 * safe from any number of threads at once unless its documentation says otherwise;
 * no thread registration is required. */
#ifndef LARCH_LARCH_H
#define LARCH_LARCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LARCH_API __attribute__((visibility("default")))
#else
#define LARCH_API
#endif

/* The version of these headers (CMakeLists.txt, larch.pc and the CMake package take
 * theirs from here). larch_version() returns the library's own LARCH_VERSION_STRING,
 * so a program can tell whether it runs against the library it was compiled for. */
#define LARCH_VERSION_MAJOR 0
#define LARCH_VERSION_MINOR 1
#define LARCH_VERSION_PATCH 0
#define LARCH_VERSION_STRING "0.1.0"

/* Longest key any structure accepts, in bytes. Seek and scan bounds may be longer. */
#define LARCH_KEY_MAX 1024

/* Non-negative returns are outcomes, negative returns are errors; an error changes
 * nothing. */
enum {
    LARCH_OK = 0,        /* success */
    LARCH_NOTFOUND = 1,  /* no such key (or an iterator/seek found nothing) */
    LARCH_EXISTS = 2,    /* the key was present (see each call) */
    LARCH_DELETED = 3,   /* memtable: the visible version is a tombstone */
    LARCH_EINVAL = -1,   /* NULL handle, NULL key with len > 0, bad argument */
    LARCH_ENOMEM = -2,   /* allocation failed; the structure is unchanged */
    LARCH_EKEYSIZE = -3, /* key longer than LARCH_KEY_MAX */
    LARCH_ECORRUPT = -4  /* a check found a broken invariant */
};

/* A short English description of a status code. Never NULL, for any int (unknown
 * codes get a generic string). The string is static; do not free it. */
LARCH_API const char *larch_strerror(int status);

/* The library's version, "MAJOR.MINOR.PATCH"; static, never NULL. */
LARCH_API const char *larch_version(void);

/* Callbacks shared by the B+ tree and the ART (see btree.h for their contracts). */
enum { LARCH_UPDATE_KEEP = 0, LARCH_UPDATE_STORE = 1, LARCH_UPDATE_DELETE = 2 };
typedef int (*larch_update_fn)(void *ctx, uint64_t *val, int present);
typedef int (*larch_scan_fn)(void *ctx, const void *key, size_t len, uint64_t val);

#ifdef __cplusplus
}
#endif

/* The structures. Each of these headers includes this one first, so any of them may
 * be included on its own. */
#include <larch/epoch.h>
#include <larch/btree.h>
#include <larch/art.h>
#include <larch/memtable.h>

#endif /* LARCH_LARCH_H */
