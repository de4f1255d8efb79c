/* The memtable constructors the contract programs (contract_memtable.c,
 * contract_memtable_threads.c) run every test over: the default index, and each
 * index by name. */
#ifndef LARCH_TESTS_INSTALL_CONTRACT_MEMTABLE_H
#define LARCH_TESTS_INSTALL_CONTRACT_MEMTABLE_H

#include <larch/larch.h>

#include "../harness.h"

#include <stdbool.h>

static struct {
    const char *name;
    larch_memtable *(*new_)(void);
} const kinds[] = {
    {"default", larch_memtable_new},
    {"art", larch_memtable_new_art},
    {"btree", larch_memtable_new_btree},
};
static larch_memtable *(*new_memtable)(void);
static larch_memtable *(*new_memtable)(void); /* the kind under test */

#endif /* LARCH_TESTS_INSTALL_CONTRACT_MEMTABLE_H */
