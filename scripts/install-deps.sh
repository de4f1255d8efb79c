#!/bin/sh
# Installs the Debian packages larch's build, tests and benchmarks need. Idempotent;
# prints nothing when everything is already present.
set -eu
# clang with libclang-rt-dev gives the sanitizer runtimes and libFuzzer (make
# check-sanitize, make fuzz). The last three are larch-bench's baselines and chart
# (linked into the benchmark only, never into liblarch): Judy arrays, liburcu's
# hash table, gnuplot.
packages="make cmake gcc clang libclang-rt-dev pkg-config binutils libjudy-dev liburcu-dev gnuplot-nox"

missing=
for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) for:$missing" >&2; exit 1; }
    sudo=sudo
else
    sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
