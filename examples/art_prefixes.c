/* The ART with keys that are prefixes of each other: the empty key, "a", "a\0" and
 * "ab" are four distinct keys, in memcmp order; a scan over [prefix, prefix+1)
 * lists every key that starts with the prefix.
 * Build: cc art_prefixes.c $(pkg-config --cflags --libs larch) */
#include <larch/larch.h>

#include <stdio.h>
#include <string.h>

static int print_entry(void *ctx, const void *key, size_t len, uint64_t val) {
    (void)ctx;
    printf("  \"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = ((const unsigned char *)key)[i];
        printf(c >= 32 && c < 127 ? "%c" : "\\x%02x", c);
    }
    printf("\" = %llu\n", (unsigned long long)val);
    return 0;
}

int main(void) {
    larch_art *t = larch_art_new();
    if (!t)
        return 1;
    larch_art_put(t, "", 0, 0, NULL);
    larch_art_put(t, "a", 1, 1, NULL);
    larch_art_put(t, "a\0", 2, 2, NULL);
    larch_art_put(t, "ab", 2, 3, NULL);
    const char *words[] = {"user:17:name", "user:17:mail", "user:170:name", "user:2:name"};
    for (int i = 0; i < 4; i++)
        larch_art_put(t, words[i], strlen(words[i]), (uint64_t)(10 + i), NULL);

    printf("every key, in order:\n");
    larch_art_scan(t, NULL, 0, NULL, 0, print_entry, NULL);

    printf("keys starting with \"user:17:\":\n");
    larch_art_scan(t, "user:17:", 8, "user:17;", 8, print_entry, NULL); /* ';' follows ':' */

    int ok = larch_art_check(t, stderr) == LARCH_OK && larch_art_len(t) == 8;
    larch_art_free(t);
    return ok ? 0 : 1;
}
