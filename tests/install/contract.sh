#!/bin/sh
# The contract of API.md checked from outside, as acceptance programs do it: install
# to a temporary prefix, build the contract_*.c programs with the plain command
#     cc prog.c -I DIR/include -L DIR/lib -llarch -lpthread
# (plus the sanitizer flag of an instrumented install, which larch.pc carries) by gcc
# and by clang, run them against the shared library, then again linked statically through pkg-config
# from a moved copy of the prefix (larch.pc is relocatable). Also: the programs
# compile warning-free with gcc and clang as C17, and every public header compiles
# alone, -Wpedantic, with gcc and clang as C89 to C17 and with g++ and clang++ as
# C++98 to C++20.
# Usage: contract.sh BUILD_DIR C_COMPILER THIS_DIR [SANITIZE]
set -eu
build=$1 cc=$2 here=$3 sanitize=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
programs="contract_common contract_tree contract_tree_threads contract_memtable contract_memtable_threads"
warnings="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpedantic"

# The sanitizer flag the acceptance programs add for an instrumented install.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
san_flags=$(pkg-config --libs larch | tr ' ' '\n' | grep '^-fsanitize' | tr '\n' ' ' || true)
[ -z "$sanitize" ] || [ "$san_flags" = "-fsanitize=$sanitize " ] ||
    { echo "larch.pc of a $sanitize install names '$san_flags'"; exit 1; }

# 1. Every program compiles warning-free with both C compilers (syntax only: only
#    the build's own compiler links against an instrumented library).
for c in gcc clang; do
    command -v $c >/dev/null || { echo "no $c"; exit 1; }
    for p in $programs; do
        # shellcheck disable=SC2086
        $c -std=c17 $warnings -fsyntax-only -I"$prefix/include" "$here/$p.c" ||
            { echo "$p.c does not compile cleanly with $c"; exit 1; }
    done
done

# 2. The public headers, each alone and all through larch.h, as C and as C++.
for h in "$prefix"/include/larch/*.h; do
    name=$(basename "$h")
    for c in gcc clang; do
        for std in c89 c99 c11 c17; do
            printf '#include <larch/%s>\nint main(void) { return 0; }\n' "$name" |
                $c -std=$std $warnings -fsyntax-only -I"$prefix/include" -x c - ||
                { echo "$name does not compile as $std with $c"; exit 1; }
        done
    done
    for cxx in g++ clang++; do
        command -v $cxx >/dev/null || { echo "no $cxx"; exit 1; }
        for std in c++98 c++11 c++17 c++20; do
            printf '#include <larch/%s>\nint main() { return 0; }\n' "$name" |
                $cxx -std=$std -Wall -Wextra -Werror -Wpedantic -fsyntax-only \
                    -I"$prefix/include" -x c++ - ||
                { echo "$name does not compile as $std with $cxx"; exit 1; }
        done
    done
done

# 3. A C++ program links and runs against the library (the declarations have C
#    linkage). Not with an instrumented library: its runtime belongs to clang.
if [ -z "$sanitize" ]; then
    cat >"$tmp/cxx.cc" <<'EOF'
#include <larch/larch.h>
#include <cstring>
int main() {
    larch_btree *t = larch_btree_new();
    larch_memtable *m = larch_memtable_new();
    uint64_t v = 0;
    int bad = larch_btree_put(t, "k", 1, 7, nullptr) != LARCH_OK ||
              larch_btree_get(t, "k", 1, &v) != LARCH_OK || v != 7 ||
              larch_memtable_put(m, "k", 1, 1, "v", 1) != LARCH_OK ||
              std::strlen(larch_strerror(LARCH_EINVAL)) == 0;
    larch_memtable_free(m);
    larch_btree_free(t);
    larch_epoch_barrier();
    return bad;
}
EOF
    g++ -std=c++17 -Wall -Wextra -Werror -I"$prefix/include" "$tmp/cxx.cc" -o "$tmp/cxx" \
        -L"$prefix/lib" -llarch -lpthread
    LD_LIBRARY_PATH=$prefix/lib "$tmp/cxx" || { echo "the C++ program failed"; exit 1; }
fi

# 4. The programs, built the acceptance way, optimised, against the shared library,
#    by both compilers: `cc` may be gcc while an instrumented larch was built by
#    clang, and a gcc-built program must still work with it.
version=$(pkg-config --modversion larch)
for c in gcc clang; do
    for p in $programs; do
        # shellcheck disable=SC2086
        $c -std=c17 -O2 -g $warnings $san_flags "$here/$p.c" -o "$tmp/$p-$c" \
            -I"$prefix/include" -L"$prefix/lib" -llarch -lpthread
        loaded=$(LD_LIBRARY_PATH=$prefix/lib ldd "$tmp/$p-$c" | awk '/liblarch/ { print $3 }')
        [ "$(readlink -f "$loaded")" = "$(readlink -f "$prefix/lib/liblarch.so")" ] ||
            { echo "$p does not load the installed liblarch.so"; exit 1; }
        echo "== $p (shared, $c)"
        LD_LIBRARY_PATH=$prefix/lib "$tmp/$p-$c" "$version" 2>"$tmp/$p.err" ||
            { cat "$tmp/$p.err"; echo "$p built by $c failed against liblarch.so"; exit 1; }
    done
done

# 5. Again, statically, through pkg-config from a moved copy of the installed tree.
mv "$prefix" "$tmp/moved"
export PKG_CONFIG_PATH=$tmp/moved/lib/pkgconfig
libdir=$(pkg-config --variable=libdir larch)
for p in $programs; do
    # shellcheck disable=SC2086
    "$cc" -std=c17 -O2 $warnings $(pkg-config --cflags larch) "$here/$p.c" -o "$tmp/$p-static" \
        "$libdir/liblarch.a" $(pkg-config --static --libs-only-other larch)
    echo "== $p (static, moved prefix)"
    "$tmp/$p-static" "$version" 2>"$tmp/$p.err" ||
        { cat "$tmp/$p.err"; echo "$p failed against liblarch.a"; exit 1; }
done
echo "1 passed, 0 failed"
