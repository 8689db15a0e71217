"""Helpers shared by the DR, TUN and FULLNAT end-to-end tests (test_dr.py,
test_tun.py, test_fnat.py): where ulvs-rs is, a bridged LAN, nginx real servers
with a big file, curl loops run inside the client namespace in one process (one
`ip netns exec` per request would dominate the run time), and a cgroup of our own
for the TOA hooks.  Topology and process ownership stay with conftest.Topology.
"""
import collections
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ULVSD, sh

ULVS_RS = os.environ.get("ULVS_RS", str(Path(ULVSD).resolve().parents[1] / "rs" / "ulvs-rs"))
CGROUP2 = "/sys/fs/cgroup/unified"
BIG_SIZE = 4 * 1000 * 1000


def require_rs():
    if not os.access(ULVS_RS, os.X_OK):
        pytest.fail(f"{ULVS_RS} not built (run make, or set ULVS_RS)")


def bridge(t, ns, br="br0"):
    t.run(ns, "ip", "link", "add", br, "type", "bridge")
    t.run(ns, "ip", "link", "set", br, "up")


def plug(t, ns, ifname, sw, port, br="br0"):
    """A veth from namespace ns (ifname) to a port of bridge br in namespace sw."""
    t.veth(ns, ifname, sw, port)
    t.run(sw, "ip", "link", "set", port, "master", br, "up")


def forwarding(t, ns):
    t.run(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    # Direct-return modes are asymmetric by design: replies come back on
    # another path than requests, so the router must not filter on reverse path.
    t.run(ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0")
    t.run(ns, "sysctl", "-q", "-w", "net.ipv4.conf.default.rp_filter=0")


def rs(t, ns, *args, check=True):
    """ulvs-rs inside namespace ns; returns the CompletedProcess."""
    r = t.run(ns, ULVS_RS, *args, timeout=20, check=False)
    if check and r.returncode != 0:
        pytest.fail(f"ulvs-rs {' '.join(args)} in {ns}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def web_servers(t, servers, port=80, cgroup=None, wildcard=False):
    """nginx on every (ns, ip) of servers answering its name at / and a random
    BIG_SIZE file at /big; with wildcard it listens on every address (DR and
    TUN deliver to the VIP on lo).  Returns (dict name -> nginx dir, md5 of big)."""
    big = os.urandom(BIG_SIZE)
    dirs = {}
    for name, ip in servers.items():
        d = nginx_in(t, name, f"{port}" if wildcard else f"{ip}:{port}", name, cgroup)
        (d / "www" / "big").write_bytes(big)
        dirs[name] = d
    return dirs, hashlib.md5(big).hexdigest()


def nginx_in(t, name, listen, body, cgroup=None):
    """Like Topology.nginx, but logs "$remote_addr $remote_port" and, with
    cgroup, starts nginx inside that cgroup v2 directory (its workers follow)."""
    d = t.tmp / name
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
    log_format peer '$remote_addr $remote_port "$request" $status $body_bytes_sent';
    access_log {d}/access.log peer;
    client_body_temp_path {d}/body;
    server {{ listen {listen}; root {d}/www; }}
}}
""")
    t.pidfiles.append(d / "nginx.pid")
    cmd = ["ip", "netns", "exec", t.ns(name), "nginx", "-c", str(conf)]
    if cgroup:
        # The shell joins the cgroup, then becomes nginx: no window in which
        # a process of ours runs outside it.
        cmd = ["sh", "-c", f'echo $$ > "{cgroup}/cgroup.procs" && exec "$@"', "sh", *cmd]
    sh(*cmd)
    return d


def curl_many(t, url, n, ns="client", timeout=3):
    """n sequential requests from namespace ns, each a new connection; returns
    the list of bodies (stripped); a failed request fails the test."""
    script = (f'for i in $(seq {n}); do curl -s -m {timeout} "{url}" || echo "CURL-FAIL $?"; '
              f'done')
    r = t.run(ns, "sh", "-c", script, timeout=n * (timeout + 1) + 5, check=False)
    answers = [line.strip() for line in r.stdout.splitlines() if line.strip()]
    fails = [a for a in answers if a.startswith("CURL-FAIL")]
    assert not fails, f"{len(fails)} of {n} requests to {url} failed: {fails[:3]}"
    assert len(answers) == n, answers
    return answers


def assert_ratio(answers, expected):
    """expected: {name: weight}; over a whole number of wrr cycles the counts
    are exactly proportional to the weights."""
    counts = collections.Counter(answers)
    total = sum(expected.values())
    assert len(answers) % total == 0
    want = {k: w * len(answers) // total for k, w in expected.items()}
    assert dict(counts) == want, f"got {dict(counts)}, want {want}"


def download(t, url, ns="client", timeout=20):
    r = subprocess.run(["ip", "netns", "exec", t.ns(ns), "curl", "-s", "-m", str(timeout), url],
                       capture_output=True, timeout=timeout + 5)
    assert r.returncode == 0, f"download {url}: curl exit {r.returncode}"
    return r.stdout


def peers_logged(d):
    """Client addresses nginx logged in directory d."""
    log = d / "access.log"
    if not log.exists():
        return []
    return [line.split()[0] for line in log.read_text().splitlines() if line.strip()]


def make_cgroup(tag):
    """A cgroup v2 directory of our own (so TOA hooks touch nothing else on the
    host); returns its path or skips when cgroup v2 is not mounted there."""
    if not os.path.isdir(CGROUP2) or not os.path.exists(f"{CGROUP2}/cgroup.procs"):
        pytest.skip(f"kernel feature missing: cgroup v2 not mounted at {CGROUP2}")
    path = f"{CGROUP2}/{tag}"
    os.mkdir(path)
    return path


def remove_cgroup(path):
    # Processes are gone by now (Topology.close killed nginx); the kernel
    # takes a moment to notice the last one left.
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            subprocess.run(["sleep", "0.1"])
    shutil.rmtree(path, ignore_errors=True)


def ulvsd_log(t):
    p = t.tmp / "ulvsd.log"
    return p.read_text() if p.exists() else "(no log)"


BACKEND = os.environ.get("ULVS_BACKEND", "afpacket")


def start_director(t, conf_text, name="dir", backend=BACKEND):
    """ulvsd in namespace name with the given packet backend (ULVS_BACKEND,
    default afpacket); waits (<= 5 s) for its "data plane: backend" line.
    Returns (Popen, log path).  conftest.start_ulvsd waits for the nftables
    table, which only the AF_PACKET backend installs."""
    conf = t.tmp / "keepalived.conf"
    # /run is shared by every namespace: each test director gets its own
    # control socket, or parallel runs refuse to start (EADDRINUSE).
    conf.write_text(conf_text + f"ulvs_defs {{\n    control_socket {t.tmp}/ulvsd.sock\n}}\n")
    log = t.tmp / "ulvsd.log"
    p = t.spawn(name, ULVSD, "-f", str(conf), "-l", "--backend", backend, log=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None:
            pytest.fail(f"ulvsd exited with {p.returncode}:\n{log.read_text()}")
        text = log.read_text() if log.exists() else ""
        if "data plane: backend" in text and "checkers on" in text:
            # The control socket comes up last; a failure there ends the daemon.
            time.sleep(0.2)
            if p.poll() is not None:
                pytest.fail(f"ulvsd exited with {p.returncode}:\n{log.read_text()}")
            return p, log
        time.sleep(0.05)
    pytest.fail(f"ulvsd not ready after 5 s:\n{log.read_text()}")


def build_dr_lan(tag, net, client, director, vip, servers):
    """The DR topology of test_dr.py and test_fwmark.py, on net (e.g. "10.98"):

        client NET.1.x -- router (NET.1.1 | NET.2.1) -- LAN bridge "sw"
                                                         |- dir d0 (director, VIP/32)
                                                         |- rs1, rs2 ... eth0
    Everything on the LAN routes via the router; replies go straight back."""
    from conftest import Topology
    t = Topology(tag)
    try:
        for n in ("client", "router", "sw", "dir", *servers):
            t.add_ns(n)
        bridge(t, "sw")
        t.veth("client", "c0", "router", "r0")
        plug(t, "router", "r1", "sw", "sr")
        plug(t, "dir", "d0", "sw", "sd")
        t.addr("client", "c0", f"{client}/24")
        t.run("client", "ip", "route", "add", "default", "via", f"{net}.1.1")
        t.addr("router", "r0", f"{net}.1.1/24")
        t.addr("router", "r1", f"{net}.2.1/24")
        forwarding(t, "router")
        t.addr("dir", "d0", f"{director}/24")
        t.addr("dir", "d0", f"{vip}/32")
        t.run("dir", "ip", "route", "add", "default", "via", f"{net}.2.1")
        for i, (name, ip) in enumerate(servers.items(), 1):
            plug(t, name, "eth0", "sw", f"s{i}")
            t.addr(name, "eth0", f"{ip}/24")
            t.run(name, "ip", "route", "add", "default", "via", f"{net}.2.1")
    except BaseException:
        t.close()
        raise
    return t
