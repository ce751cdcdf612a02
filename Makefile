# dynamo - build, test, fuzz, install.  'make' builds ./dynamo; 'make check'
# builds and runs every test (also under ASan+UBSan); 'make demo' runs the
# main job on the built-in seed spec.  Both install missing Debian packages.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wpointer-arith \
            -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
DEFS     := -std=c11 -D_GNU_SOURCE -DDYNAMO_VERSION='"$(VERSION)"' \
            -DDYNAMO_DATADIR='"$(PREFIX)/share/dynamo"'
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CC  ?= clang
FUZZ_SECONDS ?= 600

# Quiet by default; 'make V=1' shows the commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n'
endif

LIB_SRC  := $(sort $(wildcard src/lib/*.c src/spec/*.c src/topo/*.c src/plan/*.c \
                             src/net/*.c src/control/*.c \
                             src/engine/*.c src/agents/*.c src/capture/*.c \
                             src/catalog/*.c src/packet/*.c src/clone/*.c \
                             src/compare/*.c))
LIBS     := -lmnl -lnftables -lssh -lssl -lcrypto -lpcap -lndpi -ljansson -lyaml -lm -pthread
CLI_SRC  := $(sort $(wildcard src/cli/*.c)) src/main.c
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
HDRS     := $(wildcard src/*/*.h tests/unit/*.h)

OBJ      := $(patsubst %.c,build/obj/%.o,$(LIB_SRC) $(CLI_SRC))
LIB_OBJ  := $(patsubst %.c,build/obj/%.o,$(LIB_SRC))
ASAN_OBJ := $(patsubst %.c,build/asan/%.o,$(LIB_SRC) $(CLI_SRC))
ASAN_LIB := $(patsubst %.c,build/asan/%.o,$(LIB_SRC))
UNITS    := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRC))
ASAN_UNITS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))

.PHONY: all check demo fuzz fuzz-build fuzz-merge install uninstall clean deps-build deps-check deps-fuzz tests asan

all: dynamo

dynamo: $(OBJ)
	$(say) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(LIBS)

build/obj/%.o: %.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(DEFS) $(WARN) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(say) CC-SAN $<
	$(Q)$(CC) $(DEFS) $(WARN) -O1 -g $(SAN) -c -o $@ $<

build/asan/dynamo: $(ASAN_OBJ)
	$(say) LD-SAN $@
	$(Q)$(CC) $(SAN) -o $@ $(ASAN_OBJ) $(LIBS)

build/tests/%: tests/unit/%.c $(LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(say) TEST $@
	$(Q)$(CC) $(DEFS) $(WARN) $(CFLAGS) -o $@ $< $(LIB_OBJ) -lcmocka $(LIBS)

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(say) TEST $@
	$(Q)$(CC) $(DEFS) $(WARN) -O1 -g $(SAN) -o $@ $< $(ASAN_LIB) -lcmocka $(LIBS)

# Fuzz targets (tests/fuzz/fuzz-NAME.c), each with a corpus in
# tests/fuzz/corpus/NAME and a dictionary tests/fuzz/NAME.dict.  The
# corpora are replayed without libFuzzer, so any compiler can.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
REPLAYS      := $(addprefix build/tests/fuzz-replay-,$(FUZZ_TARGETS))
ASAN_REPLAYS := $(addprefix build/asan/tests/fuzz-replay-,$(FUZZ_TARGETS))

build/tests/fuzz-replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(say) TEST $@
	$(Q)$(CC) $(DEFS) $(WARN) $(CFLAGS) -o $@ $^ $(LIBS)
build/asan/tests/fuzz-replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c $(ASAN_LIB)
	@mkdir -p $(dir $@)
	$(say) TEST $@
	$(Q)$(CC) $(DEFS) $(WARN) -O1 -g $(SAN) -o $@ $^ $(LIBS)

# Tools the tests drive (tests/tools/NAME.c -> build/tests/NAME).
TOOLS      := $(patsubst tests/tools/%.c,build/tests/%,$(wildcard tests/tools/*.c))
ASAN_TOOLS := $(patsubst tests/tools/%.c,build/asan/tests/%,$(wildcard tests/tools/*.c))

build/tests/%: tests/tools/%.c $(LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(say) TOOL $@
	$(Q)$(CC) $(DEFS) $(WARN) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LIBS)
build/asan/tests/%: tests/tools/%.c $(ASAN_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(say) TOOL $@
	$(Q)$(CC) $(DEFS) $(WARN) -O1 -g $(SAN) -o $@ $< $(ASAN_LIB) $(LIBS)

tests: dynamo $(UNITS) $(REPLAYS) $(TOOLS)
asan: build/asan/dynamo $(ASAN_UNITS) $(ASAN_REPLAYS) $(ASAN_TOOLS)

deps-build:
	@scripts/deps.sh build
deps-check:
	@scripts/deps.sh check
deps-fuzz:
	@scripts/deps.sh fuzz

# Every test, plain and under ASan+UBSan; the last line is the summary.
check: deps-check
	@$(MAKE) -s --no-print-directory tests asan
	@tests/run.sh

demo: deps-build
	@$(MAKE) -s --no-print-directory dynamo
	@scripts/demo.sh

build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(DEFS) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $< $(LIB_SRC) $(LIBS)

fuzz-build: deps-fuzz $(addprefix build/fuzz/fuzz-,$(FUZZ_TARGETS))

# Run each fuzz target (or only FUZZ_TARGET) for FUZZ_SECONDS; new inputs
# go to build/fuzz/corpus-NAME, crashes to build/fuzz/.
FUZZ_TARGET ?= $(FUZZ_TARGETS)
fuzz: fuzz-build
	@for t in $(FUZZ_TARGET); do \
		mkdir -p build/fuzz/corpus-$$t; \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
		build/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
			-dict=tests/fuzz/$$t.dict -artifact_prefix=build/fuzz/ \
			build/fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# Fold what fuzzing found into the committed seed corpora, minimised by
# libFuzzer (-merge keeps the smallest set with the same coverage).
fuzz-merge: fuzz-build
	@for t in $(FUZZ_TARGET); do \
		rm -rf build/fuzz/merged-$$t && mkdir -p build/fuzz/merged-$$t build/fuzz/corpus-$$t; \
		build/fuzz/fuzz-$$t -merge=1 -max_len=4096 build/fuzz/merged-$$t \
			tests/fuzz/corpus/$$t build/fuzz/corpus-$$t || exit 1; \
		cp build/fuzz/merged-$$t/* tests/fuzz/corpus/$$t/; \
	done

install: dynamo
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 dynamo $(DESTDIR)$(PREFIX)/bin/dynamo
	install -m 644 docs/dynamo.1 $(DESTDIR)$(PREFIX)/share/man/man1/dynamo.1
	install -m 644 completion/dynamo.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/dynamo
	install -d $(DESTDIR)$(PREFIX)/share/dynamo/behaviours
	install -m 644 data/behaviours/*.model $(DESTDIR)$(PREFIX)/share/dynamo/behaviours/
	install -d $(DESTDIR)$(PREFIX)/share/dynamo/catalog
	install -m 644 data/catalog/*.source $(DESTDIR)$(PREFIX)/share/dynamo/catalog/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/dynamo $(DESTDIR)$(PREFIX)/share/man/man1/dynamo.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/dynamo
	rm -rf $(DESTDIR)$(PREFIX)/share/dynamo

clean:
	rm -rf build dynamo
