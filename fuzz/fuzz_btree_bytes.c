/* libFuzzer / AFL++ target: the B+ tree on raw keys against the reference index
 * (fuzz/fuzz_bytes.c). */
#include "fuzz_index.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_bytes_run(&larch_test_btree_ops, data, size);
}
