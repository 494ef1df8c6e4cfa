# apex-host: the two commands a newcomer needs.
#   make run    installs missing Debian packages, builds, runs the demo pipeline on the paper broker
#   make test   same set-up, then the whole test suite, plain and under ASan+UBSan, and a short
#               seeded run of every fuzz harness
#   make fuzz   the long fuzz run: every harness for FUZZ_SECONDS (default 300) each
.PHONY: all deps build run test test-plain test-sanitize fuzz-build fuzz-smoke fuzz bench format clean

# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes) build tests/fuzz.
DEBS := build-essential cmake pkg-config liblua5.4-dev libuv1-dev libcurl4-openssl-dev \
        libsqlite3-dev libjansson-dev libcmocka-dev sqlite3 procps clang libclang-rt-14-dev
JOBS := $(shell nproc 2>/dev/null || echo 2)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

all: build

# Install only what is missing, so a machine that has everything makes no network call.
deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build/Makefile: CMakeLists.txt | deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps build/Makefile
	cmake --build build -j$(JOBS)

data/demo/bars.csv: build
	./build/apex-datagen data/demo

run: build data/demo/bars.csv
	./build/apex-host run --speed 4000 --db data/demo.db --fresh \
	  strategies/examples/ma_trend.lua strategies/examples/rsi_reversion.lua

test-plain: build
	cd build && ctest --output-on-failure -j$(JOBS)

build-asan/Makefile: CMakeLists.txt | deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAPEX_SANITIZE=ON

test-sanitize: deps build-asan/Makefile
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS)

# libFuzzer harnesses (tests/fuzz, docs/reliability.md): clang, ASan+UBSan, in build-fuzz/.
build-fuzz/Makefile: CMakeLists.txt tests/fuzz/CMakeLists.txt | deps
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPEX_FUZZ=ON

fuzz-build: deps build-fuzz/Makefile
	cmake --build build-fuzz -j$(JOBS) --target fuzz-harnesses

# Each harness for a fixed number of runs with a fixed seed (a few seconds each).
fuzz-smoke: fuzz-build
	tests/fuzz/run.sh smoke

FUZZ_SECONDS ?= 300
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh long

test: test-plain test-sanitize fuzz-smoke

bench: build
	bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz
