/* The differential fuzzers shared by every ordered index (fuzz/fuzz_index.c on key
 * universes, fuzz/fuzz_bytes.c on raw keys): each target is one line that hands its
 * index_ops table to one of them. */
#ifndef LARCH_FUZZ_INDEX_H
#define LARCH_FUZZ_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "index_ops.h"

/* Decodes data into operations, applies them to ix and to the model, and aborts on
 * the first difference. Always returns 0 (libFuzzer's "keep going"). */
int fuzz_index_run(const struct index_ops *ix, const uint8_t *data, size_t size);
/* The same on keys and bounds taken from the input, against the reference index. */
int fuzz_bytes_run(const struct index_ops *ix, const uint8_t *data, size_t size);

#endif /* LARCH_FUZZ_INDEX_H */
