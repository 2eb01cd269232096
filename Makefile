# cxapi: the two commands are `make run` and `make test`; see README.md.
# Every target installs missing Debian packages first (scripts/install-deps
# does nothing when all are present).

SHELL = /bin/bash
BUILD ?= build
RUN_BUILD ?= build-run
PORT ?= 8080
STATE ?= state
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = xmlrpc jsonrpc http config where xs_wire cli

# The test build carries ASan and UBSan, so tests catch memory errors where
# they happen. Users run the optimised build (-O2 -g, assertions kept, no
# sanitizers), in a directory of its own; make test starts it once too, so
# that it cannot rot.
SANITIZE = -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=undefined
OPTIMISED = --buildtype=debugoptimized -Dtests=false

.PHONY: all deps build optimised run test bench fuzz fuzz-build format clean install

all: build

deps:
	@scripts/install-deps

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) $(SANITIZE) >/dev/null
	@ninja -C $(BUILD)

optimised: deps
	@[ -f $(RUN_BUILD)/build.ninja ] || meson setup $(RUN_BUILD) $(OPTIMISED) >/dev/null
	@ninja -C $(RUN_BUILD)

run: optimised
	@echo 'cxapi: to install and start a VM, see "Your first VM" in README.md'
	$(RUN_BUILD)/cxapi start --state $(STATE) --port $(PORT) --foreground

# make test also builds the fuzz targets and replays their corpus once,
# so that they keep compiling and no input that once crashed comes back.
test: build optimised fuzz-build
	@CXAPI_RUN_BUILD=$(RUN_BUILD) CXAPI_FUZZ_BUILD=build-fuzz tests/run $(BUILD)

bench: deps
	@[ -f build-release/build.ninja ] || \
		meson setup build-release --buildtype=release -Dtests=false >/dev/null
	@ninja -C build-release
	bench/http-bench build-release
	bench/xenstore-bench build-release
	bench/vm-bench.py build-release

fuzz-build: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false \
		-Db_sanitize=address,undefined -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
	@ninja -C build-fuzz $(addprefix fuzz/fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus/$$t; \
		cp -n fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ 2>/dev/null || true; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		build-fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=build-fuzz/crash-$$t- build-fuzz/corpus/$$t \
			>build-fuzz/fuzz-$$t.log 2>&1 || { tail -40 build-fuzz/fuzz-$$t.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' build-fuzz/fuzz-$$t.log; \
	done

format:
	clang-format -i $$(tests/c-sources)

# Installs xe and its bash completion from the optimised build, under
# PREFIX (default /usr/local; DESTDIR= stages the files elsewhere).
install: optimised
	@[ -z "$(PREFIX)" ] || meson configure $(RUN_BUILD) -Dprefix=$(PREFIX) >/dev/null
	meson install -C $(RUN_BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(DESTDIR))

clean:
	rm -rf $(BUILD) $(RUN_BUILD) build-release build-fuzz
