/* Status codes and their descriptions. */
#include <larch/larch.h>

#include "harness.h"

static void every_status_has_its_own_description(void) {
    int codes[] = {LARCH_OK,     LARCH_NOTFOUND, LARCH_EXISTS,   LARCH_DELETED,
                   LARCH_EINVAL, LARCH_ENOMEM,   LARCH_EKEYSIZE, LARCH_ECORRUPT};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = larch_strerror(codes[i]);
        REQUIRE(s != NULL);
        CHECK(strlen(s) > 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s, larch_strerror(codes[j])) != 0);
    }
}

static void unknown_codes_get_a_string_never_null(void) {
    int odd[] = {4, 99, -5, -1000, 1 << 30, -(1 << 30)};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *s = larch_strerror(odd[i]);
        REQUIRE(s != NULL);
        CHECK(strcmp(s, "unknown status") == 0);
    }
}

static void errors_are_negative_and_outcomes_are_not(void) {
    CHECK(LARCH_OK >= 0 && LARCH_NOTFOUND >= 0 && LARCH_EXISTS >= 0 && LARCH_DELETED >= 0);
    CHECK(LARCH_EINVAL < 0 && LARCH_ENOMEM < 0 && LARCH_EKEYSIZE < 0 && LARCH_ECORRUPT < 0);
    CHECK(LARCH_KEY_MAX >= 1024);
}

int main(void) {
    RUN(every_status_has_its_own_description);
    RUN(unknown_codes_get_a_string_never_null);
    RUN(errors_are_negative_and_outcomes_are_not);
    return harness_finish();
}
