#!/usr/bin/env bash
# Build the throughput benchmark's tools (pktgen and its XDP programs). Tries make
# first; while other parts of the tree do not build, make cannot link
# build/bench/* (the Makefile links them with libfg.a), so it falls back to
# the same compiler commands without the library, which pktgen does not use.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
# Only what the throughput benchmark needs; nsperpkt is built by make.
progs="gen xdp_drop xdp_pass"
bpf_objs=()
for n in $progs; do
	bpf_objs+=("$B/bench/$n.bpf.o" "$B/bench/$n.skel.h")
done

if make -s "${bpf_objs[@]}" "$B/bench/pktgen" >/dev/null 2>&1; then
	exit 0
fi
echo "bench/build.sh: make failed (other parts of the tree do not build yet?);" \
	"building the bench tools directly" >&2
mkdir -p "$B/bench"
arch_inc=-I/usr/include/$(uname -m)-linux-gnu
for n in $progs; do
	src=bench/$n.bpf.c
	o=$B/bench/$n.bpf.o
	if [ ! -e "$o" ] || [ "$src" -nt "$o" ] || [ bench/gen.h -nt "$o" ]; then
		clang -O2 -g -target bpf -Wall -Wextra -Werror -Wno-unused-parameter \
			-Iinclude -Ibpf "$arch_inc" -c "$src" -o "$o.tmp.o"
		bpftool gen object "$o" "$o.tmp.o"
		rm -f "$o.tmp.o"
	fi
	if [ ! -e "$B/bench/$n.skel.h" ] || [ "$o" -nt "$B/bench/$n.skel.h" ]; then
		bpftool gen skeleton "$o" name "${n//-/_}" >"$B/bench/$n.skel.h.tmp"
		mv "$B/bench/$n.skel.h.tmp" "$B/bench/$n.skel.h"
	fi
done
gcc -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I"$B" \
	-I"$B/bench" -Ibench -o "$B/bench/pktgen" bench/pktgen.c -lbpf -lelf -lz -lpthread
