# flowgate build. `make` builds everything into build/; `make test` runs every
# test; `make demo` shows flowgate on a lab of namespaces.
# Only what changed is rebuilt (dependency files from -MMD).

BUILD      ?= build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH_INC   := -I/usr/include/$(shell uname -m)-linux-gnu

CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	      -Iinclude -Isrc -I$(BUILD) -MMD -MP $(EXTRA_CFLAGS)
LDLIBS_BPF := -lbpf -lelf -lz
LDLIBS     := $(LDLIBS_BPF) -lyaml -ljansson -lmicrohttpd -lcurl -lpcap -lcap -lsystemd -lpthread -lm

BPF_CFLAGS := -O2 -g -target bpf -Wall -Wextra -Werror -Wno-unused-parameter \
	      -Iinclude -Ibpf $(ARCH_INC)

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Library code shared by the daemon, the CLI and the tests.
LIB_SRCS   := $(filter-out src/flowgated.c src/flowgate.c,$(wildcard src/*.c))
LIB_OBJS   := $(patsubst src/%.c,$(BUILD)/src/%.o,$(LIB_SRCS))
LIB        := $(BUILD)/libfg.a

BINS       := $(BUILD)/flowgated $(BUILD)/flowgate

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
DP_SRCS    := $(wildcard tests/dp/test_*.c)
DP_BINS    := $(patsubst tests/dp/%.c,$(BUILD)/tests/%,$(DP_SRCS))
TLIB_SRCS  := $(wildcard tests/lib/*.c)
TLIB_OBJS  := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TLIB_SRCS))
BENCH_BPF  := $(wildcard bench/*.bpf.c)
BENCH_SKELS:= $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(BENCH_BPF))
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.SECONDARY:
.PHONY: all deps test demo fuzz bench clean format
all: $(BINS) $(UNIT_BINS) $(DP_BINS) $(BENCH_BINS)

deps:
	@scripts/deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -MT $@ -c $< -o $@.tmp.o
	$(BPFTOOL) gen object $@ $@.tmp.o
	@rm -f $@.tmp.o

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

$(BUILD)/src/%.o: src/%.c $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/flowgated: $(BUILD)/src/flowgated.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/flowgate: $(BUILD)/src/flowgate.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(TLIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(TLIB_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/dp/%.c $(LIB) $(TLIB_OBJS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(TLIB_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(BPFTOOL) gen object $@ $@.tmp.o
	@rm -f $@.tmp.o

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

$(BUILD)/bench/%: bench/%.c $(LIB) $(SKELS) $(BENCH_SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(BUILD)/bench -Ibench -o $@ $< $(LIB) $(LDLIBS)

$(BUILD):
	@mkdir -p $(BUILD)

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

fuzz: deps
	@$(MAKE) --no-print-directory all
	@tests/fuzz.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh

format:
	clang-format -i $(wildcard src/*.c src/*.h bpf/*.c bpf/lib/*.h include/flowgate/*.h tests/*/*.c)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*.d $(BUILD)/bench/*.d $(BUILD)/src/*.d $(BUILD)/tests/*.d $(BUILD)/tests/lib/*.d $(BUILD)/bench/*.d)
