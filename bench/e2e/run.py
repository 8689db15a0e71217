#!/usr/bin/python3
"""End-to-end benchmark: ulvs beside its peers on one veth topology, one table.

Every row gets a fresh copy of this topology (network namespaces named
ube<pid>-*, so nothing on the host or of another run is touched):

      client                 balancer                      sw               rs1
  +-------------+      +--------------------+       +-------------+   +--------------+
  | c0          |------| d0 10.99.1.1/24    |       | sd    br0   |---| eth0         |
  | 10.99.1.2   | veth |    VIP 10.99.1.100 |       | (XDP sink   |   | 10.99.2.11   |
  | trafgen/wrk |      | d1 10.99.2.1/24    |-------|  in pps     |   | nginx :80    |
  +-------------+      +--------------------+ veth  |  runs)      |   +--------------+
                                                    |             |        rs2
                                                    |             |---| 10.99.2.12   |
                                                    +-------------+   +--------------+

What is measured, per contender:
  * packets/s forwarded: trafgen sends 60-byte UDP frames (1024 flows) to
    VIP:5001 for PPS_SECONDS, bounded by count and by time; the balancer
    forwards them toward the real servers; an XDP program on sd (the switch
    port right behind the balancer) drops and counts them (rx_packets of sd),
    so the backends' stacks do not take CPU from the balancer.  The ceiling
    row is a trivial XDP program on d0 redirecting every UDP frame to d1.
  * HTTP requests/s: wrk -c50 (keep-alive) for HTTP_SECONDS fetching a
    128-byte file from the two nginx real servers through the VIP ("direct":
    two wrk -c25, one straight at each real server, routed but not
    translated by the balancer namespace's kernel).
  * CPU per packet / per request, twice: "ours", the CPU time of a cgroup
    every process of the run joins (plus ksoftirqd's), and "machine", busy
    jiffies of all vCPUs from /proc/stat; each over the load, divided by what
    got through.  Generator, balancer and backends share the vCPUs and
    saturate them, so req/s alone hides what a balancer costs; "ours" stays
    meaningful when other work shares the machine, "machine" does not.

Contenders: the XDP redirect ceiling (packets only), ulvsd in each mode
(NAT, DR, TUN, FULLNAT) per packet backend (afpacket; afxdp when this build
has it), nftables DNAT the way kube-proxy does it (numgen random mod 2),
haproxy mode tcp (HTTP only; it does not forward UDP).  DR and TUN HTTP need
the real-server side from ulvs-rs; when it is not ready the row says so.

Exit: 0 after printing the table; 77 when the whole run must be skipped (not
root, no namespaces/veth, ip/nginx/nft missing, unoptimised ulvsd), with the
reason; a missing trafgen/wrk/haproxy/clang/ulvsd skips only its cells.
Ratios matter, not absolute figures: the machine is shared.
"""
import argparse
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SKIP = 77
TAG = f"ube{os.getpid() % 100000}"

CLIENT, FRONT, VIP = "10.99.1.2", "10.99.1.1", "10.99.1.100"
BACK, LADDR = "10.99.2.1", "10.99.2.100"
RS = {"rs1": "10.99.2.11", "rs2": "10.99.2.12"}
UDP_PORT = 5001
FLOWS = (1024, 2047)          # trafgen source ports: 1024 flows
BODY = b"u" * 127 + b"\n"     # the 128-byte file
HZ = os.sysconf("SC_CLK_TCK")
MODES = ("NAT", "DR", "TUN", "FNAT")
MODE_NAME = {"NAT": "NAT", "DR": "DR", "TUN": "TUN", "FNAT": "FULLNAT"}

live_topologies = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*cmd, timeout=10, check=True, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          check=check, **child_kw(), **kw)


def tool(name):
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None)


class Unavailable(Exception):
    """A cell that cannot be measured here; the message says why."""


# --- CPU accounting -----------------------------------------------------------

class CpuGroup:
    """A cgroup v2 of our own that every process the runner starts joins, so
    the CPU our generator, balancer and backends use can be told apart from
    other work on a shared machine.  Its cpu.stat counts task time; packet
    work done in softirq context is charged to the task it interrupted (our
    senders, mostly: no IRQ time accounting on these kernels), and what
    overflows to ksoftirqd is added from those threads' own counters."""

    def __init__(self):
        self.path = None
        try:
            with open("/proc/mounts") as f:
                mnt = next((ln.split()[1] for ln in f if ln.split()[2] == "cgroup2"), None)
            if mnt:
                path = Path(mnt) / TAG
                path.mkdir()
                if (path / "cpu.stat").exists():
                    self.path = path
                else:
                    path.rmdir()
        except (OSError, StopIteration):
            self.path = None
        self.ksoftirqd = [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()
                          and _comm(d).startswith("ksoftirqd/")]

    def join(self):
        """preexec_fn of every child: move into the group (0 = myself)."""
        if self.path:
            with open(self.path / "cgroup.procs", "w") as f:
                f.write("0")

    def usage(self):
        """CPU seconds used by our processes and by ksoftirqd so far, or None."""
        if not self.path:
            return None
        m = re.search(r"usage_usec (\d+)", (self.path / "cpu.stat").read_text())
        ticks = 0
        for pid in self.ksoftirqd:
            try:
                ticks += sum(int(x) for x in
                             Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
            except (OSError, ValueError, IndexError):
                pass
        return int(m.group(1)) / 1e6 + ticks / HZ

    def close(self):
        if not self.path:
            return
        for _ in range(20):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)
        log(f"cgroup {self.path} still has processes; remove it by hand")


def _comm(d):
    try:
        return (d / "comm").read_text()
    except OSError:
        return ""


CGROUP = None


def child_kw():
    return {"preexec_fn": CGROUP.join} if CGROUP and CGROUP.path else {}


# --- topology ---------------------------------------------------------------

class Topology:
    """The picture at the top, built fresh for one row and torn down after it:
    processes we started are killed by pid (and anything still running inside
    our namespaces), then the namespaces are deleted."""

    def __init__(self, row):
        self.prefix = f"{TAG}-{row}"
        self.namespaces, self.procs, self.pidfiles, self.logs = [], [], [], []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.prefix}."))
        live_topologies.append(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def ns(self, name):
        return f"{self.prefix}-{name}"

    def run(self, name, *cmd, timeout=10, check=True, env=None):
        return sh("ip", "netns", "exec", self.ns(name), *cmd, timeout=timeout, check=check,
                  env=env)

    def spawn(self, name, *cmd, log_name=None):
        out = open(self.tmp / log_name, "w") if log_name else subprocess.DEVNULL
        if log_name:
            self.logs.append(out)
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(name), *cmd],
                             stdout=out, stderr=subprocess.STDOUT, **child_kw())
        self.procs.append(p)
        return p

    def sysctl(self, name, key, value):
        self.run(name, "sysctl", "-qw", f"{key}={value}")

    def counter(self, name, ifname, what):
        return int(self.run(name, "cat", f"/sys/class/net/{ifname}/statistics/{what}").stdout)

    def ifattr(self, name, ifname, attr):
        return self.run(name, "cat", f"/sys/class/net/{ifname}/{attr}").stdout.strip()

    def _build(self):
        for n in ("client", "lb", "sw", "rs1", "rs2"):
            sh("ip", "netns", "add", self.ns(n))
            self.namespaces.append(self.ns(n))
            self.run(n, "ip", "link", "set", "lo", "up")

        def veth(a, ifa, b, ifb):
            sh("ip", "link", "add", ifa, "netns", self.ns(a), "type", "veth",
               "peer", "name", ifb, "netns", self.ns(b))

        def addr(n, ifname, cidr):
            self.run(n, "ip", "addr", "add", cidr, "dev", ifname)
            self.run(n, "ip", "link", "set", ifname, "up")

        veth("client", "c0", "lb", "d0")
        veth("lb", "d1", "sw", "sd")
        self.run("sw", "ip", "link", "add", "br0", "type", "bridge")
        self.run("sw", "ip", "link", "set", "br0", "up")
        self.run("sw", "ip", "link", "set", "sd", "master", "br0", "up")
        addr("client", "c0", f"{CLIENT}/24")
        self.run("client", "ip", "route", "add", "default", "via", FRONT)
        addr("lb", "d0", f"{FRONT}/24")
        addr("lb", "d0", f"{VIP}/32")
        addr("lb", "d1", f"{BACK}/24")
        for i, (name, ip) in enumerate(RS.items(), 1):
            veth(name, "eth0", "sw", f"s{i}")
            self.run("sw", "ip", "link", "set", f"s{i}", "master", "br0", "up")
            addr(name, "eth0", f"{ip}/24")
            self.run(name, "ip", "route", "add", "default", "via", BACK)
            self.nginx(name)

    def nginx(self, name):
        # Listens on every address: in DR and TUN the requests arrive for the VIP.
        d = self.tmp / name
        (d / "www").mkdir(parents=True)
        (d / "tmp").mkdir()
        (d / "www" / "b").write_bytes(BODY)
        (d / "nginx.conf").write_text(f"""user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp;
    server {{ listen 80 reuseport; root {d}/www; }}
}}
""")
        self.pidfiles.append(d / "nginx.pid")
        self.run(name, "nginx", "-c", str(d / "nginx.conf"))

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 3
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=2)
        self.procs = []
        for f in self.logs:
            f.close()
        self.logs = []
        for f in self.pidfiles:
            try:
                os.kill(int(f.read_text().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        self.pidfiles = []
        time.sleep(0.1)
        # Anything still alive inside namespaces we made is ours too.
        for n in self.namespaces:
            r = sh("ip", "netns", "pids", n, check=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        for n in self.namespaces:
            sh("ip", "netns", "del", n, check=False)
        self.namespaces = []
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self in live_topologies:
            live_topologies.remove(self)


def close_all():
    for t in list(live_topologies):
        t.close()


# --- XDP --------------------------------------------------------------------

def mac_const(mac):
    return "0x" + mac.replace(":", "") + "ull"


def xdp_object(t, redirect):
    """Compiles xdp_bench.c for topology t (interface index and MACs as
    constants); returns the object's path."""
    clang = tool("clang")
    if not clang:
        raise Unavailable("clang not installed")
    defs = []
    if redirect:
        defs = [f"-DEGRESS_IFINDEX={t.ifattr('lb', 'd1', 'ifindex')}",
                f"-DEGRESS_MAC={mac_const(t.ifattr('lb', 'd1', 'address'))}",
                f"-DBACKEND0_MAC={mac_const(t.ifattr('rs1', 'eth0', 'address'))}",
                f"-DBACKEND1_MAC={mac_const(t.ifattr('rs2', 'eth0', 'address'))}"]
    out = t.tmp / ("redirect.o" if redirect else "sink.o")
    arch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
    inc = [f"-I/usr/include/{arch}"] if arch else []
    r = subprocess.run([clang, "-O2", "-target", "bpf", *inc, *defs, "-c",
                        str(HERE / "xdp_bench.c"), "-o", str(out)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode:
        raise Unavailable(f"clang -target bpf failed: {r.stderr.strip().splitlines()[-1:]}")
    return out


def xdp_attach(t, name, ifname, obj, prog):
    r = t.run(name, "ip", "link", "set", "dev", ifname, "xdp", "obj", str(obj),
              "program", prog, check=False)
    if r.returncode:
        raise Unavailable(f"XDP attach of {prog} on {ifname} failed: {r.stderr.strip()[:120]}")


# --- contenders -----------------------------------------------------------------

def ulvs_conf(mode):
    laddr = ""
    extra = ""
    if mode == "FNAT":
        laddr = f"local_address_group laddr_bench {{\n    {LADDR} d1\n}}\n"
        extra = "    laddr_group_name laddr_bench\n"
    services = ""
    for proto, port in (("TCP", 80), ("UDP", UDP_PORT)):
        rs = "".join(f"    real_server {ip} {port} {{\n        weight 1\n    }}\n"
                     for ip in RS.values())
        services += (f"virtual_server {VIP} {port} {{\n    lb_algo rr\n    lb_kind {mode}\n"
                     f"    protocol {proto}\n{extra}{rs}}}\n")
    return f"! bench/e2e: {MODE_NAME[mode]}\nglobal_defs {{\n    router_id ulvs_bench\n}}\n" \
           f"{laddr}{services}"


class Contender:
    """One row: sets itself up on a fresh topology; wrk goes to targets
    (50 connections shared among them)."""
    name = ""
    pps_na = None      # reason packets/s does not apply
    http_na = None     # reason requests/s does not apply
    targets = (VIP,)

    def setup(self, t, kind):
        pass

    def finish(self, t, through):
        """After the load, before teardown: cross-check what the balancer
        says it did against what got through (frames the sink counted or
        requests served; raises Unavailable)."""


class Direct(Contender):
    # The same 50 connections spread over both backends as a balancer would,
    # routed (not translated) by the balancer namespace's kernel.
    name = "direct (no balancer)"
    pps_na = "n/a"
    targets = tuple(RS.values())

    def setup(self, t, kind):
        t.sysctl("lb", "net.ipv4.ip_forward", 1)


class XdpCeiling(Contender):
    name = "XDP redirect (ceiling)"
    http_na = "n/a"

    def setup(self, t, kind):
        xdp_attach(t, "lb", "d0", xdp_object(t, redirect=True), "xdp_redirect")


class NftDnat(Contender):
    name = "nftables DNAT (numgen)"

    def setup(self, t, kind):
        t.sysctl("lb", "net.ipv4.ip_forward", 1)
        m = f"numgen random mod 2 map {{ 0 : {RS['rs1']}, 1 : {RS['rs2']} }}"
        rules = f"""table ip ube {{
    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr {VIP} tcp dport 80 dnat to {m}
        ip daddr {VIP} udp dport {UDP_PORT} dnat to {m}
    }}
}}
"""
        f = t.tmp / "dnat.nft"
        f.write_text(rules)
        t.run("lb", "nft", "-f", str(f))


class Haproxy(Contender):
    name = "haproxy mode tcp"
    pps_na = "n/a (no UDP)"

    def setup(self, t, kind):
        exe = tool("haproxy")
        if not exe:
            raise Unavailable("haproxy not installed")
        servers = "".join(f"    server {n} {ip}:80\n" for n, ip in RS.items())
        cfg = t.tmp / "haproxy.cfg"
        cfg.write_text(f"""global
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind {VIP}:80
    default_backend be
backend be
    balance roundrobin
{servers}""")
        t.spawn("lb", exe, "-db", "-f", str(cfg), log_name="haproxy.log")


class Ulvs(Contender):
    def __init__(self, ulvsd, ulvs_rs, mode, backend):
        self.ulvsd, self.ulvs_rs, self.mode, self.backend = ulvsd, ulvs_rs, mode, backend
        self.name = f"ulvs {MODE_NAME[mode]} ({backend})"
        self.proc = None
        self.rs_started = False

    def setup(self, t, kind):
        self.rs_started = False
        if not self.ulvsd:
            raise Unavailable("ulvsd not built (make, or --ulvsd PATH)")
        if self.mode == "FNAT":
            t.run("lb", "ip", "addr", "add", f"{LADDR}/32", "dev", "d1")
        if self.mode in ("DR", "TUN"):
            # Replies (from the VIP, to the client) come back through the
            # balancer's kernel as a plain router; their source is an
            # address the balancer holds, which needs accept_local.
            t.sysctl("lb", "net.ipv4.ip_forward", 1)
            for k in ("all", "d1"):
                t.sysctl("lb", f"net.ipv4.conf.{k}.rp_filter", 0)
            t.sysctl("lb", "net.ipv4.conf.d1.accept_local", 1)
            if kind == "http":
                self.real_servers(t)
        conf = t.tmp / "keepalived.conf"
        conf.write_text(ulvs_conf(self.mode))
        self.log = t.tmp / "ulvsd.log"
        self.proc = t.spawn("lb", self.ulvsd, "-f", str(conf), "-l",
                            "--backend", self.backend, log_name="ulvsd.log")
        time.sleep(0.2)
        self.check_alive()

    def real_servers(self, t):
        rs = self.ulvs_rs
        if not os.access(rs, os.X_OK):
            raise Unavailable(f"pending: {rs} not built")
        sub = "dr" if self.mode == "DR" else "tun"
        for name in RS:
            r = t.run(name, str(rs), sub, "start", "--vip", VIP, check=False, timeout=15,
                      env=self.rs_env(t))
            if r.returncode:
                msg = (r.stderr or r.stdout).strip().splitlines()
                raise Unavailable(f"pending: ulvs-rs {sub} start: {msg[-1] if msg else r.returncode}")
            self.rs_started = True

    @staticmethod
    def rs_env(t):
        # ulvs-rs keeps what it must undo in a state directory; ours lives
        # and dies with the topology instead of in /run.
        return dict(os.environ, ULVS_RS_STATE_DIR=str(t.tmp / "ulvs-rs"))

    def finish(self, t, through):
        """Stops ulvsd (SIGTERM) and checks from its final counters that it
        transmitted at least one frame for each thing that got through."""
        self.check_alive()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            raise Unavailable("failed: ulvsd did not stop within 5 s of SIGTERM")
        text = self.log.read_text(errors="replace")
        m = re.search(r"data plane stopped: rx (\d+) tx (\d+)", text)
        if not m:
            raise Unavailable("failed: ulvsd logged no final counters")
        rx, tx = int(m.group(1)), int(m.group(2))
        log(f"  ulvsd counters: rx {rx} tx {tx}" + "".join(
            f"; {ln.strip()}" for ln in text.splitlines() if ln.strip().startswith("drop ")))
        if tx < through:
            raise Unavailable(f"failed: {through} got through but ulvsd sent only {tx} frames")
        if self.mode in ("DR", "TUN") and self.rs_started:
            rs = self.ulvs_rs
            sub = "dr" if self.mode == "DR" else "tun"
            for name in RS:
                t.run(name, str(rs), sub, "stop", check=False, timeout=15, env=self.rs_env(t))

    def check_alive(self):
        if self.proc and self.proc.poll() is not None:
            rc = self.proc.returncode
            how = f"killed by signal {-rc}" if rc < 0 else f"exit {rc}"
            lines = self.log.read_text(errors="replace").strip().splitlines()[1:]
            why = next((ln for ln in reversed(lines) if "data plane" in ln or "rror" in ln),
                       lines[-1] if lines else "")
            raise Unavailable(f"ulvsd {how}" + (f": {why.strip()[:140]}" if why else ""))


# --- measurements -----------------------------------------------------------

def cpu_busy():
    """(busy, total) jiffies of the whole machine, and our CPU seconds (or None)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    total = sum(v[:8])
    return total - idle, total, CGROUP.usage() if CGROUP else None


def cpu_others(b0, b1):
    """Share of the machine other work took between b0 and b1, or None."""
    if b0[2] is None or b1[1] == b0[1]:
        return None
    return max(0.0, ((b1[0] - b0[0]) / HZ - (b1[2] - b0[2])) / ((b1[1] - b0[1]) / HZ))


def cpu_cost(b0, b1, n, scale):
    """(ours, machine) CPU per unit of n, in 1/scale seconds."""
    if not n:
        return None, None
    ours = (b1[2] - b0[2]) * scale / n if b0[2] is not None else None
    return ours, (b1[0] - b0[0]) / HZ * scale / n


def trafgen_cfg(t, path):
    path.write_text(
        f"{{ eth(da={t.ifattr('lb', 'd0', 'address')}, sa={t.ifattr('client', 'c0', 'address')}),"
        f" ipv4(sa={CLIENT}, da={VIP}, ttl=64),"
        f" udp(sp=dinc({FLOWS[0]}, {FLOWS[1]}), dp={UDP_PORT}),"
        f" fill(0x42, 18) }}\n")


def trafgen(t, cfg, rate, seconds):
    """Sends at up to rate pps for at most seconds (and at most rate x seconds
    frames: whichever ends first); returns (seconds taken, frames sent)."""
    tx0 = t.counter("client", "c0", "tx_packets")
    start = time.monotonic()
    p = subprocess.Popen(["ip", "netns", "exec", t.ns("client"), "trafgen", "-o", "c0",
                          "-i", str(cfg), "-b", f"{rate}pps", "-n", str(int(rate * seconds)),
                          "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True, **child_kw())
    try:
        out = p.communicate(timeout=seconds)[0]
    except subprocess.TimeoutExpired:
        # trafgen's sending is done by a child per CPU, and its parent does
        # not pass SIGINT on: signal the whole (new) process group.
        os.killpg(p.pid, signal.SIGINT)
        try:
            out = p.communicate(timeout=3)[0]
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out = p.communicate()[0]
    elapsed = time.monotonic() - start
    sent = t.counter("client", "c0", "tx_packets") - tx0
    if p.returncode not in (0, -signal.SIGINT) or sent == 0:
        out = "; ".join(ln for ln in out.splitlines() if "socket memory" not in ln)
        raise Unavailable(f"trafgen failed (exit {p.returncode}): {out.strip()[-120:]}")
    return elapsed, sent


def measure_pps(c, t, args):
    if not tool("trafgen"):
        raise Unavailable("trafgen not installed (apt-get install netsniff-ng)")
    xdp_attach(t, "sw", "sd", xdp_object(t, redirect=False), "xdp_sink")
    c.setup(t, "pps")
    cfg = t.tmp / "udp.trafgen"
    trafgen_cfg(t, cfg)
    # Warm-up: neighbours resolved, flows created; wait (<= 5 s) until
    # frames come out the far side.
    deadline = time.monotonic() + 5
    while True:
        s0 = t.counter("sw", "sd", "rx_packets")
        trafgen(t, cfg, 20000, 0.1)
        time.sleep(0.1)
        if t.counter("sw", "sd", "rx_packets") - s0 > 1024:
            break
        if isinstance(c, Ulvs):
            c.check_alive()
        if time.monotonic() > deadline:
            raise Unavailable("nothing forwarded after 5 s of warm-up")
    s0 = t.counter("sw", "sd", "rx_packets")
    b0 = cpu_busy()
    elapsed, sent = trafgen(t, cfg, args.rate, args.pps_seconds)
    b1 = cpu_busy()
    time.sleep(0.2)                     # what was queued in rings when it stopped
    got = t.counter("sw", "sd", "rx_packets") - s0
    c.finish(t, got)
    return {"pps": got / elapsed, "offered": sent / elapsed,
            "ns_per_pkt": cpu_cost(b0, b1, got, 1e9), "others": cpu_others(b0, b1)}


def fetch_ok(t, url):
    r = t.run("client", "curl", "-s", "-m", "1", url, check=False, timeout=4)
    return r.returncode == 0 and r.stdout.encode() == BODY


def measure_http(c, t, args):
    if not tool("wrk"):
        raise Unavailable("wrk not installed (apt-get install wrk)")
    if not tool("curl"):
        raise Unavailable("curl not installed")
    c.setup(t, "http")
    urls = [f"http://{a}/b" for a in c.targets]
    deadline = time.monotonic() + 5
    while not all(fetch_ok(t, u) for u in urls for _ in range(2)):
        if isinstance(c, Ulvs):
            c.check_alive()
        if time.monotonic() > deadline:
            raise Unavailable(f"no correct answer from {urls[0]} within 5 s")
        time.sleep(0.1)
    conns, threads = 50 // len(urls), max(1, 2 // len(urls))
    b0 = cpu_busy()
    procs = [subprocess.Popen(["ip", "netns", "exec", t.ns("client"), "wrk", f"-c{conns}",
                               f"-t{threads}", f"-d{args.http_seconds}s", u],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              **child_kw())
             for u in urls]
    outs = []
    for p in procs:
        try:
            outs.append((p.communicate(timeout=args.http_seconds + 15)[0], p.returncode))
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise Unavailable("wrk did not finish in time")
    b1 = cpu_busy()
    rps, n, errors = 0.0, 0, []
    for out, rc in outs:
        m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
        r = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if rc or not m or not r:
            raise Unavailable(f"wrk failed: {out.strip()[-120:]}")
        n += int(m.group(1))
        rps += float(r.group(1))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errs = re.search(r"Socket errors: (.*)", out)
        errors += [f"{bad.group(1)} non-2xx"] if bad else []
        errors += [f"socket errors: {errs.group(1)}"] if errs else []
    c.finish(t, n)           # every request crossed the balancer at least once
    return {"rps": rps, "requests": n,
            "us_per_req": cpu_cost(b0, b1, n, 1e6), "others": cpu_others(b0, b1),
            "errors": ", ".join(errors)}


def show(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, tuple):
        return "/".join(show(x) for x in v)
    return str(v)


def one(c, kind, args):
    """Measures c on a fresh topology; a dict, or a string saying why not."""
    na = c.pps_na if kind == "pps" else c.http_na
    if na:
        return na
    if time.monotonic() > args.deadline:
        return "skipped: time budget"
    t = None
    try:
        t = Topology("p" if kind == "pps" else "h")
        res = (measure_pps if kind == "pps" else measure_http)(c, t, args)
        log(f"{c.name} {kind}: " + ", ".join(f"{k} {show(v)}" for k, v in res.items()))
        return res
    except Unavailable as e:
        log(f"{c.name} {kind}: {e}")
        return str(e)
    except subprocess.SubprocessError as e:
        log(f"{c.name} {kind}: {e}")
        return f"failed: {str(e)[:100]}"
    finally:
        if t:
            t.close()


# --- the table ------------------------------------------------------------------

def fmt_rate(v):
    return f"{v / 1e6:.3f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"


def cost(pair, digits):
    return " / ".join("–" if v is None else f"{v:.{digits}f}" for v in pair)


def table(rows, args):
    ceiling = next((r["pps"] for c, r, _ in rows if isinstance(c, XdpCeiling)
                    and isinstance(r, dict)), None)
    direct = next((h["rps"] for c, _, h in rows if isinstance(c, Direct)
                   and isinstance(h, dict)), None)
    out = ["| contender | forwarded pkt/s | × XDP ceiling | offered pkt/s | CPU ns/pkt "
           "ours / machine | HTTP req/s | × direct | CPU µs/req ours / machine |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    gen_bound_rows = 0
    for c, p, h in rows:
        cells = [c.name]
        if isinstance(p, dict):
            gen_bound = p["pps"] >= 0.98 * p["offered"]
            gen_bound_rows += gen_bound
            cells += [fmt_rate(p["pps"]) + (" ¹" if gen_bound else ""),
                      f"{p['pps'] / ceiling:.2f}" if ceiling else "–",
                      fmt_rate(p["offered"]),
                      cost(p["ns_per_pkt"], 0)]
        else:
            cells += [p, "", "", ""]
        if isinstance(h, dict):
            cells += [f"{h['rps'] / 1e3:.1f} k",
                      f"{h['rps'] / direct:.2f}" if direct else "–",
                      cost(h["us_per_req"], 1)]
            if h["errors"]:
                notes.append(f"{c.name}: wrk reported {h['errors'].strip()}")
        else:
            cells += [h, "", ""]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    busy = [f"{c.name} {kind} {r['others']:.0%}" for c, p, h in rows
            for kind, r in (("pkt/s", p), ("req/s", h))
            if isinstance(r, dict) and r["others"] is not None and r["others"] > 0.1]
    if busy:
        notes.append("Other work took more than 10% of the machine during: " + ", ".join(busy) +
                     "; rates in those cells are low by about that much, CPU *ours* is not.")
    if gen_bound_rows:
        # veth runs a frame's whole path in its sender's softirq: a forwarder
        # that never leaves that context (XDP, the kernel's own forwarding)
        # runs on the generator's CPU and is paced by it.
        notes.append("¹ Forwarded everything it was offered: the generator, not the forwarder, "
                     "set the rate (on veth a frame's whole path runs in the sender's softirq, "
                     "on the generator's CPU), so compare CPU per packet. When the XDP row is "
                     "marked, the true ceiling is higher and the ratios to it are upper bounds.")
    out.append(f"pkt/s: 60-byte UDP frames, {FLOWS[1] - FLOWS[0] + 1} flows, trafgen -b "
               f"{args.rate}pps for {args.pps_seconds:g} s, counted by XDP behind the balancer. "
               f"HTTP: wrk -c50 -t2 keep-alive {args.http_seconds} s, 128-byte file, "
               f"2 nginx (1 worker each); direct = 2 × wrk -c25 -t1, one per backend. "
               f"CPU per packet/request: *ours* = the runner's cgroup (generator, balancer, "
               f"backends) + ksoftirqd, *machine* = all {os.cpu_count()} vCPUs from /proc/stat; "
               f"the machine was {args.background:.0%} busy with other work just before "
               f"the run. ulvsd: {args.build}.")
    out += notes
    return "\n".join(out)


def build_info(ulvsd):
    """(description, optimised?) of the meson build ulvsd came from."""
    intro = Path(ulvsd).resolve().parents[1] / "meson-info" / "intro-buildoptions.json"
    try:
        opts = {o["name"]: o["value"] for o in json.loads(intro.read_text())}
    except (OSError, ValueError, KeyError):
        return "build options unknown (not a meson build dir)", True
    opt = str(opts.get("optimization"))
    return f"buildtype={opts.get('buildtype')} optimization={opt}", opt in ("2", "3", "s")


def tree_state():
    """The source tree's commit, and whether it had local changes."""
    r = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    if r.returncode:
        return "unknown (not a git checkout)"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return r.stdout.strip() + (" with uncommitted changes" if dirty else "")


def preflight(args):
    if os.geteuid() != 0:
        return "needs root (network namespaces, XDP)"
    for name in ("ip", "nginx", "nft"):
        if not tool(name):
            return f"{name} not installed"
    probe = f"{TAG}-probe"
    try:
        if sh("ip", "netns", "add", probe, check=False).returncode:
            return "kernel feature missing: network namespaces"
        if sh("ip", "-n", probe, "link", "add", "vp0", "type", "veth", "peer", "name", "vp1",
              check=False).returncode:
            return "kernel feature missing: veth"
        if sh("ip", "-n", probe, "link", "add", "brp", "type", "bridge", check=False).returncode:
            return "kernel feature missing: bridge"
    finally:
        sh("ip", "netns", "del", probe, check=False)
    args.build = "not built"
    if args.ulvsd:
        desc, optimised = build_info(args.ulvsd)
        args.build = f"{desc}, source {tree_state()}"
        log(f"ulvsd: {args.ulvsd} ({desc})")
        if not optimised and not args.allow_unoptimised:
            return (f"{args.ulvsd} is not an optimised build ({desc}); meson setup DIR "
                    f"-Dbuildtype=release, or pass --allow-unoptimised")
    return None


def afxdp_available(ulvsd):
    """Whether this ulvsd accepts --backend afxdp at all (probed on a
    topology of its own, so a refusal is not mistaken for a slow row)."""
    t = Topology("x")
    try:
        u = Ulvs(ulvsd, None, "NAT", "afxdp")
        try:
            u.setup(t, "pps")
            time.sleep(0.5)
            u.check_alive()
            return True, ""
        except Unavailable as e:
            return False, str(e)
    finally:
        t.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ulvsd", default=os.environ.get("ULVSD", str(ROOT / "build/daemon/ulvsd")))
    ap.add_argument("--ulvs-rs", help="real-server helper for DR/TUN (default: rs/ulvs-rs "
                    "of ulvsd's build dir)")
    ap.add_argument("--pps-seconds", type=float, default=5)
    ap.add_argument("--http-seconds", type=int, default=10)
    ap.add_argument("--rate", type=int, default=3000000,
                    help="trafgen -b rate (pps); above what it can send means flat out")
    ap.add_argument("--modes", default="NAT,DR,TUN,FNAT")
    ap.add_argument("--backends", default="afpacket,afxdp")
    ap.add_argument("--only", default="", help="comma list of row kinds: xdp,direct,nft,"
                    "haproxy,ulvs")
    ap.add_argument("--budget", type=float, default=290, help="seconds for the whole run")
    ap.add_argument("--allow-unoptimised", action="store_true")
    args = ap.parse_args()
    args.deadline = time.monotonic() + args.budget
    if not args.ulvs_rs:
        args.ulvs_rs = str(Path(args.ulvsd).parents[1] / "rs" / "ulvs-rs")
    if not os.access(args.ulvsd, os.X_OK):
        log(f"ulvsd not found at {args.ulvsd}: its rows are skipped")
        args.ulvsd = None

    reason = preflight(args)
    if reason:
        print(f"bench/e2e: SKIP: {reason}")
        return SKIP
    global CGROUP
    CGROUP = CpuGroup()
    atexit.register(CGROUP.close)
    atexit.register(close_all)     # runs first: processes out, then the group
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(130))

    modes = [{"FULLNAT": "FNAT"}.get(m, m) for m in args.modes.upper().split(",") if m]
    if any(m not in MODES for m in modes):
        ap.error(f"--modes: choose among {', '.join(MODE_NAME.values())}")
    only = set(filter(None, args.only.split(",")))
    want = lambda k: not only or k in only
    contenders = []
    if want("xdp"):
        contenders.append(XdpCeiling())
    if want("direct"):
        contenders.append(Direct())
    if want("ulvs"):
        backends = [b for b in args.backends.split(",") if b]
        if "afxdp" in backends and not args.ulvsd:
            backends.remove("afxdp")
        if "afxdp" in backends:
            ok, why = afxdp_available(args.ulvsd)
            if not ok:
                log(f"afxdp backend not measured: {why}")
                backends.remove("afxdp")
        for b in backends:
            for m in modes:
                contenders.append(Ulvs(args.ulvsd, args.ulvs_rs, m, b))
    if want("nft"):
        contenders.append(NftDnat())
    if want("haproxy"):
        contenders.append(Haproxy())

    b0 = cpu_busy()
    time.sleep(1)
    b1 = cpu_busy()
    args.background = (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
    log(f"background load before the run: {args.background:.0%} of the machine")
    start = time.monotonic()
    rows = []
    for c in contenders:
        p = one(c, "pps", args)
        h = one(c, "http", args)
        rows.append((c, p, h))
    print(table(rows, args))
    log(f"done in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
