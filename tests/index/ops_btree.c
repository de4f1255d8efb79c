/* The B+ tree behind the shared index test table. */
#include <larch/btree.h>

#define OPS_TABLE larch_test_btree_ops
#define OPS_NAME "btree"
#define OPS_FN(name) larch_btree_##name
#include "ops_template.h"
