/* larch_version: the version the library was built as (larch.h's macros), for a
 * program to compare with the LARCH_VERSION_STRING it was compiled against. */
#include <larch/larch.h>

const char *larch_version(void) {
    return LARCH_VERSION_STRING;
}
