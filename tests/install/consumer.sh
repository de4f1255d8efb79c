#!/bin/sh
# Installs the build to a temporary prefix and builds tests/install/consumer.c
# against it three ways: pkg-config with the shared library, pkg-config with the
# static library, and CMake's find_package(larch); runs each program.
# Usage: consumer.sh BUILD_DIR C_COMPILER THIS_DIR
set -eu
build=$1 cc=$2 here=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in include/larch/larch.h include/larch/epoch.h lib/liblarch.a lib/liblarch.so \
         lib/pkgconfig/larch.pc lib/cmake/larch/larchConfig.cmake; do
    [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
soname=$(objdump -p "$prefix/lib/liblarch.so" | awk '/SONAME/ {print $2}')
case $soname in liblarch.so.[0-9]*) ;; *) echo "bad SONAME: '$soname'"; exit 1 ;; esac

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags larch)
libs=$(pkg-config --libs larch)
libdir=$(pkg-config --variable=libdir larch)

# shellcheck disable=SC2086
"$cc" -std=c17 -Wall -Wextra -Werror $cflags "$here/consumer.c" -o "$tmp/shared" $libs
"$tmp/shared" shared
loaded=$(ldd "$tmp/shared" | awk '/liblarch/ { print $3 }')
[ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$prefix/lib/liblarch.so")" ] \
    || { echo "the shared program does not use the installed liblarch.so"; ldd "$tmp/shared"; exit 1; }

# shellcheck disable=SC2086
"$cc" -std=c17 -Wall -Wextra -Werror $cflags "$here/consumer.c" -o "$tmp/static" \
    "$libdir/liblarch.a" $(pkg-config --static --libs-only-other larch)
"$tmp/static" static
if ldd "$tmp/static" | grep -q liblarch; then echo "the static program loads liblarch.so"; exit 1; fi

cmake -S "$here/cmake-consumer" -B "$tmp/cm" -DCMAKE_C_COMPILER="$cc" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_SOURCE="$here/consumer.c" >"$tmp/cm.log" 2>&1 \
    || { cat "$tmp/cm.log"; exit 1; }
cmake --build "$tmp/cm" >"$tmp/cmb.log" 2>&1 || { cat "$tmp/cmb.log"; exit 1; }
"$tmp/cm/consumer_shared" cmake-shared
"$tmp/cm/consumer_static" cmake-static
echo "1 passed, 0 failed"
