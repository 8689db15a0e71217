"""VRRP end to end: ulvs against itself and against a real keepalived 2.2.x.

Three namespaces on one bridge; each router's port on the bridge can be
pulled (set down in the switch namespace) to fail a router the hard way,
with no priority-0 goodbye:

      r1 (ulvs or keepalived)   r2 (ulvs or keepalived)     client
      eth0 10.98.0.1/24         eth0 10.98.0.2/24           eth0 10.98.0.9/24
        |                         |                           |
      p1 ----------------------- br0 (ns "sw") ------------- pc
                VIP 10.98.0.100 (v4), 2001:db8:98::100 (v6)

The client pings the VIP every 50 ms (a small raw-socket pinger); the failover time is
the gap between pulling the master's port and the first reply served by the
new master.  It is printed beside the RFC bound 3 * Advertisement_Interval
+ Skew_Time and must stay within it plus a scheduling/GARP allowance.

ulvs runs as the VRRP-only test driver (vrrp/ulvs-vrrp-test) by default;
ULVS_VRRP=path/to/ulvsd runs the real daemon (VRRP-only configs, its own
control socket per router) instead.
Skips (distinct reasons): not root, keepalived missing, no netns/veth/bridge.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ULVSD, Topology, sh

ULVS_VRRP = os.environ.get("ULVS_VRRP",
                           str(Path(ULVSD).resolve().parent.parent / "vrrp" / "ulvs-vrrp-test"))
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
VIP = "10.98.0.100"
VIP6 = "2001:db8:98::100"
ADDR = {"r1": "10.98.0.1", "r2": "10.98.0.2", "client": "10.98.0.9"}


def skew(version, prio, adv):
    """RFC 3768 §6.1 / RFC 5798 §6.1, seconds."""
    return (256 - prio) / 256 * (1.0 if version == 2 else adv)


def bound(version, prio, adv):
    return 3 * adv + skew(version, prio, adv)


@pytest.fixture(scope="module")
def topo():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    if not os.path.exists(KEEPALIVED):
        pytest.skip("keepalived not installed (apt-get install keepalived)")
    if not os.path.exists(ULVS_VRRP):
        pytest.fail(f"{ULVS_VRRP} missing: build first")
    t = Topology(f"vrrp{os.getpid() % 100000}")
    try:
        t.add_ns("sw")
    except subprocess.CalledProcessError:
        t.close()
        pytest.skip("kernel feature missing: network namespaces")
    try:
        t.run("sw", "ip", "link", "add", "br0", "type", "bridge")
        t.run("sw", "ip", "link", "set", "br0", "up")
        for n, port in (("r1", "p1"), ("r2", "p2"), ("client", "pc")):
            t.add_ns(n)
            # no DAD: link-local addresses (IPv6 VRRP sources) usable at once
            t.run(n, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0")
            t.run(n, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
            t.veth(n, "eth0", "sw", port)
            t.run("sw", "ip", "link", "set", port, "master", "br0", "up")
            t.addr(n, "eth0", ADDR[n] + "/24")
        t.run("client", "ip", "addr", "add", "2001:db8:98::9/64", "dev", "eth0", "nodad")
    except subprocess.CalledProcessError as e:
        t.close()
        pytest.skip(f"kernel feature missing: veth/bridge ({e.stderr.strip()})")
    yield t
    t.close()


def instance(prio, version, adv, extra="", vip=VIP, auth=True, auth_type="PASS"):
    auth_blk = (f"authentication {{\n    auth_type {auth_type}\n    auth_pass s3cret\n  }}"
                if auth and version == 2 else "")
    plen = 64 if ":" in vip else 24
    return f"""vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 98
  priority {prio}
  advert_int {adv}
  version {version}
  {auth_blk}
  virtual_ipaddress {{
    {vip}/{plen} dev eth0
  }}
  {extra}
}}
"""


class Router:
    def __init__(self, t, name, kind, conf):
        self.t, self.name, self.kind = t, name, kind
        d = t.tmp / f"{name}-{kind}-{time.monotonic_ns()}"
        d.mkdir()
        self.dir = d
        (d / "conf").write_text(conf)
        self.log = d / "log"
        if kind == "ulvs" and Path(ULVS_VRRP).name == "ulvsd":
            # the real daemon: its own control socket per router
            (d / "conf").write_text(f'ulvs_defs {{\n  control_socket {d}/ctl.sock\n}}\n' + conf)
            cmd = [ULVS_VRRP, "-l", "-n", "-f", str(d / "conf")]
        elif kind == "ulvs":
            cmd = [ULVS_VRRP, "-f", str(d / "conf")]
        else:
            cmd = [KEEPALIVED, "-n", "-l", "-D", "-P", "-f", str(d / "conf"),
                   "-p", str(d / "k.pid"), "-r", str(d / "v.pid")]
        self.proc = t.spawn(name, *cmd, log=self.log)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # a killed router leaves its VIP behind, as a crashed one would
        if sig == signal.SIGKILL:
            self.t.run(self.name, "ip", "addr", "flush", "dev", "eth0", "scope", "global",
                       check=False)
            self.t.addr(self.name, "eth0", ADDR[self.name] + "/24")

    def text(self):
        return self.log.read_text(errors="replace")


def has_vip(t, name, vip=VIP):
    out = t.run(name, "ip", "-br", "addr", "show", "dev", "eth0").stdout
    return re.search(r"\s" + re.escape(vip) + "/", out) is not None


def wait_vip(t, name, vip=VIP, timeout=8.0, present=True):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if has_vip(t, name, vip) == present:
            return True
        time.sleep(0.05)
    return False


def set_port(t, name, up):
    port = {"r1": "p1", "r2": "p2"}[name]
    t.run("sw", "ip", "link", "set", port, "up" if up else "down")


PINGER = r"""
import socket, struct, sys, time, select
dst = sys.argv[1]
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
def csum(b):
    if len(b) % 2: b += b"\0"
    x = sum(struct.unpack("!%dH" % (len(b) // 2), b)); x = (x >> 16) + (x & 0xffff); x += x >> 16
    return ~x & 0xffff
seq = 0
while True:
    seq = (seq + 1) & 0xffff
    t = 128 if v6 else 8
    h = struct.pack("!BBHHH", t, 0, 0, 0x5600, seq) + b"ulvs-vrrp-ping"
    if not v6: h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    try: s.sendto(h, (dst, 0))
    except OSError: pass
    end = time.time() + 0.05
    while (left := end - time.time()) > 0:
        if not select.select([s], [], [], left)[0]: break
        d = s.recv(2048)
        icmp = d if v6 else d[(d[0] & 15) * 4:]
        if icmp[0] == (129 if v6 else 0) and icmp[4:6] == b"\x56\x00":
            print("[%.6f] reply seq %d" % (time.time(), struct.unpack("!H", icmp[6:8])[0]), flush=True)
"""


class Pinger:
    """An ICMP echo every 50 ms from the client, replies timestamped."""

    def __init__(self, t, vip=VIP):
        self.out = t.tmp / f"ping-{time.monotonic_ns()}"
        self.f = open(self.out, "w")
        self.p = subprocess.Popen(["ip", "netns", "exec", t.ns("client"), "/usr/bin/python3",
                                   "-c", PINGER, vip], stdout=self.f, stderr=subprocess.STDOUT)
        t.procs.append(self.p)

    def first_reply_after(self, since, timeout):
        end = time.time() + timeout
        while time.time() < end:
            for line in self.out.read_text().splitlines():
                m = re.match(r"\[(\d+\.\d+)\] reply", line)
                if m and float(m.group(1)) > since:
                    return float(m.group(1))
            time.sleep(0.05)
        return None

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=3)
        self.f.close()


def failover(t, master, backup, version, prio_backup, adv, vip=VIP, logs=()):
    """Pull master's port; return (seconds until the VIP answers again, bound)."""
    assert wait_vip(t, master, vip), f"{master} never became master"
    p = Pinger(t, vip)
    try:
        assert p.first_reply_after(time.time() - 1, 3) is not None, \
            "VIP not answering:\n" + p.out.read_text()[-500:]
        time.sleep(0.3)
        cut = time.time()
        set_port(t, master, False)
        got = p.first_reply_after(cut + 0.01, bound(version, prio_backup, adv) + 3)
    finally:
        p.stop()
    assert got is not None, "VIP never answered after the failover"
    assert wait_vip(t, backup, vip, timeout=1), "\n".join(r.text() for r in logs)
    took, b = got - cut, bound(version, prio_backup, adv)
    print(f"\nVRRPv{version} advert_int {adv}s, {master}->{backup}: failover {took*1000:.0f} ms "
          f"(RFC bound 3*adv+skew = {b*1000:.0f} ms)")
    # 3 adverts missed plus skew at most; ping granularity, GARP and the
    # loop's ms timers add a little.
    assert took <= b + 0.35, f"failover {took:.3f}s above bound {b:.3f}s"
    return took, b


def test_ulvs_master_keepalived_backup_v2(topo):
    t = topo
    r1 = Router(t, "r1", "ulvs", instance(150, 2, 1))
    r2 = Router(t, "r2", "keepalived", "global_defs {\n  vrrp_version 2\n}\n" + instance(100, 2, 1))
    try:
        assert wait_vip(t, "r1"), r1.text()
        time.sleep(1.5)
        assert not has_vip(t, "r2"), "keepalived did not accept ulvs' adverts:\n" + r2.text()
        failover(t, "r1", "r2", 2, 100, 1)
        # failback: preemption by the higher priority once it hears the lower
        set_port(t, "r1", True)
        assert wait_vip(t, "r2", present=False, timeout=8), r2.text()
        assert wait_vip(t, "r1"), r1.text()
        assert "Entering MASTER STATE" in r1.text()
    finally:
        set_port(t, "r1", True)
        r1.stop()
        r2.stop()


ULVSADM = os.environ.get("ULVSADM", str(Path(ULVSD).resolve().parent.parent / "cli" / "ulvsadm"))


def status(r):
    """The ulvs router's VRRP status as text ("master A," and "dropped NAME: N"
    lines): the driver's SIGUSR1 dump, or the real daemon's ulvsadm --status."""
    if Path(ULVS_VRRP).name != "ulvsd":
        r.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.3)
        return r.text()
    out = subprocess.run([ULVSADM, "--socket", str(r.dir / "ctl.sock"), "--status", "--json"],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    lines = []
    for vi in json.loads(out)["vrrp"]:
        lines.append(f"{vi['name']} {vi['state']} master {vi['master']},")
        lines += [f"  dropped {k[len('dropped_'):]}: {v}" for k, v in vi.items()
                  if k.startswith("dropped_")]
    return "\n".join(lines)


def test_ulvs_master_keepalived_backup_v2_ah(topo):
    """IPsec AH authentication (HMAC-MD5-96, keepalived's sequence numbers):
    keepalived must accept ulvs' AH adverts, take over when they stop, and
    hand back both after a partition (ulvs' counter kept running) and after
    a restart of ulvs (its counter starts again: keepalived's anti-replay
    would drop a restart from 1)."""
    t = topo
    glob = "global_defs {\n  vrrp_version 2\n}\n"
    conf1 = instance(150, 2, 1, auth_type="AH")
    r1 = Router(t, "r1", "ulvs", conf1)
    r2 = Router(t, "r2", "keepalived", glob + instance(100, 2, 1, auth_type="AH"))
    try:
        assert wait_vip(t, "r1"), r1.text()
        time.sleep(2.5)
        assert not has_vip(t, "r2"), "keepalived did not accept ulvs' AH adverts:\n" + r2.text()
        assert "IPSEC" not in r2.text(), r2.text()
        failover(t, "r1", "r2", 2, 100, 1, logs=(r1, r2))
        # failback after a partition
        set_port(t, "r1", True)
        assert wait_vip(t, "r2", present=False, timeout=8), r2.text()
        assert wait_vip(t, "r1"), r1.text()
        st = status(r1)
        assert "dropped ah_" not in st, st
        # graceful stop: priority 0 behind AH, keepalived takes over quickly
        start = time.monotonic()
        r1.stop()
        assert wait_vip(t, "r2", timeout=3), r2.text()
        took = time.monotonic() - start
        assert took < bound(2, 100, 1), f"priority-0 handover took {took:.3f}s"
        # failback by a restarted ulvs, whose sequence numbers start afresh
        time.sleep(1.5)
        r1 = Router(t, "r1", "ulvs", conf1)
        assert wait_vip(t, "r2", present=False, timeout=8), r2.text()
        assert wait_vip(t, "r1"), r1.text()
        assert "already processed" not in r2.text(), r2.text()
        assert "IPSEC" not in r2.text(), r2.text()
    finally:
        set_port(t, "r1", True)
        r1.stop()
        r2.stop()


def test_keepalived_master_ulvs_backup_v2_ah(topo):
    """ulvs accepts keepalived's AH adverts (and refuses a wrong password)."""
    t = topo
    glob = "global_defs {\n  vrrp_version 2\n}\n"
    r1 = Router(t, "r1", "keepalived", glob + instance(150, 2, 1, auth_type="AH"))
    r2 = Router(t, "r2", "ulvs", instance(100, 2, 1, auth_type="AH"))
    try:
        assert wait_vip(t, "r1"), r1.text()
        time.sleep(2.5)
        assert not has_vip(t, "r2"), "ulvs did not accept keepalived's AH adverts:\n" + r2.text()
        st = status(r2)
        assert "dropped ah_" not in st and "auth_type" not in st, st
        assert re.search(r"master 10\.98\.0\.1,", st), st
    finally:
        r1.stop()
        r2.stop()
    # the same with a different password: ulvs must not follow keepalived
    r1 = Router(t, "r1", "keepalived", glob + instance(150, 2, 1, auth_type="AH"))
    r2 = Router(t, "r2", "ulvs",
                instance(100, 2, 1, auth_type="AH").replace("s3cret", "wrong"))
    try:
        assert wait_vip(t, "r1"), r1.text()
        assert wait_vip(t, "r2", timeout=6), "ulvs followed adverts with a bad ICV:\n" + r2.text()
        st = status(r2)
        assert "dropped ah_icv" in st, st
    finally:
        r1.stop()
        r2.stop()


def test_keepalived_master_ulvs_backup_v3(topo):
    t = topo
    r1 = Router(t, "r1", "keepalived", instance(150, 3, 0.3))
    r2 = Router(t, "r2", "ulvs", instance(100, 3, 0.3))
    try:
        assert wait_vip(t, "r1"), r1.text()
        time.sleep(1.0)
        assert not has_vip(t, "r2"), "ulvs did not accept keepalived's v3 adverts:\n" + r2.text()
        failover(t, "r1", "r2", 3, 100, 0.3)
        set_port(t, "r1", True)
        assert wait_vip(t, "r2", present=False, timeout=5), r2.text()
        assert wait_vip(t, "r1")
        # ulvs' adverts at 0.3 s were accepted by keepalived: it preempted
        # only after hearing them (never a split brain with both holding it)
        r2.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.2)
        assert "bad_checksum" not in r2.text(), r2.text()
    finally:
        set_port(t, "r1", True)
        r1.stop()
        r2.stop()


def test_ulvs_master_keepalived_backup_v3_ipv6(topo):
    t = topo
    r1 = Router(t, "r1", "ulvs", instance(200, 3, 0.5, vip=VIP6))
    r2 = Router(t, "r2", "keepalived", instance(100, 3, 0.5, vip=VIP6))
    try:
        assert wait_vip(t, "r1", VIP6), r1.text()
        time.sleep(1.0)
        assert not has_vip(t, "r2", VIP6), "keepalived refused ulvs' IPv6 adverts:\n" + r2.text()
        # graceful stop: priority 0, the backup takes over after Skew_Time
        start = time.monotonic()
        r1.stop()
        assert wait_vip(t, "r2", VIP6, timeout=3)
        took = time.monotonic() - start
        print(f"\nVRRPv3/IPv6 priority-0 handover: {took*1000:.0f} ms "
              f"(skew {skew(3, 100, 0.5)*1000:.0f} ms, full bound {bound(3, 100, 0.5)*1000:.0f} ms)")
        assert took < bound(3, 100, 0.5)
        assert not has_vip(t, "r1", VIP6)
    finally:
        r1.stop()
        r2.stop()


def test_ulvs_pair_nopreempt(topo):
    t = topo
    extra = "nopreempt"
    r2 = Router(t, "r2", "ulvs", instance(100, 3, 0.2, extra))
    try:
        assert wait_vip(t, "r2")
        r1 = Router(t, "r1", "ulvs", instance(150, 3, 0.2, extra))
        time.sleep(2.0)
        assert has_vip(t, "r2") and not has_vip(t, "r1"), r1.text()
        took, b = failover(t, "r2", "r1", 3, 150, 0.2, logs=(r1, r2))
        assert took > 3 * 0.2 - 0.2   # it really waited for missed adverts
    finally:
        set_port(t, "r2", True)
        r2.stop()
        r1.stop()


def test_ulvs_pair_preempt_delay(topo):
    """Delayed preemption: a higher-priority router that comes up behind a
    master waits preempt_delay before taking the VIP, then takes it."""
    t = topo
    delay = 2
    r2 = Router(t, "r2", "ulvs", instance(100, 3, 0.2))
    r1 = None
    try:
        assert wait_vip(t, "r2")
        t0 = time.monotonic()
        r1 = Router(t, "r1", "ulvs", instance(150, 3, 0.2, f"preempt_delay {delay}"))
        time.sleep(delay - 0.8)
        assert has_vip(t, "r2") and not has_vip(t, "r1"), r1.text()
        assert wait_vip(t, "r1", timeout=delay + 2.0), r1.text()
        took = time.monotonic() - t0
        print(f"\npreempt_delay {delay} s: r1 took over {took:.2f} s after it started")
        assert took >= delay - 0.8, took
        assert wait_vip(t, "r2", present=False, timeout=2.0), r2.text()
    finally:
        r2.stop()
        if r1:
            r1.stop()


def test_ulvs_pair_track_script(topo):
    t = topo
    flag = t.tmp / "healthy"
    flag.write_text("ok")
    script = f"""vrrp_script chk {{
  script "/usr/bin/test -e {flag}"
  interval 0.2
  weight -60
  fall 1
  rise 1
}}
"""
    r1 = Router(t, "r1", "ulvs", script + instance(150, 3, 0.2, "track_script {\n    chk\n  }"))
    r2 = Router(t, "r2", "ulvs", instance(100, 3, 0.2))
    try:
        assert wait_vip(t, "r1"), r1.text()
        time.sleep(0.5)
        assert not has_vip(t, "r2")
        flag.unlink()                      # 150 - 60 = 90 < 100: r2 preempts
        assert wait_vip(t, "r2", timeout=3), r2.text()
        assert wait_vip(t, "r1", present=False, timeout=2)
        assert "priority 150 -> 90" in r1.text()
        flag.write_text("ok")              # back to 150: r1 preempts
        assert wait_vip(t, "r1", timeout=3), r1.text()
        assert wait_vip(t, "r2", present=False, timeout=2)
    finally:
        r1.stop()
        r2.stop()


def routes(t, name):
    return t.run(name, "ip", "route", "show", "10.77.0.0/16").stdout


def wait_route(t, name, present, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ("10.77.0.0/16 via 10.98.0.254" in routes(t, name)) == present:
            return True
        time.sleep(0.05)
    return False


def test_ulvs_pair_virtual_routes(topo):
    """virtual_routes follow mastership: added over rtnetlink on becoming
    master, removed on leaving it (here: the master shuts down)."""
    t = topo
    vr = "virtual_routes {\n    10.77.0.0/16 via 10.98.0.254 dev eth0\n  }"
    r1 = Router(t, "r1", "ulvs", instance(150, 3, 0.2, vr))
    r2 = Router(t, "r2", "ulvs", instance(100, 3, 0.2, vr))
    try:
        assert wait_vip(t, "r1"), r1.text()
        assert wait_route(t, "r1", True), r1.text()
        time.sleep(0.5)
        assert not wait_route(t, "r2", True, timeout=0.3), r2.text()
        r1.stop()                          # priority 0: r2 takes over at once
        assert wait_vip(t, "r2", timeout=3), r2.text()
        assert wait_route(t, "r2", True), r2.text()
        assert wait_route(t, "r1", False), r1.text()
        r1 = Router(t, "r1", "ulvs", instance(150, 3, 0.2, vr))  # preempts back
        assert wait_route(t, "r1", True), r1.text()
        assert wait_route(t, "r2", False), r2.text()
    finally:
        r1.stop()
        r2.stop()


def test_ulvs_pair_track_file(topo):
    """track_file: the file's value times the weight moves the priority;
    with weight 0 a non-zero value is a fault."""
    t = topo
    f = t.tmp / "tf-value"
    f.write_text("0\n")
    tf = f"""track_file tf {{
  file {f}
  weight -30
}}
"""
    r1 = Router(t, "r1", "ulvs", tf + instance(150, 3, 0.2, "track_file {\n    tf\n  }"))
    r2 = Router(t, "r2", "ulvs", instance(100, 3, 0.2))
    try:
        assert wait_vip(t, "r1"), r1.text()
        time.sleep(0.5)
        assert not has_vip(t, "r2")
        f.write_text("1\n")                # 150 - 30 = 120 > 100: stays master
        time.sleep(1.6)                    # polled every second
        assert "priority 150 -> 120" in r1.text(), r1.text()
        assert has_vip(t, "r1") and not has_vip(t, "r2")
        f.write_text("2\n")                # 150 - 60 = 90 < 100: r2 preempts
        assert wait_vip(t, "r2", timeout=3), r1.text()
        assert wait_vip(t, "r1", present=False, timeout=2)
        f.write_text("0\n")                # back to 150: r1 preempts
        assert wait_vip(t, "r1", timeout=3), r1.text()
        assert wait_vip(t, "r2", present=False, timeout=2)
    finally:
        r1.stop()
        r2.stop()
    # weight 0 in the instance: any non-zero value is a fault
    f.write_text("0\n")
    r1 = Router(t, "r1", "ulvs", tf + instance(150, 3, 0.2, "track_file {\n    tf weight 0\n  }"))
    try:
        assert wait_vip(t, "r1"), r1.text()
        f.write_text("7\n")
        assert wait_vip(t, "r1", present=False, timeout=3), r1.text()
        assert "FAULT" in r1.text()
        f.write_text("0\n")
        assert wait_vip(t, "r1", timeout=4), r1.text()
    finally:
        r1.stop()
