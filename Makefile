# apex-host: the two commands a newcomer needs.
#   make run    installs missing Debian packages, builds, runs the demo pipeline on the paper broker
#   make test   same set-up, then the whole test suite, plain and under ASan+UBSan (the
#               short crash torture in the latter), once more against a Lua built with API checks
#               (test-apicheck), and a short seeded run of every fuzz harness (fuzz-smoke)
#   make fuzz   the long fuzz run: every harness for FUZZ_SECONDS (default 300) each
#   make torture N=1000   the long crash-torture run (docs/reliability.md)
#   make install [PREFIX=/usr/local] [DESTDIR=]   apex-host and apex-datagen on the PATH
.PHONY: all deps build install run test test-plain test-sanitize test-apicheck fuzz-build fuzz-smoke fuzz \
        torture torture-notify bench bench-optimize bench-latency bench-notify bench-dashboard dashboard-screenshot \
        format clean config-docs

# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes) build tests/fuzz.
# libwebsockets-dev and curl: tests/fake_alpaca (the fake Alpaca server and its selftest);
# jq: the integration tests read the fakes' JSON request records with it.
# r-base-core and r-cran-ttr: R's TTR package, the reference tests/ttr checks apex.ta
# against. They are installed without Recommends: with them apt adds some 700 packages
# (r-recommended, pandoc, TeX fonts, GDAL...; 1.5 GB), without them 9 packages, 48 MB.
# libjs-chart.js: Chart.js 3, inlined into `backtest --report` pages (core/report/report_html.c)
# and served by the host to the dashboard from /usr/share/javascript/chart.js.
# chromium (large: ~300 MB with its libraries) and nodejs: headless Chromium renders the
# report in tests/integration/backtest_report.sh; the dashboard's browser test
# (tests/integration/dashboard_browser.sh) drives it over the DevTools protocol from
# tests/browser/cdp.mjs, with Node's built-in WebSocket.
# libwebsockets-evlib-uv is named although libwebsockets-dev depends on it today: it holds
# the plugin core/net/ws needs at run time (lws 4.1 loads its libuv support from
# /usr/lib/<arch>/libwebsockets-evlib_uv.so), so it must not go if -dev's packaging changes.
DEBS := build-essential cmake pkg-config liblua5.4-dev libuv1-dev libcurl4-openssl-dev \
        libsqlite3-dev libjansson-dev libssl-dev openssl libcmocka-dev sqlite3 procps clang libclang-rt-14-dev gdb bc \
        libwebsockets-dev libwebsockets-evlib-uv curl jq libjs-chart.js chromium nodejs \
        r-base-core r-cran-ttr
DEBS_NO_RECOMMENDS := r-base-core r-cran-ttr
JOBS := $(shell nproc 2>/dev/null || echo 2)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

all: build

# Install only what is missing, so a machine that has everything makes no network call.
deps:
	@missing=""; lean=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" && continue; \
	  case " $(DEBS_NO_RECOMMENDS) " in *" $$p "*) lean="$$lean $$p";; *) missing="$$missing $$p";; esac; \
	done; \
	if [ -n "$$missing$$lean" ]; then \
	  echo "Installing Debian packages:$$missing$$lean"; \
	  $(SUDO) apt-get update -qq || exit 1; \
	  if [ -n "$$missing" ]; then \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing || exit 1; \
	  fi; \
	  if [ -n "$$lean" ]; then \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$lean || exit 1; \
	  fi; \
	fi

build/Makefile: CMakeLists.txt | deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps build/Makefile
	cmake --build build -j$(JOBS)

# apex-host and apex-datagen into $(PREFIX)/bin, the Lua modules, types, strategies and
# instructions into $(PREFIX)/share/apex-host (README.md, Install). DESTDIR stages it.
PREFIX ?= /usr/local
# sudo only for the copy, and only when the destination is not writable: the build stays
# the user's.
install: build
	@dest="$(DESTDIR)$(PREFIX)"; probe="$$dest"; \
	while [ ! -d "$$probe" ]; do probe=$$(dirname "$$probe"); done; \
	if [ -w "$$probe" ]; then s=""; else s="$(SUDO)"; fi; \
	$$s env DESTDIR="$(DESTDIR)" cmake --install build --prefix "$(PREFIX)"

data/demo/bars.csv: build
	./build/apex-datagen data/demo

run: build data/demo/bars.csv
	./build/apex-host run --speed 4000 --db data/demo.db --fresh \
	  strategies/examples/ma_trend.lua strategies/examples/rsi_reversion.lua

# Each test runs in one pass where the other adds nothing, to keep `make test` within its
# 15 minutes. The short crash torture (30 SIGKILLs and restarts, about 3 minutes) and the
# sandbox escape suite (sandbox.*, about a minute) run in the sanitizer pass only, where a
# restart's or an escape's memory errors would show; a plain run of them checks nothing
# more. The fakes' self-tests (*.selftest) test the tests' servers, not the product: plain
# only.
test-plain: build
	cd build && ctest --output-on-failure -j$(JOBS) -E '^torture\.short$$|^sandbox\.'

build-asan/Makefile: CMakeLists.txt | deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAPEX_SANITIZE=ON

# The latency checks (bench.*) run in the plain pass only: under ASan their timings mean
# nothing, and the code they drive is the integration tests' own.
test-sanitize: deps build-asan/Makefile
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) -E '^bench\.|\.selftest$$'

# The Lua boundary checked by Lua itself. Debian's own lua5.4 source package (the version
# of the installed liblua5.4-dev, so the headers match) is fetched with apt-get source
# into build-apicheck/ and built as a static liblua.a with LUA_USE_APICHECK: every lua_*
# call then asserts its stack contract (e.g. a push past the 20 free slots a C function
# is given without luaL_checkstack aborts). No Lua source is kept in this repository.
# The deb-src entries are derived from this machine's own Debian apt sources and kept in
# a private apt directory, so the system's apt configuration is not touched.
APICHECK := $(CURDIR)/build-apicheck
APICHECK_LUA := $(APICHECK)/lua
APICHECK_APT := $(APICHECK)/apt
APT_PRIVATE = -o Dir::Etc::SourceList=$(APICHECK_APT)/sources.list \
  -o Dir::Etc::SourceParts=$(APICHECK_APT)/sources.list.d \
  -o Dir::State::Lists=$(APICHECK_APT)/lists \
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root
LUA_APICHECK_CFLAGS := -O1 -g -std=gnu99 -DLUA_COMPAT_5_3 -DLUA_USE_LINUX -DLUA_USE_APICHECK -UNDEBUG

$(APICHECK_LUA)/liblua.a: | deps
	@set -e; rm -rf $(APICHECK_APT) $(APICHECK)/src; \
	mkdir -p $(APICHECK_APT)/lists/partial $(APICHECK_APT)/sources.list.d $(APICHECK)/src $(APICHECK_LUA)/include; \
	if [ -f /etc/apt/sources.list ]; then sed -n 's/^deb /deb-src /p' /etc/apt/sources.list; fi \
	  > $(APICHECK_APT)/sources.list; \
	for f in /etc/apt/sources.list.d/debian.sources; do \
	  [ -f "$$f" ] && sed 's/^Types:.*/Types: deb-src/' "$$f" > $(APICHECK_APT)/sources.list.d/debian-src.sources; \
	done; \
	if [ ! -s $(APICHECK_APT)/sources.list ] && [ ! -s $(APICHECK_APT)/sources.list.d/debian-src.sources ]; then \
	  echo "test-apicheck: no Debian apt sources in /etc/apt/sources.list or" \
	       "/etc/apt/sources.list.d/debian.sources to derive deb-src entries from; add one"; exit 1; \
	fi
	@echo "Fetching Debian's lua5.4 source package for the API-check build"
	apt-get $(APT_PRIVATE) -qq update
	@set -e; ver=$$(dpkg-query -W -f='$${source:Version}' liblua5.4-dev); cd $(APICHECK)/src; \
	apt-get $(APT_PRIVATE) -qq source "lua5.4=$$ver" >/dev/null 2>&1 || { \
	  echo "lua5.4 $$ver is not in the source index; taking the suite's current lua5.4"; \
	  apt-get $(APT_PRIVATE) -qq source lua5.4 >/dev/null; }
	@set -e; src=$$(echo $(APICHECK)/src/lua5.4-*/src); obj=$(APICHECK_LUA)/obj; mkdir -p $$obj; \
	for c in $$src/l*.c; do \
	  case $$(basename $$c) in lua.c|luac.c) continue;; esac; \
	  $(CC) $(LUA_APICHECK_CFLAGS) -c $$c -o $$obj/$$(basename $$c .c).o; \
	done; \
	cp $$src/lua.h $$src/luaconf.h $$src/lualib.h $$src/lauxlib.h $(APICHECK_LUA)/include/; \
	ar rcs $@.tmp $$obj/*.o && mv $@.tmp $@; \
	echo "Built $@ (LUA_USE_APICHECK)"

$(APICHECK)/cmake/Makefile: CMakeLists.txt $(APICHECK_LUA)/liblua.a | deps
	cmake -S . -B $(APICHECK)/cmake -DCMAKE_BUILD_TYPE=Debug -DAPEX_LUA_APICHECK_DIR=$(APICHECK_LUA)

# The tests that cross the Lua boundary: the script host, sandbox and pattern units, the pipeline
# DSL, and whole pipelines on the simulated clock (every engine.* test; the live-clock
# integration tests add no Lua coverage, only timing). The sandbox escape suite
# (sandbox.*, tests/sandbox) runs in test-plain and test-sanitize only. Everything is
# built, so the whole suite can be run there too.
APICHECK_TESTS := unit\.test_sandbox|unit\.test_ta$$|ttr|pattern|script_host|script_output|lua_modules|reload|pipeline_loader|^engine\.|backtest_deterministic|bad_pipeline|strategy_error|script_flood
test-apicheck: $(APICHECK)/cmake/Makefile
	cmake --build $(APICHECK)/cmake -j$(JOBS)
	cd $(APICHECK)/cmake && ctest --output-on-failure -j$(JOBS) -R '$(APICHECK_TESTS)'

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

test: test-plain test-sanitize test-apicheck fuzz-smoke

# Crash torture: N SIGKILLs of `apex-host run` at random moments and at breakpoints, a
# restart after each, the invariant checker after every restart (tests/torture/).
# SEED, SPEED, POINT_PCT, SHARE, KEEP and WORK in the environment change it.
N ?= 1000
torture: build
	tests/torture/torture.sh $(N)

# Notifications across SIGKILLs (issue 11): 6 kills; `make test` runs 3 (torture.notify_kill).
torture-notify: build
	APEX_HOST=$(CURDIR)/build/apex-host APEX_DATAGEN=$(CURDIR)/build/apex-datagen \
	  APEX_SOURCE_DIR=$(CURDIR) APEX_BUILD_DIR=$(CURDIR)/build bash tests/torture/notify_kill.sh

bench: build
	bench/run.sh
	./build/bench-sandbox-bounds

# apex-host optimize's backtests per minute on the demo, --jobs 1 against --jobs 2.
bench-optimize: build
	bench/optimize_bench.sh

# Host-side latency of a live exit against the fake Alpaca on 127.0.0.1 (docs/performance.md):
# the strategy's close, the same with the store on tmpfs, and the monitor's exit.
LATENCY_N ?= 200
bench-latency: build
	bench/alpaca_latency.sh $(LATENCY_N)
	DB_DIR=/dev/shm OUT=bench/out/latency-strategy-tmpfs bench/alpaca_latency.sh $(LATENCY_N)
	MODE=monitor bench/alpaca_latency.sh $(LATENCY_N)

# Exit latency with the fake Telegram answering versus hanging (issue 11):
# make bench-notify [NOTIFY_N=400]
NOTIFY_N ?= 400
bench-notify: build
	bench/notify_latency.sh $(NOTIFY_N)

# The dashboard's cost to the trading loop: tick-to-order latency with no server, the
# server alone and 10 clients (docs/performance.md): make bench-dashboard [DASHBOARD_N=400]
DASHBOARD_N ?= 400
bench-dashboard: build
	bench/dashboard_cost.sh $(DASHBOARD_N)

# The picture in docs/dashboard.md, taken by the dashboard's browser test at its end.
dashboard-screenshot: build
	APEX_HOST=$(CURDIR)/build/apex-host APEX_DATAGEN=$(CURDIR)/build/apex-datagen \
	  APEX_SOURCE_DIR=$(CURDIR) APEX_BUILD_DIR=$(CURDIR)/build \
	  SCREENSHOT=$(CURDIR)/docs/dashboard.png bash tests/integration/dashboard_browser.sh

# Regenerates the field tables in docs/configuration.md and the pipeline classes in
# types/apex.lua from core/config/schema.c (the test config_docs_in_sync checks them).
config-docs: build
	./build/apex-config-doc update docs/configuration.md types/apex.lua

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-apicheck build-fuzz
