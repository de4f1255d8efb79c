/* libFuzzer / AFL++ target: the B+ tree against the model (fuzz/fuzz_index.c). */
#include "fuzz_index.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_index_run(&larch_test_btree_ops, data, size);
}
