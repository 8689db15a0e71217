#!/usr/bin/env bash
# ulvs demo: HTTP through a virtual service, NAT mode, all in namespaces.
#
#   ulvsdemo-client          ulvsdemo-dir (ulvsd)             ulvsdemo-sw      ulvsdemo-rs1
#  +---------------+      +------------------------+       +----------+     +-------------+
#  | c0 10.99.1.2  |------| d0 10.99.1.1           |       |  bridge  |-----| eth0        |
#  |               | veth |    10.99.1.100 (VIP)   |       |   br0    |     | 10.99.2.11  |
#  +---------------+      | d1 10.99.2.1           |-------|          |     | nginx :80   |
#                         +------------------------+  veth |          |     +-------------+
#                                                          |          |     ulvsdemo-rs2
#                                                          |          |     +-------------+
#                                                          |          |-----| 10.99.2.12  |
#                                                          +----------+     | nginx :80   |
#                                                                           +-------------+
# Real servers route back through 10.99.2.1 (the director), as NAT mode
# requires.  The director runs build/daemon/ulvsd with a keepalived.conf
# holding one `virtual_server 10.99.1.100 80 { lb_algo rr; lb_kind NAT }`.
#
# On a fresh Debian 12, as root: installs what it needs, builds, runs ten
# requests through the VIP, prints which real server answered each and what
# client address the real servers saw, then removes everything it created
# (namespaces, processes it started, its temporary directory) on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
P=ulvsdemo
NS=("$P-client" "$P-dir" "$P-sw" "$P-rs1" "$P-rs2")
VIP=10.99.1.100
REQUESTS=10

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (namespaces, apt-get)" >&2; exit 1; }

# --- dependencies ---------------------------------------------------------
PKGS=(build-essential meson ninja-build pkg-config libpcap-dev libmnl-dev libcmocka-dev
      nginx-light curl iproute2 nftables)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	# Debian's policy-rc.d hook: package scripts must not start nginx on the host.
	created_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created_policy=1
	fi
	echo "demo: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	rc=0
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=1
	[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
	[ $rc = 0 ] || exit 1
fi

# --- build ----------------------------------------------------------------
make >/dev/null || { echo "demo: build failed (run make to see why)" >&2; exit 1; }
ULVSD=$ROOT/build/daemon/ulvsd
[ -x "$ULVSD" ] || { echo "demo: $ULVSD missing after make" >&2; exit 1; }

# --- cleanup of exactly what we create -------------------------------------
TMP=$(mktemp -d /tmp/ulvsdemo.XXXXXX)
PIDS=()
cleanup() {
	local pid n
	set +e
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for f in "$TMP"/rs*/nginx.pid; do
		[ -s "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	# Give ulvsd up to 2 s to remove its nftables table and exit.
	for _ in $(seq 20); do
		local alive=
		for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for n in "${NS[@]}"; do
	if ip netns list | grep -qw "^$n"; then
		echo "demo: namespace $n exists (an earlier demo still running?); delete it first" >&2
		exit 1
	fi
done

# --- topology ---------------------------------------------------------------
nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
for n in "${NS[@]}"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add c0 netns $P-client type veth peer name d0 netns $P-dir
ip link add d1 netns $P-dir type veth peer name sd netns $P-sw
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set sd master br0 up
ip -n $P-sw link set br0 up
ip -n $P-client addr add 10.99.1.2/24 dev c0
ip -n $P-client link set c0 up
ip -n $P-dir addr add 10.99.1.1/24 dev d0
# The VIP lives on the director (keepalived's VRRP would add it): the
# kernel answers ARP for it, ulvsd handles its TCP port 80.
ip -n $P-dir addr add $VIP/32 dev d0
ip -n $P-dir link set d0 up
ip -n $P-dir addr add 10.99.2.1/24 dev d1
ip -n $P-dir link set d1 up
for i in 1 2; do
	ip link add eth0 netns $P-rs$i type veth peer name s$i netns $P-sw
	ip -n $P-sw link set s$i master br0 up
	ip -n $P-rs$i addr add 10.99.2.1$i/24 dev eth0
	ip -n $P-rs$i link set eth0 up
	ip -n $P-rs$i route add default via 10.99.2.1

	d=$TMP/rs$i
	mkdir -p "$d/www" "$d/body"
	echo "rs$i" > "$d/www/index.html"
	cat > "$d/nginx.conf" <<-EOF
	user root;
	worker_processes 1;
	pid $d/nginx.pid;
	error_log $d/error.log;
	events { worker_connections 256; }
	http {
	    access_log $d/access.log;
	    client_body_temp_path $d/body;
	    server {
	        listen 10.99.2.1$i:80;
	        root $d/www;
	    }
	}
	EOF
	nsx rs$i nginx -c "$d/nginx.conf"
done

cat > "$TMP/keepalived.conf" <<EOF
! ulvs demo: one NAT virtual service, round robin over two nginx servers
global_defs {
    router_id ulvsdemo
}
virtual_server $VIP 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.99.2.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 10.99.2.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
EOF

ip netns exec "$P-dir" "$ULVSD" -f "$TMP/keepalived.conf" -l > "$TMP/ulvsd.log" 2>&1 &
PIDS+=($!)
# Ready when it has said which packet backend it runs (at most 5 s).
ready=
for _ in $(seq 50); do
	if grep -q "data plane: backend" "$TMP/ulvsd.log" 2>/dev/null; then ready=1; break; fi
	kill -0 "${PIDS[0]}" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$ready" ]; then
	echo "demo: ulvsd did not come up; its log:" >&2
	cat "$TMP/ulvsd.log" >&2
	exit 1
fi
echo "demo: ulvsd is up in $P-dir:"
sed 's/^/    /' "$TMP/ulvsd.log"

# --- traffic ------------------------------------------------------------------
declare -A count=()
ok=0
for i in $(seq $REQUESTS); do
	if body=$(nsx client curl -s -m 3 "http://$VIP/"); then
		echo "demo: request $i -> $body"
		count[$body]=$(( ${count[$body]:-0} + 1 ))
		ok=$((ok + 1))
	else
		echo "demo: request $i -> failed"
	fi
done

echo
echo "demo: $ok of $REQUESTS requests answered; rs1 ${count[rs1]:-0}, rs2 ${count[rs2]:-0}"
for i in 1 2; do
	seen=$(awk '{print $1}' "$TMP/rs$i/access.log" 2>/dev/null | sort -u | tr '\n' ' ')
	echo "demo: rs$i saw requests from: ${seen:-nobody}"
done
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
echo "demo: ulvsd stopped; its last words:"
tail -n 4 "$TMP/ulvsd.log" | sed 's/^/    /'
[ "$ok" = "$REQUESTS" ] && [ "${count[rs1]:-0}" -gt 0 ] && [ "${count[rs2]:-0}" -gt 0 ]
