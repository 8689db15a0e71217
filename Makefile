# Thin wrapper over meson.  `make` builds build/ulvsd, build/ulvsadm,
# build/ulvs-rs; `make test` runs unit tests; `make asan` runs them under
# ASan+UBSan; `make fuzz` builds libFuzzer targets; see README.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
WERROR ?= $(if $(CI),true,false)
PY ?= /usr/bin/python3

.PHONY: all test unit asan replay-test integration-test fuzz bench clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@ln -sfn daemon/ulvsd $(BUILD)/ulvsd; ln -sfn cli/ulvsadm $(BUILD)/ulvsadm; ln -sfn rs/ulvs-rs $(BUILD)/ulvs-rs

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=$(WERROR)

unit: all
	meson test -C $(BUILD) --print-errorlogs

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug -Dwerror=$(WERROR)

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs

replay-test: all
	$(PY) -m pytest -q tests/replay

integration-test: all
	$(PY) -m pytest -q tests/integration

test: unit asan replay-test

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false -Db_lundef=false

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

bench: all
	$(BUILD)/bench/bench_engine
	$(BUILD)/bench/bench_sched
	$(BUILD)/bench/bench_workers

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
