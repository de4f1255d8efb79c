#!/bin/sh
# A library others link exports nothing but larch_* names.
# Usage: symbols.sh liblarch.so liblarch.a
set -eu
bad=$( { nm -D --defined-only "$1"; nm -g --defined-only "$2" 2>/dev/null; } |
       awk 'NF == 3 { print $3 }' | grep -v '^larch_' || true)
if [ -n "$bad" ]; then
    echo "exported symbols outside the larch_ namespace:"; echo "$bad"; echo "0 passed, 1 failed"; exit 1
fi
nm -D --defined-only "$1" | grep -q ' T larch_epoch_pin$' || { echo "larch_epoch_pin not exported"; exit 1; }
if nm -D --defined-only "$1" | awk '{print $3}' | grep -q '^larch__'; then
    echo "internal larch__ symbols exported from the shared library"; exit 1
fi
echo "1 passed, 0 failed"
