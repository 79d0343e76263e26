#!/usr/bin/env bash
# Install every Debian package the build, tests, demo and benchmarks need.
# Idempotent and quiet when everything is already present.
set -euo pipefail
PKGS=(
	clang llvm make gcc pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libyaml-dev libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
	libpcap-dev libcap-dev libsystemd-dev
	iproute2 iptables nftables xdp-tools ethtool iputils-ping
	netcat-openbsd tcpdump socat python3 procps curl jq
	util-linux bsdutils passwd libclang-rt-14-dev
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install packages (run as root or: sudo $0)" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/flowgate-update-stamp
if [ ! -e "$stamp" ] || ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -qq >/dev/null
	mkdir -p "$(dirname "$stamp")"; touch "$stamp"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
