"""TUN mode end to end: ulvsd wraps the client's packets in IP-in-IP to real
servers on another subnet, which decapsulate them with `ulvs-rs tun start` (a tc
BPF program: this kernel has no ipip module) and answer the client directly.

       client                router
  +-------------+     +------------------+
  | c0          |-----| r0 10.98.1.1     |        director (ulvsd)
  | 10.98.1.2   |veth | r1 10.98.2.1     |-----+ d0 10.98.2.2, VIP 10.98.2.100
  | gw .1.1     |     | r2 10.98.3.1     | veth  gw 10.98.2.1
  +-------------+     +------------------+
                               | veth r2
                       +----------------------------------------------+
                       | br0 (ns "sw")                                |
                       +-- eth0 rs1 10.98.3.11  tc decap, VIP on lo   |
                       +-- eth0 rs2 10.98.3.12  tc decap, VIP on lo   |
                       +----------------------------------------------+

  client -> router -> director --IPIP 10.98.2.2 > 10.98.3.x--> router -> rs
  rs --(from the VIP)--> router -> client
"""
import collections
import hashlib
import os

import pytest

from conftest import Topology, require_environment, stop_ulvsd
from rsutil import (BIG_SIZE, assert_ratio, bridge, curl_many, download, forwarding,
                    peers_logged, plug, require_rs, rs, start_director, ulvsd_log,
                    web_servers)

CLIENT = "10.98.1.2"
VIP = "10.98.2.100"
VIP6 = "fd00:98::100"     # only for the IPv6-in-IPv4 decapsulation check
DIRECTOR = "10.98.2.2"
RS = {"rs1": "10.98.3.11", "rs2": "10.98.3.12"}
WEIGHTS = {"rs1": 1, "rs2": 2}

CONF = f"""! TUN mode, weighted round robin 1:2, TCP 80, real servers a router away
global_defs {{
    router_id ulvs_test_tun
}}
virtual_server {VIP} 80 {{
    lb_algo wrr
    lb_kind TUN
    protocol TCP
    real_server {RS['rs1']} 80 {{
        weight {WEIGHTS['rs1']}
    }}
    real_server {RS['rs2']} 80 {{
        weight {WEIGHTS['rs2']}
    }}
}}
"""


def build(tag):
    t = Topology(tag)
    try:
        for n in ("client", "router", "dir", "sw", "rs1", "rs2"):
            t.add_ns(n)
        bridge(t, "sw")
        t.veth("client", "c0", "router", "r0")
        t.veth("dir", "d0", "router", "r1")
        plug(t, "router", "r2", "sw", "sr")
        t.addr("client", "c0", f"{CLIENT}/24")
        t.run("client", "ip", "route", "add", "default", "via", "10.98.1.1")
        t.addr("router", "r0", "10.98.1.1/24")
        t.addr("router", "r1", "10.98.2.1/24")
        t.addr("router", "r2", "10.98.3.1/24")
        forwarding(t, "router")
        t.addr("dir", "d0", f"{DIRECTOR}/24")
        t.addr("dir", "d0", f"{VIP}/32")
        t.run("dir", "ip", "route", "add", "default", "via", "10.98.2.1")
        for i, (name, ip) in enumerate(RS.items(), 1):
            plug(t, name, "eth0", "sw", f"s{i}")
            t.addr(name, "eth0", f"{ip}/24")
            t.run(name, "ip", "route", "add", "default", "via", "10.98.3.1")
            # Distribution defaults are strict; ulvs-rs must relax it itself.
            t.run(name, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1")
    except BaseException:
        t.close()
        raise
    return t


@pytest.fixture(scope="module")
def tun():
    require_environment()
    require_rs()
    t = build(f"ulvsrst{os.getpid() % 100000}")
    try:
        for name in RS:
            r = rs(t, name, "tun", "start", "--vip", VIP, "--vip", VIP6, "--dev", "eth0",
                   check=False)
            if r.returncode == 4:
                pytest.skip(f"kernel feature missing for tc decapsulation: {r.stderr.strip()}")
            assert r.returncode == 0, r.stderr
        t.www, t.big_md5 = web_servers(t, RS, wildcard=True)
        t.ulvsd, _ = start_director(t, CONF)
        yield t
    finally:
        for name in RS:
            rs(t, name, "tun", "stop", check=False)
        t.close()


def decap_count(t, name):
    st = rs(t, name, "status").stdout
    for line in st.splitlines():
        if line.strip().startswith("decap_ipv4_inner"):
            return int(line.split()[1])
    pytest.fail(f"no decap counter in status:\n{st}")


def test_rs_setup(tun):
    for name in RS:
        filt = tun.run(name, "tc", "filter", "show", "dev", "eth0", "ingress").stdout
        assert "rs_tun_decap" in filt and "direct-action" in filt, filt
        assert f"inet {VIP}/32" in tun.run(name, "ip", "addr", "show", "dev", "lo").stdout
        assert tun.run(name, "cat", "/proc/sys/net/ipv4/conf/all/rp_filter").stdout.strip() == "2"
        assert tun.run(name, "cat", "/proc/sys/net/ipv4/conf/all/arp_ignore").stdout.strip() == "1"
        # A second start is refused with its own exit code, changing nothing.
        r = rs(tun, name, "tun", "start", "--vip", VIP, check=False)
        assert r.returncode == 3, r


def test_wrr_ratio_through_tunnel(tun):
    before = {n: decap_count(tun, n) for n in RS}
    answers = curl_many(tun, f"http://{VIP}/", 24)
    assert_ratio(answers, WEIGHTS)
    # Every request reached its server through the decapsulation program
    # (a handshake and a request at least: SYN, ACK, data, FIN...).
    for name, n in collections.Counter(answers).items():
        assert decap_count(tun, name) - before[name] >= 3 * n


def test_real_servers_see_client(tun):
    curl_many(tun, f"http://{VIP}/", 3)
    for name, d in tun.www.items():
        peers = peers_logged(d)
        assert peers and set(peers) == {CLIENT}, peers[-3:]


def test_long_download(tun):
    body = download(tun, f"http://{VIP}/big")
    assert len(body) == BIG_SIZE
    assert hashlib.md5(body).hexdigest() == tun.big_md5


def test_tunnel_to_other_address_left_alone(tun):
    # An IP-in-IP packet whose inner destination is not a VIP is not ours:
    # the program passes it to the kernel (which, without ipip, drops it).
    name = "rs1"
    prog = f"""
from scapy.all import IP, TCP, send
send(IP(src="10.98.3.1", dst="{RS[name]}")/IP(src="{CLIENT}", dst="10.98.9.9")/TCP(dport=80),
     verbose=False)
"""
    st0 = rs(tun, name, "status").stdout
    tun.run("router", "/usr/bin/python3", "-c", prog, timeout=20)
    st1 = rs(tun, name, "status").stdout

    def passed(st):
        return int(next(ln for ln in st.splitlines() if "pass_not_vip" in ln).split()[1])
    assert passed(st1) == passed(st0) + 1, st1


def test_ipv6_inner_over_ipv4(tun):
    # Protocol 41 over IPv4 to an IPv6 VIP: the outer family differs from the
    # inner one, so the program asks the kernel to switch the packet's
    # protocol (BPF_F_ADJ_ROOM_DECAP_L3_IPV6) and patches the EtherType.
    name = "rs2"
    prog = f"""
from scapy.all import IP, IPv6, ICMPv6EchoRequest, send
send(IP(src="10.98.3.1", dst="{RS[name]}")/IPv6(src="fd00:98::1", dst="{VIP6}")/
     ICMPv6EchoRequest(), verbose=False)
"""

    def counters():
        st = rs(tun, name, "status").stdout
        return {ln.split()[0]: int(ln.split()[1]) for ln in st.splitlines()
                if ln.strip().startswith(("decap_", "drop_"))}
    def echoes_in():
        snmp = tun.run(name, "cat", "/proc/net/snmp6").stdout
        return int(next(ln for ln in snmp.splitlines() if ln.startswith("Icmp6InEchos ")).split()[1])
    c0, e0 = counters(), echoes_in()
    tun.run("router", "/usr/bin/python3", "-c", prog, timeout=20)
    c1 = counters()
    # ... and the kernel took the inner packet as its own.
    assert echoes_in() == e0 + 1
    assert c1["decap_ipv6_inner"] == c0["decap_ipv6_inner"] + 1, c1
    assert c1["drop_adjust_room"] == c0["drop_adjust_room"], c1


def test_stop_restores(tun):
    assert stop_ulvsd(tun.ulvsd) == 0, ulvsd_log(tun)
    for name in RS:
        rs(tun, name, "tun", "stop")
        assert "rs_tun_decap" not in tun.run(name, "tc", "filter", "show", "dev", "eth0",
                                              "ingress", check=False).stdout
        assert "clsact" not in tun.run(name, "tc", "qdisc", "show", "dev", "eth0").stdout
        lo = tun.run(name, "ip", "addr", "show", "dev", "lo").stdout
        assert VIP not in lo and VIP6 not in lo, lo
        assert tun.run(name, "cat", "/proc/sys/net/ipv4/conf/all/rp_filter").stdout.strip() == "1"
        assert tun.run(name, "cat", "/proc/sys/net/ipv4/conf/all/arp_ignore").stdout.strip() == "0"
