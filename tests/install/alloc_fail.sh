#!/bin/sh
# The external allocation-failure test: tests/install/alloc_fail.c built against an
# installed larch, linked statically with the allocator wrapped (-Wl,--wrap, fine
# under every sanitizer) and, in a build without a sanitizer (whose runtime owns
# malloc), against the shared library with malloc interposed. First checks that
# larch still takes memory only through the four functions the test puts itself
# in front of, since the mechanism relies on it.
# Usage: alloc_fail.sh BUILD_DIR C_COMPILER THIS_DIR [SANITIZE]
set -eu
build=$1 cc=$2 here=$3 sanitize=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"

allocators=$(nm -u "$prefix/lib/liblarch.so" | awk '{ sub(/@.*/, "", $2); print $2 }' |
    grep -E '^(malloc|calloc|realloc|reallocarray|aligned_alloc|posix_memalign|memalign|valloc|pvalloc|free|strdup|strndup)$' |
    sort | tr '\n' ' ')
if [ "$allocators" != "aligned_alloc calloc free malloc " ]; then
    echo "liblarch.so takes memory through: $allocators"
    echo "(alloc_fail.c and the README's Reliability section cover aligned_alloc calloc free malloc)"
    exit 1
fi

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags larch)
libdir=$(pkg-config --variable=libdir larch)

# shellcheck disable=SC2086
"$cc" -std=c17 -Wall -Wextra -Werror -DWRAP $cflags "$here/alloc_fail.c" -o "$tmp/wrapped" \
    "$libdir/liblarch.a" $(pkg-config --static --libs-only-other larch) \
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=aligned_alloc,--wrap=free
"$tmp/wrapped" static-wrapped

if [ -z "$sanitize" ]; then
    # shellcheck disable=SC2086
    "$cc" -std=c17 -Wall -Wextra -Werror $cflags "$here/alloc_fail.c" -o "$tmp/interposed" \
        $(pkg-config --libs larch)
    loaded=$(ldd "$tmp/interposed" | awk '/liblarch/ { print $3 }')
    [ "$(readlink -f "$loaded")" = "$(readlink -f "$prefix/lib/liblarch.so")" ] ||
        { echo "the interposed program does not use the installed liblarch.so"; exit 1; }
    "$tmp/interposed" shared-interposed
else
    echo "shared-interposed: not in a $sanitize build (the sanitizer's runtime owns malloc)"
fi
echo "1 passed, 0 failed"
