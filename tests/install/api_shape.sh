#!/bin/sh
# The public headers compile on their own, in either include order, and match the
# shapes of the contract for every part implemented so far (api_shape.c).
# Usage: api_shape.sh C_COMPILER INCLUDE_DIR THIS_DIR
set -eu
cc=$1 inc=$2 here=$3
for h in "$inc"/larch/*.h; do
    printf '#include <larch/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" |
        "$cc" -std=c17 -Wall -Wextra -Werror -fsyntax-only -I"$inc" -x c - \
        || { echo "$h does not compile on its own"; exit 1; }
done
"$cc" -std=c17 -Wall -Wextra -Werror -fsyntax-only -Werror=incompatible-pointer-types \
      -I"$inc" "$here/api_shape.c"
echo "1 passed, 0 failed"
