"""Firewall-mark service end to end: the seed's FWM example, one virtual service
for TCP ports 80 and 443 of the VIP, in DR mode (as the seed runs it) and in
NAT mode.  The seed marks with iptables; ulvs sees packets before netfilter,
so the mark comes from ulvs's own `fwmark_rule 50 { protocol TCP destination
VIP/32 port 80,443 }` (ulvs.conf(5)).

DR (addresses 10.97.x; `ulvs-rs dr start` on the real servers):

       client               router                    LAN (bridge br0 in ns "sw")
  +-------------+     +----------------+      +-----------------------------------+
  | c0          |-----| r0 10.97.1.1   |      |                                   |
  | 10.97.1.2   |veth | r1 10.97.2.1   |------+-- d0  director (ulvsd)            |
  | gw .1.1     |     | ip_forward=1   | veth |       10.97.2.2, VIP 10.97.2.100  |
  +-------------+     +----------------+      +-- eth0 rs1 10.97.2.11  VIP on lo  |
                                              +-- eth0 rs2 10.97.2.12  VIP on lo  |
                                              +-----------------------------------+

NAT: the standard topology of conftest.py (client 10.99.1.2, VIP 10.99.1.100 on
the director's d0, real servers 10.99.2.11/.12 behind d1 routing back through it).

On every real server one nginx listens on 80 and on 443 (plain HTTP on both;
also 8080, which no rule marks and ulvs must leave alone)
and answers "NAME PORT" (its $server_port), so each answer says which server
took the connection and on which port it arrived: a fwmark service keeps the
client's destination port (DR by nature; NAT because the real servers are
declared without a port, which IPVS and ulvs read as "keep the client's").
"""
import collections
import os

import pytest

from conftest import (CLIENT as NAT_CLIENT, RS as NAT_RS, VIP as NAT_VIP,
                      build_nat_topology, require_environment, stop_ulvsd)
from rsutil import build_dr_lan, curl_many, require_rs, rs, start_director, ulvsd_log

CLIENT = "10.97.1.2"
VIP = "10.97.2.100"
DIRECTOR = "10.97.2.2"
RS = {"rs1": "10.97.2.11", "rs2": "10.97.2.12"}
MARK = 50
ROUNDS = 10          # requests per port: rr over two servers, so 5 each


def conf(vip, servers, kind, rs_port):
    """The seed's fwmark service (its HTTP_GET checkers left out: checkers are
    test_seed001.py's business) with the iptables mark made a fwmark_rule."""
    port = f" {rs_port}" if rs_port else ""
    reals = "".join(f"""    real_server {ip}{port} {{
        weight 1
    }}
""" for ip in servers.values())
    return f"""! seed 001 FWM example, {kind}
global_defs {{
    router_id ulvs_test_fwmark_{kind.lower()}
}}
fwmark_rule {MARK} {{
    protocol TCP
    destination {vip}/32
    port 80,443
}}
virtual_server fwmark {MARK} {{
    lb_algo rr
    lb_kind {kind}
{reals}}}
"""


def nginx_two_ports(t, name, listen_addr=""):
    """nginx in namespace name on 80, 443 and 8080 answering "NAME $server_port"
    (8080 so that a wrongly forwarded unmarked port would be answered)."""
    d = t.tmp / name
    d.mkdir(parents=True)
    (d / "body").mkdir()
    pre = f"{listen_addr}:" if listen_addr else ""
    (d / "nginx.conf").write_text(f"""user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format peer '$remote_addr $server_port "$request" $status';
    access_log {d}/access.log peer;
    client_body_temp_path {d}/body;
    server {{
        listen {pre}80;
        listen {pre}443;
        listen {pre}8080;
        location / {{ return 200 "{name} $server_port\\n"; }}
    }}
}}
""")
    t.pidfiles.append(d / "nginx.pid")
    t.run(name, "nginx", "-c", str(d / "nginx.conf"))
    return d


def check_both_ports(t, vip, names, client_ip):
    """ROUNDS requests to vip:80, then ROUNDS to vip:443: every answer comes
    from the port asked for, rr splits each batch evenly over both servers,
    and the servers logged the client's own address."""
    for port in (80, 443):
        answers = curl_many(t, f"http://{vip}:{port}/", ROUNDS)
        seen = collections.Counter()
        for a in answers:
            name, got_port = a.split()
            assert got_port == str(port), f"asked :{port}, {name} answered on :{got_port}"
            seen[name] += 1
        assert dict(seen) == {n: ROUNDS // len(names) for n in names}, (port, answers)
    for name in names:
        lines = (t.tmp / name / "access.log").read_text().splitlines()
        assert lines, f"{name} logged nothing"
        assert {ln.split()[0] for ln in lines} == {client_ip}, lines[-3:]
        assert {ln.split()[1] for ln in lines} == {"80", "443"}, lines[-4:]


def not_marked_port_is_not_served(t, vip):
    """Port 8080 of the VIP matches no fwmark_rule: ulvs must not serve it."""
    r = t.run("client", "curl", "-s", "-m", "2", f"http://{vip}:8080/", timeout=5, check=False)
    assert r.returncode != 0 and not r.stdout.strip(), r.stdout


# --- DR --------------------------------------------------------------------

def build_dr(tag):
    return build_dr_lan(tag, "10.97", CLIENT, DIRECTOR, VIP, RS)


@pytest.fixture(scope="module")
def dr():
    require_environment()
    require_rs()
    t = build_dr(f"ulvsfwd{os.getpid() % 100000}")
    try:
        for name in RS:
            rs(t, name, "dr", "start", "--vip", VIP)
            # wildcard: DR delivers to the VIP on lo
            nginx_two_ports(t, name)
        # The seed writes the real servers with port 80; on a DR fwmark
        # service that port is ignored (with a warning) and 443 stays 443.
        t.ulvsd, _ = start_director(t, conf(VIP, RS, "DR", 80))
        yield t
    finally:
        for name in RS:
            rs(t, name, "dr", "stop", check=False)
        t.close()


def test_dr_fwmark_80_and_443(dr):
    check_both_ports(dr, VIP, list(RS), CLIENT)
    assert "ignored by DR on a fwmark service" in ulvsd_log(dr), ulvsd_log(dr)


def test_dr_unmarked_port_not_served(dr):
    not_marked_port_is_not_served(dr, VIP)


def test_dr_clean_stop(dr):
    assert stop_ulvsd(dr.ulvsd) == 0, ulvsd_log(dr)


# --- NAT -------------------------------------------------------------------

@pytest.fixture(scope="module")
def nat():
    require_environment()
    t = build_nat_topology(f"ulvsfwn{os.getpid() % 100000}")
    try:
        for name, ip in NAT_RS.items():
            nginx_two_ports(t, name, ip)
        t.ulvsd, _ = start_director(t, conf(NAT_VIP, NAT_RS, "NAT", None))
        yield t
    finally:
        t.close()


def test_nat_fwmark_80_and_443(nat):
    check_both_ports(nat, NAT_VIP, list(NAT_RS), NAT_CLIENT)


def test_nat_unmarked_port_not_served(nat):
    not_marked_port_is_not_served(nat, NAT_VIP)


def test_nat_clean_stop(nat):
    assert stop_ulvsd(nat.ulvsd) == 0, ulvsd_log(nat)
    assert "inet ulvs" not in nat.run("dir", "nft", "list", "tables").stdout
