"""DR mode end to end: client -> router -> VIP on ulvsd -> nginx on two real
servers that answer the client directly, prepared with `ulvs-rs dr start`.

       client               router                    LAN (bridge br0 in ns "sw")
  +-------------+     +----------------+      +-----------------------------------+
  | c0          |-----| r0 10.98.1.1   |      |                                   |
  | 10.98.1.2   |veth | r1 10.98.2.1   |------+-- d0  director (ulvsd)          |
  | gw .1.1     |     | ip_forward=1   | veth |       10.98.2.2, VIP 10.98.2.100  |
  +-------------+     +----------------+      +-- eth0 rs1 10.98.2.11  VIP on lo  |
                          ^                   +-- eth0 rs2 10.98.2.12  VIP on lo  |
                          |                   +-----------------------------------+
                          +---- replies: rs -> router -> client (never the director)

The router resolves the VIP by ARP on the LAN: only the director may answer
(the real servers carry the VIP on lo with arp_ignore=1, which is what
`ulvs-rs dr` is for).  The director rewrites only the destination MAC.
"""
import hashlib
import os

import pytest

from conftest import require_environment, stop_ulvsd
from rsutil import (BIG_SIZE, assert_ratio, build_dr_lan, curl_many, download, peers_logged,
                    require_rs, rs, start_director, ulvsd_log, web_servers)

CLIENT = "10.98.1.2"
VIP = "10.98.2.100"
DIRECTOR = "10.98.2.2"
RS = {"rs1": "10.98.2.11", "rs2": "10.98.2.12"}
WEIGHTS = {"rs1": 3, "rs2": 1}

CONF = f"""! DR mode, weighted round robin 3:1, TCP 80
global_defs {{
    router_id ulvs_test_dr
}}
virtual_server {VIP} 80 {{
    lb_algo wrr
    lb_kind DR
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
    return build_dr_lan(tag, "10.98", CLIENT, DIRECTOR, VIP, RS)


@pytest.fixture(scope="module")
def dr():
    require_environment()
    require_rs()
    t = build(f"ulvsrsd{os.getpid() % 100000}")
    try:
        for name in RS:
            rs(t, name, "dr", "start", "--vip", VIP)
        t.www, t.big_md5 = web_servers(t, RS, wildcard=True)
        t.ulvsd, _ = start_director(t, CONF)
        yield t
    finally:
        for name in RS:
            rs(t, name, "dr", "stop", check=False)
        t.close()


def test_rs_setup_is_what_dr_needs(dr):
    for name in RS:
        lo = dr.run(name, "ip", "-4", "addr", "show", "dev", "lo").stdout
        assert f"inet {VIP}/32" in lo and "lo:0" in lo, lo
        for key in ("all/arp_ignore", "lo/arp_ignore"):
            assert dr.run(name, "cat", f"/proc/sys/net/ipv4/conf/{key}").stdout.strip() == "1"
        for key in ("all/arp_announce", "lo/arp_announce"):
            assert dr.run(name, "cat", f"/proc/sys/net/ipv4/conf/{key}").stdout.strip() == "2"
        st = rs(dr, name, "status").stdout
        assert f"vip {VIP} on lo as lo:0" in st, st


def test_wrr_ratio_and_direct_return(dr):
    answers = curl_many(dr, f"http://{VIP}/", 24)
    assert_ratio(answers, WEIGHTS)
    # Only the director answered ARP for the VIP on the LAN.
    neigh = dr.run("router", "ip", "neigh", "show", VIP).stdout
    dmac = dr.run("dir", "cat", "/sys/class/net/d0/address").stdout.strip()
    assert dmac in neigh, f"router's neighbour entry for the VIP: {neigh!r}, director {dmac}"


def test_real_servers_see_client(dr):
    curl_many(dr, f"http://{VIP}/", 4)
    for name, d in dr.www.items():
        peers = peers_logged(d)
        assert peers, f"{name} logged nothing"
        assert set(peers) == {CLIENT}, peers[-3:]


def test_long_download(dr):
    body = download(dr, f"http://{VIP}/big")
    assert len(body) == BIG_SIZE
    assert hashlib.md5(body).hexdigest() == dr.big_md5


def test_stop_restores_and_ulvsd_exits_clean(dr):
    assert stop_ulvsd(dr.ulvsd) == 0, ulvsd_log(dr)
    for name in RS:
        rs(dr, name, "dr", "stop")
        lo = dr.run(name, "ip", "addr", "show", "dev", "lo").stdout
        assert VIP not in lo, lo
        for key in ("all/arp_ignore", "lo/arp_ignore", "all/arp_announce", "lo/arp_announce"):
            assert dr.run(name, "cat", f"/proc/sys/net/ipv4/conf/{key}").stdout.strip() == "0"
        # A second stop has nothing to do and says so without failing.
        r = rs(dr, name, "dr", "stop")
        assert "nothing to stop" in r.stderr
