"""Two data-plane workers: ulvsd --backend afxdp --workers 2 on veths with two queues.

      client (16 addresses)       director (2 workers)                 sw             rs1, rs2
   10.97.1.10-25  c0 ====2q==== d0 VIP 10.97.1.100    d1 ====2q==== sd br0 ------- nginx :80
                                   VIP2 10.97.1.101    10.97.2.1, LIP 10.97.2.200

Each veth end has two RX and two TX queues, so the kernel spreads flows over both queues
of d0 and d1 and each worker receives some of them.  The worker that owns a connection is
chosen from the client address (core/steer.h); the other hands it the frames it receives
for that connection.  NAT replies come back on d1 on whichever queue the real server's
flow hashes to, and FULLNAT replies are owned through the local port's residue class.
Checked: every request through a NAT service and a FULLNAT service succeeds; both workers
own connections, both receive frames and frames are handed over; the connection listing
and the counters cover both workers' tables; with one-queue veths the same command says it
runs one worker; --workers rejects nonsense.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Topology, ULVSD, require_environment, sh, stop_ulvsd
from rsutil import BIG_SIZE, bridge, plug, web_servers

ULVSADM = os.environ.get("ULVSADM", str(Path(ULVSD).resolve().parent.parent / "cli" / "ulvsadm"))
CLIENTS = [f"10.97.1.{i}" for i in range(10, 26)]
VIP = "10.97.1.100"
VIP2 = "10.97.1.101"
LIP = "10.97.2.200"
RS = {"rs1": "10.97.2.11", "rs2": "10.97.2.12"}

CONF = f"""! NAT on VIP:80 and FULLNAT on VIP2:80 through two workers
global_defs {{
    router_id ulvs_test_workers
}}
local_address_group laddr_w {{
    {LIP} d1
}}
virtual_server {VIP} 80 {{
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    real_server {RS['rs1']} 80 {{
        weight 1
    }}
    real_server {RS['rs2']} 80 {{
        weight 1
    }}
}}
virtual_server {VIP2} 80 {{
    lb_algo rr
    lb_kind FNAT
    protocol TCP
    laddr_group_name laddr_w
    real_server {RS['rs1']} 80 {{
        weight 1
    }}
    real_server {RS['rs2']} 80 {{
        weight 1
    }}
}}
"""


def build(tag, queues):
    t = Topology(tag)
    try:
        for n in ("client", "dir", "sw", "rs1", "rs2"):
            t.add_ns(n)
        bridge(t, "sw")
        t.veth("client", "c0", "dir", "d0", queues=queues)
        t.veth("dir", "d1", "sw", "sd", queues=queues)
        t.run("sw", "ip", "link", "set", "sd", "master", "br0", "up")
        for a in CLIENTS:
            t.addr("client", "c0", f"{a}/24")
        t.addr("dir", "d0", "10.97.1.1/24")
        t.addr("dir", "d0", f"{VIP}/32")
        t.addr("dir", "d0", f"{VIP2}/32")
        t.addr("dir", "d1", "10.97.2.1/24")
        t.addr("dir", "d1", f"{LIP}/32")
        for i, (name, ip) in enumerate(RS.items(), 1):
            plug(t, name, "eth0", "sw", f"s{i}")
            t.addr(name, "eth0", f"{ip}/24")
            t.run(name, "ip", "route", "add", "default", "via", "10.97.2.1")
    except BaseException:
        t.close()
        raise
    return t


def start(t, *extra):
    conf = t.tmp / "keepalived.conf"
    conf.write_text(CONF + f"ulvs_defs {{\n    control_socket {t.tmp}/ulvsd.sock\n}}\n")
    log = t.tmp / "ulvsd.log"
    p = t.spawn("dir", ULVSD, "-f", str(conf), "-l", "--backend", "afxdp", *extra, log=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None:
            pytest.fail(f"ulvsd exited with {p.returncode}:\n{log.read_text()}")
        # the line live_start() logs once the workers run, not the
        # "N workers asked" line that may come before it
        if re.search(r"data plane: \d+ workers? \(", log.read_text(errors="replace")):
            return p, log
        time.sleep(0.05)
    pytest.fail(f"ulvsd not ready after 5 s:\n{log.read_text()}")


def adm(t, *args):
    return sh("ip", "netns", "exec", t.ns("dir"), ULVSADM, *args,
              env={**os.environ, "ULVS_CONTROL_SOCKET": str(t.tmp / "ulvsd.sock")})


def status(t):
    return json.loads(adm(t, "--status", "--json").stdout)


def curl_from_all(t, vip, rounds):
    """rounds requests from each client address, each a new connection; returns
    the bodies; a failed request fails the test."""
    script = " ; ".join(
        f'for i in $(seq {rounds}); do curl -s -m 3 --interface {a} http://{vip}/ '
        f'|| echo "CURL-FAIL {a} $?"; done' for a in CLIENTS)
    r = t.run("client", "sh", "-c", script, timeout=len(CLIENTS) * rounds * 4 + 10, check=False)
    answers = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
    fails = [a for a in answers if a.startswith("CURL-FAIL")]
    assert not fails, f"{len(fails)} requests to {vip} failed: {fails[:3]}"
    assert len(answers) == len(CLIENTS) * rounds
    return answers


@pytest.fixture(scope="module")
def two_queues():
    require_environment()
    t = build(f"ulvswk{os.getpid() % 100000}", queues=2)
    try:
        web_servers(t, RS)
        t.ulvsd, t.log = start(t, "--workers", "2", "--cpus", "1,0")
        yield t
    finally:
        t.close()


def thread_cpus(pid, name):
    """Cpus_allowed_list of the thread of pid called name."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (task / "comm").read_text().strip() == name:
            for line in (task / "status").read_text().splitlines():
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    raise AssertionError(f"no thread {name} in {pid}")


def test_two_workers_started(two_queues):
    t = two_queues
    text = t.log.read_text()
    assert "data plane: 2 workers" in text, text
    assert "on CPUs 1,0)" in text, text
    assert re.search(r"d0 \(XDP \w+, 2 queues", text), text
    st = status(t)
    assert st["dataplane"][0]["workers"] == 2
    assert [w["worker"] for w in st["workers"]] == [0, 1]
    # --cpus 1,0: worker 0 on CPU 1, worker 1 on CPU 0
    assert [w["cpu"] for w in st["workers"]] == ["1", "0"]
    # ip netns exec execs ulvsd: the Popen's pid is ulvsd's
    assert thread_cpus(t.ulvsd.pid, "ulvs-dp0") == "1"
    assert thread_cpus(t.ulvsd.pid, "ulvs-dp1") == "0"


def test_nat_and_fullnat_across_workers(two_queues):
    t = two_queues
    before = {w["worker"]: w for w in status(t)["workers"]}
    nat = curl_from_all(t, VIP, 3)
    fnat = curl_from_all(t, VIP2, 3)
    # both real servers answer through both services
    assert set(nat) == {"rs1", "rs2"} and set(fnat) == {"rs1", "rs2"}
    st = status(t)
    after = {w["worker"]: w for w in st["workers"]}
    delta = {k: {f: after[k][f] - before[k][f] for f in
                 ("rx", "handed_out", "handed_in", "processed", "new_conns", "hand_drops",
                  "rounds", "sleeps")}
             for k in after}
    total_new = sum(d["new_conns"] for d in delta.values())
    assert total_new == 2 * len(CLIENTS) * 3, delta
    # 16 client addresses: both workers own connections (chance of all on one: 2^-15)
    assert all(d["new_conns"] > 0 for d in delta.values()), delta
    # both queues carried frames, and frames crossed between the workers
    assert all(d["rx"] > 0 for d in delta.values()), delta
    assert sum(d["handed_out"] for d in delta.values()) > 0, delta
    assert sum(d["handed_out"] for d in delta.values()) == \
        sum(d["handed_in"] for d in delta.values()), delta
    assert all(d["hand_drops"] == 0 for d in delta.values()), delta
    # each worker polled, and waited for work between bursts (curl is slow)
    assert all(0 < d["sleeps"] <= d["rounds"] for d in delta.values()), delta
    # nothing the engine needed was dropped for lack of a connection
    drops = {d["reason"]: d["packets"] for d in st["drops"]}
    assert drops.get("not_syn", 0) == 0, drops


def test_listing_and_counters_cover_both_workers(two_queues):
    t = two_queues
    st = status(t)
    per_worker = sum(w["conns"] for w in st["workers"])
    assert all(w["conns"] > 0 for w in st["workers"]), st["workers"]
    listed = [ln for ln in adm(t, "-L", "-n", "-c").stdout.splitlines()
              if ln.startswith("TCP")]
    # the listing walks both tables (connections may expire meanwhile: TIME_WAIT is 2 min)
    assert len(listed) == per_worker, (len(listed), per_worker)
    stats = adm(t, "-L", "-n", "--stats").stdout
    m = re.search(rf"TCP\s+{re.escape(VIP)}:80\s+(\d+)", stats)
    assert m and int(m.group(1)) == len(CLIENTS) * 3, stats


def test_reload_keeps_clients_on_their_worker(two_queues):
    """A reload adding a service with persistence over a /24 (coarser than any
    before) must not re-steer clients: each connection lives in one worker's
    table, and a client moved to the other worker would lose it.  16 slow
    downloads, one per client address (all in one /24), run across the reload
    and must all complete."""
    t = two_queues
    dls = [subprocess.Popen(["ip", "netns", "exec", t.ns("client"), "curl", "-s", "-m", "30",
                             "--interface", a, "--limit-rate", "1M", "-o", "/dev/null",
                             "-w", "%{size_download}", f"http://{VIP}/big"],
                            stdout=subprocess.PIPE, text=True) for a in CLIENTS]
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            est = [ln for ln in adm(t, "-L", "-n", "-c").stdout.splitlines()
                   if "ESTABLISHED" in ln and f"{VIP}:80" in ln]
            if len(est) >= len(CLIENTS):
                break
            time.sleep(0.1)
        assert len(est) >= len(CLIENTS), est
        conf = t.tmp / "keepalived.conf"
        conf.write_text(conf.read_text() + f"""
virtual_server {VIP2} 8080 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout 60
    persistence_granularity 255.255.255.0
    real_server {RS['rs1']} 80 {{
        weight 1
    }}
}}
""")
        t.ulvsd.send_signal(signal.SIGHUP)
        # the data plane hears of the new tables after "applied" is logged
        kept = r"persistence granularity /24 .* coarser than the workers' steering prefix /32"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not re.search(kept, t.log.read_text()):
            time.sleep(0.1)
        text = t.log.read_text()
        assert "applied" in text, text[-2000:]
        assert re.search(kept, text), text[-2000:]
        got = [int(p.communicate(timeout=30)[0] or 0) for p in dls]
    finally:
        for p in dls:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert got == [BIG_SIZE] * len(CLIENTS), got
    # the new persistent service works
    r = t.run("client", "curl", "-s", "-m", "3", "--interface", CLIENTS[0],
              f"http://{VIP2}:8080/", check=False)
    assert r.stdout.strip() == "rs1", r.stdout


def test_stop_is_clean(two_queues):
    t = two_queues
    assert stop_ulvsd(t.ulvsd) == 0
    text = t.log.read_text()
    assert "data plane stopped" in text, text
    assert not t.run("dir", "ip", "link", "show", "d0").stdout.count("xdp"), "XDP left attached"


def test_one_queue_means_one_worker():
    require_environment()
    t = build(f"ulvswq{os.getpid() % 100000}", queues=1)
    try:
        p, log = start(t, "--workers", "2")
        text = log.read_text()
        assert "2 workers asked, the interfaces have 1 queue: 1 worker" in text, text
        assert "data plane: 1 worker " in text, text
        assert stop_ulvsd(p) == 0
    finally:
        t.close()


@pytest.mark.parametrize("bad, why", [
    ("x", "--cpus takes a list of CPU numbers and ranges such as 2,3 or 0-3, not 'x'"),
    ("3-1", "not '3-1'"),
    ("0,", "not '0,'"),
    ("0,0", "CPU 0 is listed twice"),
    (str(os.cpu_count() + 7), "is not one this process may run on"),
])
def test_bad_cpus_option(bad, why):
    r = sh(ULVSD, "-t", "--cpus", bad, check=False)
    assert r.returncode == 2
    assert why in r.stderr, r.stderr


@pytest.mark.parametrize("bad", ["0", "-1", "two", "65"])
def test_bad_workers_option(bad):
    r = sh(ULVSD, "-t", "--workers", bad, check=False)
    assert r.returncode == 2
    assert "--workers takes a number from 1 to 64" in r.stderr
