"""NAT mode end to end: client -> VIP -> ulvsd -> nginx / UDP echo on two real servers.

Topology: conftest.py (client 10.99.1.2, VIP 10.99.1.100 on the director, real servers
10.99.2.11 and .12 routing back through the director).  The director runs ulvsd from
the keepalived.conf below; the tests check what a client and the real servers see.
"""
import hashlib
import os
import signal
import subprocess

import pytest

from conftest import CLIENT, HERE, PY, RS, VIP, start_ulvsd, stop_ulvsd

CONF = f"""! NAT mode, round robin, TCP 80 and UDP 7 over two real servers
global_defs {{
    router_id ulvs_test_nat
}}
virtual_server {VIP} 80 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {RS['rs1']} 80 {{
        weight 1
    }}
    real_server {RS['rs2']} 80 {{
        weight 1
    }}
}}
virtual_server {VIP} 7 {{
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server {RS['rs1']} 7 {{
        weight 1
    }}
    real_server {RS['rs2']} 7 {{
        weight 1
    }}
}}
"""

BIG_SIZE = 3 * 1000 * 1000


@pytest.fixture(scope="module")
def nat(nat_topology):
    t = nat_topology
    t.www = {}
    big = os.urandom(BIG_SIZE)
    for name, ip in RS.items():
        d = t.nginx(name, f"{ip}:80", name)
        (d / "www" / "big").write_bytes(big)
        t.www[name] = d
        t.spawn(name, PY, str(HERE / "udp_echo.py"), ip, "7", name)
    t.big_md5 = hashlib.md5(big).hexdigest()
    t.ulvsd, t.ulvsd_log = start_ulvsd(t, CONF)
    return t


def curl(t, path="/", timeout=3):
    r = t.run("client", "curl", "-s", "-m", str(timeout), f"http://{VIP}{path}",
              timeout=timeout + 2, check=False)
    assert r.returncode == 0, f"curl {path}: exit {r.returncode}\n{r.stderr}"
    return r.stdout


def test_http_round_robin(nat):
    answers = [curl(nat).strip() for _ in range(20)]
    assert set(answers) == {"rs1", "rs2"}, answers
    # rr over two servers with one new connection per request: strict alternation.
    assert all(a != b for a, b in zip(answers, answers[1:])), answers


def test_real_servers_see_client_address(nat):
    curl(nat)
    curl(nat)
    for name, d in nat.www.items():
        lines = (d / "access.log").read_text().splitlines()
        assert lines, f"{name} logged no request"
        assert {line.split()[0] for line in lines} == {CLIENT}, lines[-3:]


def test_udp_echo(nat):
    # Six datagrams, each from a fresh socket (a new connection for ulvsd).
    prog = f"""
import socket
for i in range(6):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(b"ping%d" % i, ("{VIP}", 7))
    data, peer = s.recvfrom(4096)
    print(data.decode(), peer[0], peer[1])
"""
    r = nat.run("client", PY, "-c", prog, timeout=20, check=False)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 6
    servers = []
    for i, line in enumerate(lines):
        name, payload, _, seen, src, sport = line.split()
        assert payload == f"ping{i}"
        assert seen == CLIENT            # the real server saw the client itself
        assert (src, sport) == (VIP, "7")  # and the reply came back from the VIP
        servers.append(name)
    assert set(servers) == {"rs1", "rs2"}, servers


def test_large_download(nat):
    # Several MB: the real server's TCP sends GSO super-frames, which the AF_PACKET
    # backend must cut into wire-sized segments with correct checksums.
    r = subprocess.run(["ip", "netns", "exec", nat.ns("client"), "curl", "-s", "-m", "10",
                        f"http://{VIP}/big"], capture_output=True, timeout=15)
    assert r.returncode == 0
    assert len(r.stdout) == BIG_SIZE
    assert hashlib.md5(r.stdout).hexdigest() == nat.big_md5


def test_crash_then_restart_then_clean_stop(nat):
    # A crash leaves the nftables table behind; the next start replaces it.
    nat.ulvsd.send_signal(signal.SIGKILL)
    nat.ulvsd.wait(timeout=5)
    assert nat.run("dir", "nft", "list", "table", "inet", "ulvs", check=False).returncode == 0
    nat.ulvsd, nat.ulvsd_log = start_ulvsd(nat, CONF)
    assert curl(nat).strip() in ("rs1", "rs2")
    tables = nat.run("dir", "nft", "list", "tables").stdout
    assert tables.count("inet ulvs") == 1
    # SIGTERM: exit 0 and nothing left in the kernel.
    assert stop_ulvsd(nat.ulvsd) == 0
    assert "inet ulvs" not in nat.run("dir", "nft", "list", "tables").stdout
