"""UDP in DR mode end to end: a UDP echo service on the VIP, rr over two real
servers prepared with `ulvs-rs dr start`, answering the client directly.

The topology is test_dr.py's (its build(), under a tag of our own):

  client 10.98.1.2 -- router 10.98.1.1 / 10.98.2.1 -- LAN br0: director 10.98.2.2
                                                      (VIP 10.98.2.100), rs1 10.98.2.11,
                                                      rs2 10.98.2.12 (VIP on lo)

Each real server's echo socket is bound to the VIP itself: an unconnected
socket on 0.0.0.0 would answer from the address of its outgoing interface,
and the client would drop the reply (in DR the reply must come from the VIP).
"""
import collections
import os

import pytest

from conftest import HERE, PY, require_environment, stop_ulvsd
from rsutil import require_rs, rs, start_director, ulvsd_log
from test_dr import CLIENT, RS, VIP, build

PORT = 7
N = 8

CONF = f"""! DR mode, round robin, UDP echo
global_defs {{
    router_id ulvs_test_dr_udp
}}
virtual_server {VIP} {PORT} {{
    lb_algo rr
    lb_kind DR
    protocol UDP
    real_server {RS['rs1']} {PORT} {{
        weight 1
    }}
    real_server {RS['rs2']} {PORT} {{
        weight 1
    }}
}}
"""


def bound(t, name):
    out = t.run(name, "ss", "-Hunl", f"sport = :{PORT}", check=False).stdout
    return f"{VIP}:{PORT}" in out


@pytest.fixture(scope="module")
def dru():
    require_environment()
    require_rs()
    t = build(f"ulvsdru{os.getpid() % 100000}")
    try:
        for name in RS:
            rs(t, name, "dr", "start", "--vip", VIP)
            t.spawn(name, PY, str(HERE / "udp_echo.py"), VIP, str(PORT), name)
        for _ in range(50):
            if all(bound(t, name) for name in RS):
                break
            t.run("client", "sleep", "0.1")
        else:
            pytest.fail("UDP echo servers not listening after 5 s")
        t.ulvsd, _ = start_director(t, CONF)
        yield t
    finally:
        for name in RS:
            rs(t, name, "dr", "stop", check=False)
        t.close()


def test_udp_echo_dr(dru):
    # Each datagram from a fresh socket: a new connection for ulvsd each time.
    prog = f"""
import socket
for i in range({N}):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(b"ping%d" % i, ("{VIP}", {PORT}))
    data, peer = s.recvfrom(4096)
    print(data.decode(), peer[0], peer[1])
"""
    r = dru.run("client", PY, "-c", prog, timeout=30, check=False)
    assert r.returncode == 0, r.stderr + ulvsd_log(dru)
    lines = r.stdout.splitlines()
    assert len(lines) == N, lines
    servers = collections.Counter()
    for i, line in enumerate(lines):
        name, payload, _, seen, src, sport = line.split()
        assert payload == f"ping{i}"
        assert seen == CLIENT                # the real server saw the client itself
        assert (src, sport) == (VIP, str(PORT))  # straight from the real server, as the VIP
        servers[name] += 1
    assert dict(servers) == {"rs1": N // 2, "rs2": N // 2}, lines
    # Only the director answered ARP for the VIP (arp_ignore on the servers).
    neigh = dru.run("router", "ip", "neigh", "show", VIP).stdout
    dmac = dru.run("dir", "cat", "/sys/class/net/d0/address").stdout.strip()
    assert dmac in neigh, neigh


def test_clean_stop(dru):
    assert stop_ulvsd(dru.ulvsd) == 0, ulvsd_log(dru)
