"""FULLNAT end to end: ulvsd rewrites both addresses (client -> local address
10.98.2.200, VIP -> real server) and puts the client in a TOA option; the real
servers run nginx inside a cgroup where `ulvs-rs toa start` attached its BPF
hooks, so nginx's $remote_addr is the client although every packet it sees
comes from the director's local address.

       client                 director (ulvsd)                  LAN (br0, ns "sw")
  +-------------+      +-------------------------+       +---------------------------+
  | c0          |------| d0 10.98.1.1/24         |       |                           |
  | 10.98.1.2   | veth |    VIP 10.98.1.100      |       +-- eth0 rs1 10.98.2.11     |
  +-------------+      | d1 10.98.2.1/24         |-------+-- eth0 rs2 10.98.2.12     |
                       |    LIP 10.98.2.200/32   | veth  |   (no route to 10.98.1.0) |
                       +-------------------------+       +---------------------------+

  rs1/rs2's nginx: cgroup /sys/fs/cgroup/unified/<tag>, which `ulvs-rs toa start
  --cgroup` hooks (sockops + cgroup/getpeername4/6; links pinned in bpffs).
  The real servers have no route back to the client: FULLNAT does not need one.
"""
import hashlib
import os

import pytest

from conftest import Topology, require_environment, sh, stop_ulvsd
from rsutil import (BIG_SIZE, ULVS_RS, assert_ratio, bridge, curl_many, download,
                    make_cgroup, peers_logged, plug, remove_cgroup, require_rs,
                    start_director, ulvsd_log, web_servers)

CLIENT = "10.98.1.2"
VIP = "10.98.1.100"
LIP = "10.98.2.200"
RS = {"rs1": "10.98.2.11", "rs2": "10.98.2.12"}
WEIGHTS = {"rs1": 2, "rs2": 1}

CONF = f"""! FULLNAT (DPVS syntax), weighted round robin 2:1, TCP 80, one local address
global_defs {{
    router_id ulvs_test_fnat
}}
local_address_group laddr_g1 {{
    {LIP} d1
}}
virtual_server {VIP} 80 {{
    lb_algo wrr
    lb_kind FNAT
    protocol TCP
    laddr_group_name laddr_g1
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
        for n in ("client", "dir", "sw", "rs1", "rs2"):
            t.add_ns(n)
        bridge(t, "sw")
        t.veth("client", "c0", "dir", "d0")
        plug(t, "dir", "d1", "sw", "sd")
        t.addr("client", "c0", f"{CLIENT}/24")
        t.addr("dir", "d0", "10.98.1.1/24")
        t.addr("dir", "d0", f"{VIP}/32")
        t.addr("dir", "d1", "10.98.2.1/24")
        t.addr("dir", "d1", f"{LIP}/32")
        for i, (name, ip) in enumerate(RS.items(), 1):
            plug(t, name, "eth0", "sw", f"s{i}")
            t.addr(name, "eth0", f"{ip}/24")
    except BaseException:
        t.close()
        raise
    return t


def toa(*args, check=True):
    """ulvs-rs toa ... in the host's namespaces: cgroup hooks are not per
    network namespace, and `ip netns exec` hides /sys/fs/cgroup and bpffs."""
    r = sh(ULVS_RS, "toa", *args, timeout=20, check=False)
    if check and r.returncode != 0:
        pytest.fail(f"ulvs-rs toa {' '.join(args)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


@pytest.fixture(scope="module")
def fnat():
    require_environment()
    require_rs()
    tag = f"ulvsrsf{os.getpid() % 100000}"
    cgroup = make_cgroup(tag)
    t = build(tag)
    try:
        t.cgroup = cgroup
        r = toa("start", "--cgroup", cgroup, check=False)
        if r.returncode == 4:
            pytest.skip(f"kernel feature missing for the TOA hooks: {r.stderr.strip()}")
        assert r.returncode == 0, r.stderr
        t.www, t.big_md5 = web_servers(t, RS, cgroup=cgroup)
        t.ulvsd, _ = start_director(t, CONF)
        yield t
    finally:
        toa("stop", "--cgroup", cgroup, check=False)
        t.close()
        remove_cgroup(cgroup)


def toa_counter(name):
    st = sh(ULVS_RS, "status").stdout
    for line in st.splitlines():
        if line.strip().startswith(name):
            return int(line.split()[1])
    return 0


def test_wrr_ratio(fnat):
    answers = curl_many(fnat, f"http://{VIP}/", 24)
    assert_ratio(answers, WEIGHTS)


def test_real_servers_see_client_via_toa(fnat):
    found = toa_counter("found_ipv4")
    curl_many(fnat, f"http://{VIP}/", 6)
    for name, d in fnat.www.items():
        peers = peers_logged(d)
        assert peers, f"{name} logged nothing"
        assert set(peers) == {CLIENT}, f"{name} saw {sorted(set(peers))}"
    assert toa_counter("found_ipv4") >= found + 6


def test_without_toa_the_local_address_shows(fnat):
    # The control: the same traffic without the hooks shows the director's
    # local address, so it is the TOA read-out that made the difference.
    toa("stop", "--cgroup", fnat.cgroup)
    try:
        before = {n: len(peers_logged(d)) for n, d in fnat.www.items()}
        curl_many(fnat, f"http://{VIP}/", 3)
        new = [p for n, d in fnat.www.items() for p in peers_logged(d)[before[n]:]]
        assert new and set(new) == {LIP}, new
    finally:
        toa("start", "--cgroup", fnat.cgroup)


def test_long_download(fnat):
    body = download(fnat, f"http://{VIP}/big")
    assert len(body) == BIG_SIZE
    assert hashlib.md5(body).hexdigest() == fnat.big_md5


def test_status_and_clean_stop(fnat):
    st = sh(ULVS_RS, "status").stdout
    assert f"toa: attached to cgroup {fnat.cgroup}" in st, st
    assert stop_ulvsd(fnat.ulvsd) == 0, ulvsd_log(fnat)
    toa("stop", "--cgroup", fnat.cgroup)
    assert f"cgroup {fnat.cgroup}" not in sh(ULVS_RS, "status").stdout
    # Nothing of ours remains attached to the cgroup.
    r = toa("stop", "--cgroup", fnat.cgroup)
    assert "nothing to stop" in r.stderr
