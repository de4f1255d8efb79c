# The front door: make, make check, make bench, make install PREFIX=DIR.
# CMake does the work underneath; each sanitizer gets its own build directory.
#
#   make                      build the libraries, tests and benchmarks in build/
#   make check                build and run every test (stress suites briefly)
#   make check-sanitize       the suite again under ASan+UBSan and under TSan (clang)
#   make stress               the stress suites for minutes (LARCH_STRESS_SCALE=50)
#                             and the soak for STRESS_SECONDS (default 60)
#   make fuzz                 every libFuzzer target for FUZZ_SECONDS each (default 60),
#                             built with clang, ASan and UBSan in build-fuzz/
#   make bench                build and run the default benchmark (table, CSV, chart)
#   make install PREFIX=DIR   headers, liblarch.{a,so}, larch.pc, CMake package
#   SANITIZE=thread | SANITIZE=address,undefined   build/install an instrumented larch

PREFIX ?= /usr/local
SANITIZE ?=
STRESS_SCALE ?= 50
STRESS_SECONDS ?= 60
FUZZ_SECONDS ?= 60
comma := ,

ifeq ($(SANITIZE),)
BUILD_DIR ?= build
else
BUILD_DIR ?= build-$(subst $(comma),-,$(SANITIZE))
# The sanitizer builds use clang, whose runtimes Debian ships in libclang-rt-dev.
CC := clang
endif

CMAKE_FLAGS = -DCMAKE_C_COMPILER=$(CC) -DLARCH_SANITIZE=$(SANITIZE) -DLARCH_WERROR=ON
CTEST = cd $(BUILD_DIR) && ctest --output-on-failure --timeout 900

.PHONY: all deps configure check check-sanitize stress fuzz bench install format clean

all: configure
	@cmake --build $(BUILD_DIR) --parallel

deps:
	@sh scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

check: all
	@$(CTEST)

check-sanitize:
	@$(MAKE) --no-print-directory check SANITIZE=address,undefined
	@$(MAKE) --no-print-directory check SANITIZE=thread

# (The variables go after the cd: set before it, they would reach cd alone.) The
# soak runs on its own, so that a long STRESS_SECONDS meets no CTest timeout and its
# memory report reaches the terminal.
stress: all
	@cd $(BUILD_DIR) && LARCH_STRESS_SCALE=$(STRESS_SCALE) ctest --output-on-failure \
	    --timeout 900 -L stress -E soak
	@GLIBC_TUNABLES=glibc.malloc.tcache_count=0 LARCH_STRESS_SECONDS=$(STRESS_SECONDS) \
	    $(BUILD_DIR)/tests/index-stress_soak

# The fuzz targets of fuzz/ get their own build: clang, ASan+UBSan, libFuzzer.
FUZZ_BUILD_DIR = build-fuzz

fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_C_COMPILER=clang -DLARCH_SANITIZE=address,undefined \
	    -DLARCH_FUZZ=ON -DLARCH_BUILD_BENCH=OFF -DLARCH_WERROR=ON >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) --target larch-fuzz --parallel
	@sh fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

# The table goes to the terminal and to $(BENCH_RESULTS)/larch-bench.txt, the CSV and
# the chart beside it (the README's Results section shows them).
BENCH_RESULTS ?= bench/results
BENCH_FLAGS ?=

bench: all
	@mkdir -p $(BENCH_RESULTS)
	@$(BUILD_DIR)/larch-bench $(BENCH_FLAGS) --csv $(BENCH_RESULTS)/larch-bench.csv \
	    --plot $(BENCH_RESULTS)/larch-bench.png > $(BENCH_RESULTS)/larch-bench.txt \
	    && cat $(BENCH_RESULTS)/larch-bench.txt

install: all
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-*
