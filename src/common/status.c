/* larch_strerror: the one table of status descriptions. */
#include <larch/larch.h>

const char *larch_strerror(int status) {
    switch (status) {
    case LARCH_OK:
        return "success";
    case LARCH_NOTFOUND:
        return "not found";
    case LARCH_EXISTS:
        return "key exists";
    case LARCH_DELETED:
        return "deleted (tombstone)";
    case LARCH_EINVAL:
        return "invalid argument";
    case LARCH_ENOMEM:
        return "out of memory";
    case LARCH_EKEYSIZE:
        return "key too long";
    case LARCH_ECORRUPT:
        return "structure corrupt";
    default:
        return "unknown status";
    }
}
