/* The ART behind the shared index test table. */
#include <larch/art.h>

#define OPS_TABLE larch_test_art_ops
#define OPS_NAME "art"
#define OPS_FN(name) larch_art_##name
#include "ops_template.h"
