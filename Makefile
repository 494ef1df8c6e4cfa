# apex-host: the two commands a newcomer needs.
#   make run    installs missing Debian packages, builds, runs the demo pipeline on the paper broker
#   make test   same set-up, then the whole test suite, plain and under ASan+UBSan
.PHONY: all deps build run test test-plain test-sanitize torture bench format clean

DEBS := build-essential cmake pkg-config liblua5.4-dev libuv1-dev libcurl4-openssl-dev \
        libsqlite3-dev libjansson-dev libcmocka-dev sqlite3 procps gdb bc
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

test: test-plain test-sanitize

# Crash torture: N SIGKILLs of `apex-host run` at random moments and at breakpoints, a
# restart after each, the invariant checker after every restart (tests/torture/).
# SEED, SPEED, POINT_PCT, SHARE, KEEP and WORK in the environment change it.
N ?= 1000
torture: build
	tests/torture/torture.sh $(N)

bench: build
	bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
