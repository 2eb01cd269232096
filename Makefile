# cxapi: the two commands are `make run` and `make test`; see README.md.
# Every target installs missing Debian packages first (scripts/install-deps
# does nothing when all are present).

SHELL = /bin/bash
BUILD ?= build
PORT ?= 8080
STATE ?= state
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = xmlrpc jsonrpc http config where xs_wire

# The everyday build carries ASan and UBSan: tests and `make run` alike
# catch memory errors where they happen.
SANITIZE = -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=undefined

.PHONY: all deps build run test bench fuzz format clean

all: build

deps:
	@scripts/install-deps

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) $(SANITIZE) >/dev/null
	@ninja -C $(BUILD)

run: build
	@echo 'cxapi: to install and start a VM, see "Your first VM" in README.md'
	$(BUILD)/cxapi start --state $(STATE) --port $(PORT) --foreground

test: build
	@tests/run $(BUILD)

bench: deps
	@[ -f build-release/build.ninja ] || \
		meson setup build-release --buildtype=release -Dtests=false >/dev/null
	@ninja -C build-release
	bench/http-bench build-release
	bench/xenstore-bench build-release
	bench/vm-bench.py build-release

fuzz: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false \
		-Db_sanitize=address,undefined -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
	@ninja -C build-fuzz $(addprefix fuzz/fuzz_,$(FUZZ_TARGETS))
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

clean:
	rm -rf build build-release build-fuzz
