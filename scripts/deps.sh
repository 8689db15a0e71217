#!/usr/bin/env bash
# Installs everything ulvs needs to build, test and run its demo on Debian 12.
# Idempotent; run as root.  Services that packages would start (nginx,
# keepalived) are kept from starting: tests start their own, in namespaces.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "deps.sh: run as root (apt-get)" >&2; exit 1; }

PKGS=(build-essential meson ninja-build pkg-config clang llvm libclang-rt-14-dev
      libpcap-dev libmnl-dev libcmocka-dev libbpf-dev libxdp-dev liburcu-dev
      libcurl4-openssl-dev libssl-dev keepalived
      python3-scapy python3-pytest tshark
      nginx-light curl iproute2 nftables procps psmisc iputils-ping)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	# Keep package scripts from starting daemons (Debian's policy-rc.d hook).
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
