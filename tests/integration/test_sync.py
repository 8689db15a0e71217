"""Connection sync keeps connections alive across a director failover, in
NAT, DR and FULLNAT (one test per forwarding method, same topology skeleton).

                         front (br1 in ns "sw")
   client 10.98.1.2 ──────────┬───────────────────┐
                              │                   │
                      dirA d0 10.98.1.11   dirB d0 10.98.1.12
                      (master ulvsd)       (backup ulvsd)
                      d1 10.98.2.2         d1 10.98.2.3
                              │  sync: 224.0.0.81:8848 on d1  │
                         back (br2 in ns "sw") ───────────────┘
                              │
     NAT:     rs1 10.98.2.11 (TCP echo :9000), default via 10.98.2.1
     FULLNAT: rs1 10.98.2.11, rs2 10.98.2.12 on br2, no route to the client:
              they answer the local address 10.98.2.200
     DR:      rs1 10.98.1.21, rs2 10.98.1.22 on br1 (the front LAN), VIP on lo
              with ARP suppressed (`ulvs-rs dr start`), replying straight to
              the client; only client->server packets cross the director

The floating addresses - VIP 10.98.1.100 on d0, plus in NAT the real
server's gateway 10.98.2.1 and in FULLNAT the local address 10.98.2.200 on
d1 - start on dirA.  The test moves them by hand: kill -9 the master, delete
them in its namespace, add them on dirB, flush the client's and the real
servers' neighbour caches.  The vrrp_instance is live: it sets the sync
roles, and a VRRP backup forwards nothing for the VIP until it is master (the
engine's standby state), so it runs v3 at 0.1 s adverts and dirB becomes
master ~0.4 s after the kill (Master_Down_Interval), about when the hand move
lands; the move keeps the address timing the test's own.  Between the kill
and the move the stream keeps sending to the dead master, whose XDP program
outlives it: those segments must be dropped there, not answered by its kernel
with a RST.  Connections opened before the backup started reach it by the
resync it asks for; the others by sync events.  After the takeover every
connection must carry on: the stream keeps echoing, the idle ones answer,
nothing is reset.

What each method needs from the synced connection: NAT the real server (the
backup does not schedule a mid-stream segment); DR the same, with two real
servers under rr so that a connection the backup did not know, or scheduled
afresh, would land on a server without the socket; FULLNAT also the local
port (sync's FULLNAT parameter), since replies come back to LIP:lport and
must map to the client's connection on the new master.
"""
import collections
import json
import os
import signal
import time

import pytest

from conftest import HERE, PY, ULVSD, Topology, require_environment
from rsutil import require_rs, rs

VIP = "10.98.1.100"
GW = "10.98.2.1"
LIP = "10.98.2.200"
CLIENT = "10.98.1.2"
PORT = 9000
DIRS = {"dira": ("10.98.1.11", "10.98.2.2"), "dirb": ("10.98.1.12", "10.98.2.3")}

# Per forwarding method: the real servers (name -> address), the bridge they
# hang on, the address their echo server binds, and the floating addresses
# (besides the VIP on d0) that follow the master.
MODES = {
    "NAT": {"rs": {"rs1": "10.98.2.11"}, "lan": "br2", "bind": None,
            "float": [(f"{GW}/24", "d1")]},
    "DR": {"rs": {"rs1": "10.98.1.21", "rs2": "10.98.1.22"}, "lan": "br1", "bind": "0.0.0.0",
           "float": []},
    "FNAT": {"rs": {"rs1": "10.98.2.11", "rs2": "10.98.2.12"}, "lan": "br2", "bind": None,
             "float": [(f"{LIP}/32", "d1")]},
}


def floating(mode):
    return [(f"{VIP}/32", "d0")] + MODES[mode]["float"]


def conf(mode, state, prio, sock):
    vips = "\n        ".join(f"{a} dev {dev}" for a, dev in floating(mode))
    reals = "".join(f"""
    real_server {ip} {PORT} {{
        weight 1
    }}""" for ip in MODES[mode]["rs"].values())
    laddr = f"""local_address_group laddr_sync {{
    {LIP} d1
}}
""" if mode == "FNAT" else ""
    lag = "\n    laddr_group_name laddr_sync" if mode == "FNAT" else ""
    return f"""! connection sync test director ({mode}, {state})
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
        {vips}
    }}
}}
{laddr}virtual_server {VIP} {PORT} {{
    lb_algo rr
    lb_kind {mode}
    protocol TCP{lag}{reals}
}}
"""


def build(tag, mode):
    t = Topology(tag)
    try:
        for n in ("client", "dira", "dirb", "sw", *MODES[mode]["rs"]):
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
        for name, ip in MODES[mode]["rs"].items():
            port(name, "eth0", f"s{name}", MODES[mode]["lan"])
            t.addr(name, "eth0", f"{ip}/24")
            if mode == "NAT":
                t.run(name, "ip", "route", "add", "default", "via", GW)
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


def takeover(t, mode):
    """Move the floating addresses from dira to dirb by hand."""
    for a, dev in floating(mode):
        t.run("dira", "ip", "addr", "del", a, "dev", dev, check=False)
    for a, dev in floating(mode):
        t.run("dirb", "ip", "addr", "replace", a, "dev", dev)
    # What a gratuitous ARP would do: forget the old owner's MAC.
    t.run("client", "ip", "neigh", "flush", "dev", "c0")
    for name in MODES[mode]["rs"]:
        t.run(name, "ip", "neigh", "flush", "dev", "eth0")


def accepted(log):
    """Connections the echo server behind log accepted, by client address."""
    if not log.exists():
        return collections.Counter()
    return collections.Counter(line.split()[1].rsplit(":", 1)[0]
                               for line in log.read_text().splitlines()
                               if line.startswith("accepted "))


@pytest.fixture(params=list(MODES))
def topo(request):
    require_environment()
    mode = request.param
    if mode == "DR":
        require_rs()
    t = build(f"usy{mode[0].lower()}{os.getpid() % 100000}", mode)
    t.mode = mode
    try:
        if mode == "DR":
            for name in MODES[mode]["rs"]:
                rs(t, name, "dr", "start", "--vip", VIP)
        yield t
    finally:
        if mode == "DR":
            for name in MODES[mode]["rs"]:
                rs(t, name, "dr", "stop", check=False)
        t.close()


def test_connections_survive_failover(topo):
    t = topo
    mode = t.mode
    reals = MODES[mode]["rs"]
    rlogs = {}
    for name, ip in reals.items():
        rlogs[name] = t.tmp / f"{name}.log"
        t.spawn(name, PY, str(HERE / "sync_peer.py"), "server", MODES[mode]["bind"] or ip,
                str(PORT), log=rlogs[name])
    for a, dev in floating(mode):
        t.run("dira", "ip", "addr", "add", a, "dev", dev)
    ma, la = start(t, "dira", conf(mode, "MASTER", 150, t.tmp / "dira.sock"))
    logs = [la]
    d = t.tmp / "client"
    d.mkdir()
    time.sleep(0.3)
    t.spawn("client", PY, str(HERE / "sync_peer.py"), "client", VIP, str(PORT), str(d),
            log=t.tmp / "client.log")
    logs.append(t.tmp / "client.log")
    wait_for(d / "early_ready", 10, "the early connections", logs)

    # The backup starts late: the early connections only reach it by resync.
    mb, lb = start(t, "dirb", conf(mode, "BACKUP", 100, t.tmp / "dirb.sock"))
    logs.append(lb)
    # Its kernel (hence its fib) learns the client's and the real servers' MACs.
    t.run("dirb", "ping", "-c1", "-W1", CLIENT, check=False)
    for ip in reals.values():
        t.run("dirb", "ping", "-c1", "-W1", ip, check=False)
    (d / "go").touch()
    wait_for(d / "late_ready", 10, "the stream and late connections", logs)
    time.sleep(1.5)  # the stream runs; sync has flushed everything (flush 20 ms)
    assert "resync requested by a backup" in la.read_text(), la.read_text()
    assert "master answered the resync request" in lb.read_text(), lb.read_text()
    before = {name: accepted(log) for name, log in rlogs.items()}
    if len(reals) > 1:
        # rr spread the connections: a backup that scheduled a mid-stream
        # segment itself would send some of them to the wrong server.
        assert all(sum(c.values()) > 0 for c in before.values()), before

    ma.send_signal(signal.SIGKILL)
    ma.wait(timeout=5)
    # A few stream segments reach the dead master before the move, as they
    # would during a real VRRP takeover.
    time.sleep(0.3)
    takeover(t, mode)
    (d / "failover").touch()
    time.sleep(3)
    (d / "check").touch()
    time.sleep(2)
    (d / "stop").touch()
    wait_for(d / "result.json", 40, "the client's result", logs)
    res = json.loads((d / "result.json").read_text())
    logs += list(rlogs.values())
    detail = json.dumps(res) + "\n" + "\n".join(f"--- {l.name}\n{l.read_text()}" for l in logs)
    assert res["errors"] == [], detail
    assert res["idle_ok"] == 5, detail
    # The stream kept flowing after the takeover, through dirb.
    assert res["lines_after_failover"] >= 20, detail
    assert res["max_gap"] < 10, detail
    # Every connection stayed on the real server it started on: none was
    # opened anew, and each server saw whom it should.
    after = {name: accepted(log) for name, log in rlogs.items()}
    assert after == before, detail
    want = LIP if mode == "FNAT" else CLIENT
    assert all(set(c) == {want} for c in after.values()), after
    assert mb.poll() is None, detail
    mb.send_signal(signal.SIGTERM)
    mb.wait(timeout=5)
