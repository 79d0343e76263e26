#!/usr/bin/env bash
# Mount bpffs (and tracefs) in the root mount namespace if they are absent.
# Also mount a bpffs at /run/flowgate/bpf: a path outside /sys stays visible
# inside `ip netns exec` (see KNOWN.md), so daemons run in a namespace pin there.
set -eu
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mkdir -p /run/flowgate/bpf
mountpoint -q /run/flowgate/bpf || mount -t bpf bpf /run/flowgate/bpf
