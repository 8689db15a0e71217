"""Connection sync keeps connections alive across a director failover (NAT).

                         front (br1 in ns "sw")
   client 10.98.1.2 ──────────┬───────────────────┐
                              │                   │
                      dirA d0 10.98.1.11   dirB d0 10.98.1.12
                      (master ulvsd)       (backup ulvsd)
                      d1 10.98.2.2         d1 10.98.2.3
                              │  sync: 224.0.0.81:8848 on d1  │
                         back (br2 in ns "sw") ───────────────┘
                              │
                        rs1 10.98.2.11 (TCP echo :9000), default via 10.98.2.1

The floating addresses - VIP 10.98.1.100 on d0 and the real server's gateway
10.98.2.1 on d1 - start on dirA.  The test moves them by hand: kill -9 the
master, delete them in its namespace, add them on dirB, flush the client's
and the real server's neighbour caches.  The vrrp_instance is live: it sets
the sync roles, and a VRRP backup forwards nothing for the VIP until it is
master (the engine's standby state), so it runs v3 at 0.1 s adverts and dirB
becomes master ~0.4 s after the kill (Master_Down_Interval), about when the
hand move lands; the move keeps the address timing the test's own.  Between the kill and the move
the stream keeps sending to the dead master, whose XDP program outlives it:
those segments must be dropped there, not answered by its kernel with a RST.
Connections opened before the backup started reach it by the resync it asks
for; the others by sync events.  After the takeover every connection must
carry on: the stream keeps echoing, the idle ones answer, nothing is reset.
"""
import json
import os
import signal
import time

import pytest

from conftest import HERE, PY, ULVSD, Topology, require_environment, sh

VIP = "10.98.1.100"
GW = "10.98.2.1"
CLIENT = "10.98.1.2"
RS1 = "10.98.2.11"
PORT = 9000
DIRS = {"dira": ("10.98.1.11", "10.98.2.2"), "dirb": ("10.98.1.12", "10.98.2.3")}


def conf(state, prio, sock):
    return f"""! connection sync test director ({state})
ulvs_defs {{
    control_socket {sock}
}}
global_defs {{
    router_id ulvs_sync_{state.lower()}
    lvs_sync_daemon d1 VI_SYNC id 5
}}
vrrp_instance VI_SYNC {{
    state {state}
    interface d1
    virtual_router_id 98
    priority {prio}
    version 3
    advert_int 0.1
    virtual_ipaddress {{
        {VIP}/32 dev d0
        {GW}/24 dev d1
    }}
}}
virtual_server {VIP} {PORT} {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {RS1} {PORT} {{
        weight 1
    }}
}}
"""


def build(tag):
    t = Topology(tag)
    try:
        for n in ("client", "dira", "dirb", "sw", "rs1"):
            t.add_ns(n)
        for br in ("br1", "br2"):
            t.run("sw", "ip", "link", "add", br, "type", "bridge")
            t.run("sw", "ip", "link", "set", br, "up")

        def port(ns, ifname, swname, br):
            t.veth(ns, ifname, "sw", swname)
            t.run("sw", "ip", "link", "set", swname, "master", br, "up")

        port("client", "c0", "sc", "br1")
        t.addr("client", "c0", f"{CLIENT}/24")
        for d, (front, back) in DIRS.items():
            port(d, "d0", f"s{d[-1]}0", "br1")
            port(d, "d1", f"s{d[-1]}1", "br2")
            t.addr(d, "d0", f"{front}/24")
            t.addr(d, "d1", f"{back}/24")
            t.run(d, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        port("rs1", "eth0", "sr1", "br2")
        t.addr("rs1", "eth0", f"{RS1}/24")
        t.run("rs1", "ip", "route", "add", "default", "via", GW)
    except BaseException:
        t.close()
        raise
    return t


def start(t, name, text):
    cf = t.tmp / f"{name}.conf"
    cf.write_text(text)
    log = t.tmp / f"{name}.log"
    p = t.spawn(name, os.environ.get("ULVSD", ULVSD), "-f", str(cf), "-l", log=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None:
            pytest.fail(f"{name}: ulvsd exited with {p.returncode}:\n{log.read_text()}")
        text = log.read_text()
        if "sync: role" in text and "data plane: backend" in text:
            return p, log
        time.sleep(0.05)
    pytest.fail(f"{name}: ulvsd not ready after 5 s:\n{log.read_text()}")


def wait_for(path, limit, what, logs):
    deadline = time.monotonic() + limit
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n" +
                        "\n".join(f"--- {l.name}\n{l.read_text()}" for l in logs if l.exists()))
        time.sleep(0.05)


def takeover(t):
    """Move the floating addresses from dira to dirb by hand."""
    t.run("dira", "ip", "addr", "del", f"{VIP}/32", "dev", "d0", check=False)
    t.run("dira", "ip", "addr", "del", f"{GW}/24", "dev", "d1", check=False)
    t.run("dirb", "ip", "addr", "replace", f"{VIP}/32", "dev", "d0")
    t.run("dirb", "ip", "addr", "replace", f"{GW}/24", "dev", "d1")
    # What a gratuitous ARP would do: forget the old owner's MAC.
    t.run("client", "ip", "neigh", "flush", "dev", "c0")
    t.run("rs1", "ip", "neigh", "flush", "dev", "eth0")


@pytest.fixture
def topo():
    require_environment()
    t = build(f"usy{os.getpid() % 100000}")
    yield t
    t.close()


def test_nat_connections_survive_failover(topo):
    t = topo
    t.spawn("rs1", PY, str(HERE / "sync_peer.py"), "server", RS1, str(PORT))
    t.run("dira", "ip", "addr", "add", f"{VIP}/32", "dev", "d0")
    t.run("dira", "ip", "addr", "add", f"{GW}/24", "dev", "d1")
    ma, la = start(t, "dira", conf("MASTER", 150, t.tmp / "dira.sock"))
    logs = [la]
    d = t.tmp / "client"
    d.mkdir()
    time.sleep(0.3)
    t.spawn("client", PY, str(HERE / "sync_peer.py"), "client", VIP, str(PORT), str(d),
            log=t.tmp / "client.log")
    logs.append(t.tmp / "client.log")
    wait_for(d / "early_ready", 10, "the early connections", logs)

    # The backup starts late: the early connections only reach it by resync.
    mb, lb = start(t, "dirb", conf("BACKUP", 100, t.tmp / "dirb.sock"))
    logs.append(lb)
    # Its kernel (hence its fib) learns the client's and the real server's MACs.
    t.run("dirb", "ping", "-c1", "-W1", CLIENT, check=False)
    t.run("dirb", "ping", "-c1", "-W1", RS1, check=False)
    (d / "go").touch()
    wait_for(d / "late_ready", 10, "the stream and late connections", logs)
    time.sleep(1.5)  # the stream runs; sync has flushed everything (flush 20 ms)
    assert "resync requested by a backup" in la.read_text(), la.read_text()
    assert "master answered the resync request" in lb.read_text(), lb.read_text()

    ma.send_signal(signal.SIGKILL)
    ma.wait(timeout=5)
    # A few stream segments reach the dead master before the move, as they
    # would during a real VRRP takeover.
    time.sleep(0.3)
    takeover(t)
    (d / "failover").touch()
    time.sleep(3)
    (d / "check").touch()
    time.sleep(2)
    (d / "stop").touch()
    wait_for(d / "result.json", 40, "the client's result", logs)
    res = json.loads((d / "result.json").read_text())
    detail = json.dumps(res) + "\n" + "\n".join(f"--- {l.name}\n{l.read_text()}" for l in logs)
    assert res["errors"] == [], detail
    assert res["idle_ok"] == 5, detail
    # The stream kept flowing after the takeover, through dirb.
    assert res["lines_after_failover"] >= 20, detail
    assert res["max_gap"] < 10, detail
    assert mb.poll() is None, detail
    mb.send_signal(signal.SIGTERM)
    mb.wait(timeout=5)
