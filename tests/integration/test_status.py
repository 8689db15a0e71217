"""ulvsadm --status, the sync daemon commands and -c filters against a live ulvsd.

      client            director (ulvsd: checkers, VRRP VI_S on d1)     sw            rs1 10.99.2.11 nginx
   10.99.1.2 ---- d0 VIP 10.99.1.100    d1 10.99.2.1 ------------------ br0 ---------- rs2 10.99.2.12 nginx

The conftest NAT topology.  One service VIP:80 (rr, NAT) over rs1 and rs2, each
with a TCP_CHECK (delay_loop 1, connect_timeout 1, retry 0), and one VRRP
instance alone on d1 (so it becomes MASTER after 3 adverts + skew).  The tests:
  - --status (text and --json) names the data plane backend, the VRRP instance
    and its state, and every checker UP; after nginx on rs1 is stopped, rs1's
    checker is DOWN with its failure reason, and the structured log has
    the real server's state change logged once with that reason;
  - --start-daemon / --stop-daemon round trip through -L --daemon (ipvsadm's
    line), with EEXIST / ESRCH words for repeats, and the sync section of
    --status while it runs;
  - -L -c -t VIP:80 lists only that service's connections (ulvs extension;
    ipvsadm refuses -c with a service), and an unknown service is refused.
"""
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from conftest import (CLIENT, RS, ULVSD, VIP, build_nat_topology, require_environment,
                      start_ulvsd, stop_ulvsd)

ULVSADM = os.environ.get("ULVSADM", str(Path(ULVSD).resolve().parent.parent / "cli" / "ulvsadm"))
VRRP_VIP = "10.99.2.100"

CONF = f"""global_defs {{
    router_id ulvs_test_status
}}
vrrp_instance VI_S {{
    state BACKUP
    interface d1
    virtual_router_id 77
    priority 120
    advert_int 1
    virtual_ipaddress {{
        {VRRP_VIP}/32 dev d1
    }}
}}
virtual_server {VIP} 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {RS['rs1']} 80 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
    real_server {RS['rs2']} 80 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
}}
virtual_server {VIP} 81 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {RS['rs2']} 80 {{
    }}
}}
"""


@pytest.fixture(scope="module")
def topo():
    require_environment()
    if not os.access(ULVSADM, os.X_OK):
        pytest.fail(f"{ULVSADM} not built")
    t = build_nat_topology(f"ulvss{os.getpid() % 100000}")
    try:
        t.nginx("rs1", f"{RS['rs1']}:80", "rs1")
        t.nginx("rs2", f"{RS['rs2']}:80", "rs2")
        p, log = start_ulvsd(t, CONF)
        t.ulvsd, t.log = p, log
        yield t
        assert stop_ulvsd(p) == 0
    finally:
        t.close()


def adm(t, *args, check=True):
    return t.run("dir", ULVSADM, *args, check=check)


def status(t):
    return json.loads(adm(t, "--status", "--json").stdout)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def checker(st, rs):
    for c in st["checkers"]:
        if c["rs"].startswith(rs):
            return c
    return None


def test_status_shows_backend_vrrp_and_checkers(topo):
    st = status(topo)
    assert st["dataplane"][0]["backend"] == "afpacket"
    assert st["dataplane"][0]["backend_requested"] == "afpacket"
    assert st["dataplane"][0]["modes"] == "Masq"   # ipvsadm's word for NAT
    assert st["ulvsd"][0]["services"] == 2
    assert {d["reason"] for d in st["drops"]} >= {"no_dest", "not_syn"}
    vi = st["vrrp"][0]
    assert vi["name"] == "VI_S" and vi["vrid"] == 77 and vi["priority"] == 120
    assert vi["state"] in ("BACKUP", "MASTER")
    # alone on the link: master after 3 * advert_int + skew
    st = wait_for(lambda: (lambda s: s if s["vrrp"][0]["state"] == "MASTER" else None)(status(topo)),
                  6, "VI_S to become MASTER")
    assert st["vrrp"][0]["master"] == "10.99.2.1"
    assert st["vrrp"][0]["adverts_tx"] >= 1
    # both checkers up once they ran
    st = wait_for(lambda: (lambda s: s if all(c["state"] == "UP" and c["runs"] >= 1
                                              for c in s["checkers"]) else None)(status(topo)),
                  5, "both checkers to run and pass")
    assert len(st["checkers"]) == 2
    assert st["sync"] == []
    text = adm(topo, "--status").stdout
    assert "backend=afpacket" in text
    assert re.search(r"name=VI_S .*state=MASTER", text)
    assert re.search(rf"rs={re.escape(RS['rs1'])}\S* .*state=UP", text)


def test_failed_checker_shows_reason_and_is_logged_once(topo):
    # nginx on rs1 stops: its TCP_CHECK fails with "connection refused"
    pidfile = topo.tmp / "rs1" / "nginx.pid"
    os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    st = wait_for(lambda: (lambda s: s if checker(s, RS["rs1"])["state"] == "DOWN" else None)(
        status(topo)), 6, "rs1's checker to go DOWN")
    c = checker(st, RS["rs1"])
    assert c["last"] != "NONE"
    assert re.search(r"refused", c["reason"], re.I), c
    assert c["fails"] >= 1
    rs = [r for r in st["realservers"] if r["rs"].startswith(RS["rs1"])]
    assert rs and rs[0]["state"] == "DOWN" and rs[0]["in_pool"] == "no"
    assert checker(st, RS["rs2"])["state"] == "UP"
    text = adm(topo, "--status").stdout
    assert re.search(rf"rs={re.escape(RS['rs1'])}\S* .*state=DOWN .*reason=\"[^\"]*refused", text,
                     re.I), text
    # the real server's state change is logged, once, with its reason
    time.sleep(1.5)   # more failing runs: no more lines about the same change
    log = topo.log.read_text(errors="replace").splitlines()
    lines = [l for l in log if f"real server {RS['rs1']}" in l and ": DOWN" in l]
    assert len(lines) == 1, lines
    assert re.search(r"refused", lines[0], re.I), lines[0]
    lines = [l for l in log if RS["rs1"] in l and "DOWN after" in l]
    assert len(lines) == 1, lines
    # ...and so is the VRRP instance's, with the event that caused it
    lines = [l for l in log if "(VI_S) Entering MASTER STATE" in l]
    assert len(lines) == 1, lines
    assert "no advert within Master_Down_Interval" in lines[0], lines[0]


def test_sync_daemon_round_trip(topo):
    assert adm(topo, "-L", "--daemon").stdout == ""
    adm(topo, "--start-daemon", "master", "--mcast-interface", "d1", "--syncid", "9",
        "--mcast-port", "8850", "--mcast-ttl", "2")
    out = adm(topo, "-L", "--daemon").stdout
    assert re.fullmatch(r"master sync daemon \(mcast=d1, syncid=9, maxlen=\d+, "
                        r"group=224\.0\.0\.81, port=8850, ttl=2\)\n", out), out
    d = json.loads(adm(topo, "-L", "--daemon", "--json").stdout)
    assert d[0]["state"] == "master" and d[0]["syncid"] == 9 and d[0]["port"] == 8850
    st = status(topo)
    assert st["sync"][0]["role"] == "master" and st["sync"][0]["interface"] == "d1"
    assert st["sync"][0]["lag_ms"] == -1
    # IPVS's answers to repeats, ipvsadm's words and exit status
    r = adm(topo, "--start-daemon", "master", "--mcast-interface", "d1", check=False)
    assert r.returncode == 255 and "Daemon has already run" in r.stderr
    r = adm(topo, "--start-daemon", "backup", "--mcast-interface", "d1", check=False)
    assert r.returncode == 255 and "one at a time" in r.stderr
    r = adm(topo, "--stop-daemon", "backup", check=False)
    assert r.returncode == 255 and "No daemon is running" in r.stderr
    adm(topo, "--stop-daemon", "master")
    assert adm(topo, "-L", "--daemon").stdout == ""
    assert status(topo)["sync"] == []
    # a backup, with a group of our choosing
    adm(topo, "--start-daemon", "backup", "--mcast-interface", "d1", "--mcast-group", "239.9.9.9")
    out = adm(topo, "-L", "--daemon").stdout
    assert out.startswith("backup sync daemon (mcast=d1, syncid=0, ") and "group=239.9.9.9" in out
    adm(topo, "--stop-daemon", "backup")
    assert adm(topo, "-L", "--daemon").stdout == ""
    r = adm(topo, "--start-daemon", "master", "--mcast-interface", "nosuchif0", check=False)
    assert r.returncode == 255 and "No such device" in r.stderr
    log = topo.log.read_text(errors="replace")
    assert log.count("starting the master sync daemon on d1") == 1
    assert log.count("stopping the master sync daemon") == 1


def test_connections_of_one_service(topo):
    # two connections to VIP:80 (rs2 only now) and one to VIP:81
    for port in (80, 80, 81):
        topo.run("client", "curl", "-s", "-o", "/dev/null", "--max-time", "3",
                 f"http://{VIP}:{port}/")
    def conns(*filt):
        return [l for l in adm(topo, "-L", "-c", "-n", *filt).stdout.splitlines()[2:] if l]
    every = conns()
    assert len(every) >= 3
    only80 = conns("-t", f"{VIP}:80")
    only81 = conns("-t", f"{VIP}:81")
    assert len(only80) >= 2 and len(only81) >= 1
    assert all(f"{VIP}:80 " in l for l in only80), only80
    assert all(f"{VIP}:81 " in l for l in only81), only81
    assert len(only80) + len(only81) == len(every)
    j = json.loads(adm(topo, "-L", "-c", "-t", f"{VIP}:81", "--json").stdout)
    assert len(j["connections"]) == len(only81)
    r = adm(topo, "-L", "-c", "-t", f"{VIP}:82", check=False)
    assert r.returncode == 255 and "No such service" in r.stderr
    r = adm(topo, "-L", "-t", f"{VIP}:80", "--timeout", check=False)
    assert r.returncode == 2 and "conflicts" in r.stderr
