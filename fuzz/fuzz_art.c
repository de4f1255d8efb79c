/* libFuzzer / AFL++ target: the ART against the model (fuzz/fuzz_index.c). Built
 * when include/larch/art.h exists. */
#include "fuzz_index.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_index_run(&larch_test_art_ops, data, size);
}
