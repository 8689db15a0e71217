"""Network-namespace topologies for ulvs end-to-end tests.

The standard topology (one per test module, names prefixed with a per-run tag so
nothing on the host is touched):

      client                 director (ulvsd)                 sw              rs1
  +-------------+      +----------------------+       +------------+   +-------------+
  | c0          |------| d0 10.99.1.1/24      |       |   br0      |---| eth0        |
  | 10.99.1.2   | veth |    VIP 10.99.1.100   |       |  (bridge)  |   | 10.99.2.11  |
  +-------------+      | d1 10.99.2.1/24      |-------|            |   +-------------+
                       +----------------------+  veth |            |        rs2
                                                      |            |   +-------------+
                                                      |            |---| 10.99.2.12  |
                                                      +------------+   +-------------+

Real servers' default route is via 10.99.2.1 (NAT mode).  Everything a topology
starts is killed by PID and every namespace it made is deleted when the fixture
ends, whatever the outcome (and at interpreter exit as a backstop).

Skips, each with its own reason: not root; network namespaces, veth or bridges
unavailable in this kernel; nft missing.  A missing ulvsd binary is a failure
(build first), not a skip.
"""
import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ULVSD = os.environ.get("ULVSD", str(ROOT / "build" / "daemon" / "ulvsd"))
PY = "/usr/bin/python3"
HERE = Path(__file__).resolve().parent

CLIENT = "10.99.1.2"
DIRECTOR_FRONT = "10.99.1.1"
VIP = "10.99.1.100"
DIRECTOR_BACK = "10.99.2.1"
RS = {"rs1": "10.99.2.11", "rs2": "10.99.2.12"}


def sh(*cmd, timeout=10, check=True, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          check=check, **kw)


class Topology:
    """Namespaces, links and processes of one test topology, all owned here."""

    def __init__(self, tag):
        self.tag = tag
        self.namespaces = []
        self.procs = []          # Popen objects we started
        self.pidfiles = []       # daemons that fork (nginx): their pid files
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{tag}."))
        atexit.register(self.close)

    def ns(self, name):
        return f"{self.tag}-{name}"

    def add_ns(self, name):
        sh("ip", "netns", "add", self.ns(name))
        self.namespaces.append(self.ns(name))
        self.run(name, "ip", "link", "set", "lo", "up")

    def env(self, name):
        """The environment of commands run in namespace name: ulvsd and ulvsadm
        there share a control socket of their own (/run is shared by every
        namespace, and other tests may run directors at the same time)."""
        e = dict(os.environ)
        e.setdefault("ULVS_CONTROL_SOCKET", str(self.tmp / f"{name}.ctl"))
        return e

    def run(self, name, *cmd, timeout=10, check=True):
        return sh("ip", "netns", "exec", self.ns(name), *cmd, timeout=timeout, check=check,
                  env=self.env(name))

    def spawn(self, name, *cmd, log=None):
        out = open(log, "w") if log else subprocess.DEVNULL
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(name), *cmd],
                             stdout=out, stderr=subprocess.STDOUT, env=self.env(name))
        self.procs.append(p)
        return p

    def veth(self, a, ifa, b, ifb, queues=1):
        """A veth pair; queues > 1 gives both ends that many RX and TX queues
        (the kernel spreads flows over them: one director worker each)."""
        q = [] if queues == 1 else ["numtxqueues", str(queues), "numrxqueues", str(queues)]
        sh("ip", "link", "add", ifa, "netns", self.ns(a), *q, "type", "veth",
           "peer", "name", ifb, "netns", self.ns(b), *q)

    def addr(self, name, ifname, cidr):
        self.run(name, "ip", "addr", "add", cidr, "dev", ifname)
        self.run(name, "ip", "link", "set", ifname, "up")

    def nginx(self, name, listen, body):
        """nginx on listen (ip:port) serving body at / and files put in www/."""
        d = self.tmp / name
        (d / "www").mkdir(parents=True)
        (d / "body").mkdir()
        (d / "www" / "index.html").write_text(body + "\n")
        conf = d / "nginx.conf"
        conf.write_text(f"""user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    server {{ listen {listen}; root {d}/www; }}
}}
""")
        self.pidfiles.append(d / "nginx.pid")
        self.run(name, "nginx", "-c", str(conf))
        return d

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
        for f in self.pidfiles:
            try:
                os.kill(int(f.read_text().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        self.pidfiles = []
        for n in self.namespaces:
            sh("ip", "netns", "del", n, check=False)
        self.namespaces = []
        shutil.rmtree(self.tmp, ignore_errors=True)


def require_environment():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    for tool in ("ip", "nft", "nginx", "curl"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            pytest.skip(f"{tool} not installed")
    probe = f"ulvsprobe{os.getpid()}"
    try:
        if sh("ip", "netns", "add", probe, check=False).returncode:
            pytest.skip("kernel feature missing: network namespaces")
        if sh("ip", "-n", probe, "link", "add", "vprobe0", "type", "veth", "peer", "name", "vprobe1",
              check=False).returncode:
            pytest.skip("kernel feature missing: veth")
        if sh("ip", "-n", probe, "link", "add", "brprobe", "type", "bridge", check=False).returncode:
            pytest.skip("kernel feature missing: bridge")
        if sh("ip", "netns", "exec", probe, "nft", "add", "table", "inet", "probe",
              check=False).returncode:
            pytest.skip("kernel feature missing: nftables")
    finally:
        sh("ip", "netns", "del", probe, check=False)
    if not os.access(ULVSD, os.X_OK):
        pytest.fail(f"{ULVSD} not built (run make)")


def build_nat_topology(tag):
    """The picture at the top of this file; returns the Topology."""
    t = Topology(tag)
    try:
        for n in ("client", "dir", "sw", "rs1", "rs2"):
            t.add_ns(n)
        t.veth("client", "c0", "dir", "d0")
        t.veth("dir", "d1", "sw", "sd")
        t.run("sw", "ip", "link", "add", "br0", "type", "bridge")
        t.run("sw", "ip", "link", "set", "br0", "up")
        t.run("sw", "ip", "link", "set", "sd", "master", "br0", "up")
        t.addr("client", "c0", f"{CLIENT}/24")
        t.addr("dir", "d0", f"{DIRECTOR_FRONT}/24")
        t.addr("dir", "d0", f"{VIP}/32")
        t.addr("dir", "d1", f"{DIRECTOR_BACK}/24")
        for i, (name, ip) in enumerate(RS.items(), 1):
            t.veth(name, "eth0", "sw", f"s{i}")
            t.run("sw", "ip", "link", "set", f"s{i}", "master", "br0", "up")
            t.addr(name, "eth0", f"{ip}/24")
            t.run(name, "ip", "route", "add", "default", "via", DIRECTOR_BACK)
    except BaseException:
        t.close()
        raise
    return t


def start_ulvsd(t, conf_text, name="dir", backend="afpacket"):
    """Writes conf_text, starts ulvsd in namespace name and waits (<= 5 s) until
    its data plane is up: the log names the backend, and with AF_PACKET its
    nftables table is in place.  Returns (Popen, log path)."""
    conf = t.tmp / "keepalived.conf"
    conf.write_text(conf_text)
    log = t.tmp / "ulvsd.log"
    p = t.spawn(name, ULVSD, "-f", str(conf), "-l", "--backend", backend, log=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None:
            pytest.fail(f"ulvsd exited with {p.returncode}:\n{log.read_text()}")
        up = "data plane: backend" in log.read_text(errors="replace")
        if up and backend == "afpacket":
            up = t.run(name, "nft", "list", "table", "inet", "ulvs",
                       check=False).returncode == 0
        if up:
            return p, log
        time.sleep(0.05)
    pytest.fail(f"ulvsd not ready after 5 s:\n{log.read_text()}")


def stop_ulvsd(p, timeout=5):
    """SIGTERM and wait; returns the exit code."""
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout=timeout)


@pytest.fixture(scope="module")
def nat_topology():
    require_environment()
    t = build_nat_topology(f"ulvst{os.getpid() % 100000}")
    yield t
    t.close()
