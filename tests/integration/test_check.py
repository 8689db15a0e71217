"""Health checks end to end: failover, recovery, sorry server, quorum, MISC timeout.

      client            director (ulvsd + checkers)        sw            rs1 10.99.2.11 nginx
   10.99.1.2 ---- d0 VIP 10.99.1.100    d1 10.99.2.1 ---- br0 ---------- rs2 10.99.2.12 nginx
                                                                  \\----- sorry 10.99.2.13 nginx

The conftest NAT topology plus a "sorry" namespace on the same bridge.  Services:
  VIP:80  rr over rs1 (HTTP_GET) and rs2 (TCP_CHECK), default quorum 1, sorry server;
  VIP:81  the same servers (TCP_CHECK) with quorum 2: one server down loses the quorum,
          quorum_down runs and the sorry server takes over although one server lives;
  VIP:82  rs1 with a MISC_CHECK whose script hangs: killed at misc_timeout every time.
Timing is keepalived's with delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1:
detection bound = delay_loop + (retry+1)*connect_timeout + retry*delay_before_retry = 4 s.
"""
import os
import re
import signal
import subprocess
import time

import pytest
from pathlib import Path

from conftest import RS, ULVSD, VIP, stop_ulvsd

ULVSADM = os.environ.get("ULVSADM", str(Path(ULVSD).resolve().parent.parent / "cli" / "ulvsadm"))


def listed_servers(t, port=80):
    """The real servers ulvsadm -L -n shows for VIP:port (ipvsadm's layout)."""
    out = t.run("dir", ULVSADM, "-L", "-n", "-t", f"{VIP}:{port}").stdout
    return sorted(l.split()[1].split(":")[0] for l in out.splitlines()
                  if l.strip().startswith("->") and "RemoteAddress" not in l)

SORRY = "10.99.2.13"
DELAY_LOOP, CONNECT_TIMEOUT, RETRY, DELAY_BEFORE_RETRY = 1, 1, 1, 1
BOUND = DELAY_LOOP + (RETRY + 1) * CONNECT_TIMEOUT + RETRY * DELAY_BEFORE_RETRY
SLACK = 1.0   # scheduling and log polling


def conf_text(tmp):
    common = (f"connect_timeout {CONNECT_TIMEOUT} retry {RETRY} "
              f"delay_before_retry {DELAY_BEFORE_RETRY}")
    return f"""! health checks: keepalived semantics
global_defs {{
    router_id ulvs_test_check
}}
virtual_server {VIP} 80 {{
    delay_loop {DELAY_LOOP}
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server {SORRY} 80
    quorum_down "/bin/sh -c 'echo down80 >> {tmp}/quorum'"
    quorum_up "/bin/sh -c 'echo up80 >> {tmp}/quorum'"
    real_server {RS['rs1']} 80 {{
        weight 1
        notify_down "/bin/sh -c 'echo rs1down >> {tmp}/notify'"
        notify_up "/bin/sh -c 'echo rs1up >> {tmp}/notify'"
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            {common}
        }}
    }}
    real_server {RS['rs2']} 80 {{
        weight 1
        TCP_CHECK {{
            {common}
        }}
    }}
}}
virtual_server {VIP} 81 {{
    delay_loop {DELAY_LOOP}
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server {SORRY} 80
    quorum_down "/bin/sh -c 'echo down81 >> {tmp}/quorum'"
    quorum_up "/bin/sh -c 'echo up81 >> {tmp}/quorum'"
    real_server {RS['rs1']} 80 {{
        TCP_CHECK {{
            {common}
        }}
    }}
    real_server {RS['rs2']} 80 {{
        TCP_CHECK {{
            {common}
        }}
    }}
}}
virtual_server {VIP} 82 {{
    delay_loop {DELAY_LOOP}
    lb_kind NAT
    protocol TCP
    real_server {RS['rs1']} 80 {{
        MISC_CHECK {{
            misc_path "/bin/sh -c 'sleep 61.37'"
            misc_timeout 1
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def hc(nat_topology):
    t = nat_topology
    t.add_ns("sorry")
    t.veth("sorry", "eth0", "sw", "s9")
    t.run("sw", "ip", "link", "set", "s9", "master", "br0", "up")
    t.addr("sorry", "eth0", f"{SORRY}/24")
    t.run("sorry", "ip", "route", "add", "default", "via", "10.99.2.1")
    t.www = {}
    for name, ip in RS.items():
        t.www[name] = t.nginx(name, f"{ip}:80", name)
    t.www["sorry"] = t.nginx("sorry", f"{SORRY}:80", "sorry")
    t.ulvsd, t.ulvsd_log = start(t, conf_text(t.tmp))
    # Let every checker run once (first runs are spread over warmup = delay_loop): before
    # its first success a single failure takes a server down, which would make the
    # detection time below look better than steady state.
    wait_for(lambda: log_count(t, r"MISC_CHECK .* DOWN") >= 1, 6, t, "first MISC timeout")
    time.sleep(DELAY_LOOP + 1)
    yield t
    assert stop_ulvsd(t.ulvsd) == 0


def start(t, text):
    """ulvsd in the director namespace; ready when the checkers have started (they start
    after the data plane is up, whichever packet backend it chose)."""
    conf = t.tmp / "keepalived.conf"
    conf.write_text(text)
    log = t.tmp / "ulvsd.log"
    p = t.spawn("dir", ULVSD, "-f", str(conf), "-l", log=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None:
            pytest.fail(f"ulvsd exited with {p.returncode}:\n{log.read_text()}")
        if re.search(r"check: \d+ checkers? on \d+ real servers? started", log.read_text()):
            return p, log
        time.sleep(0.05)
    pytest.fail(f"ulvsd not ready after 5 s:\n{log.read_text()}")


def log_text(t):
    return t.ulvsd_log.read_text()


def log_count(t, pattern):
    return len(re.findall(pattern, log_text(t)))


def wait_for(cond, timeout, t, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout} s\n--- ulvsd log ---\n{log_text(t)}")


def curl(t, port=80, timeout=2):
    r = t.run("client", "curl", "-s", "-m", str(timeout), f"http://{VIP}:{port}/",
              timeout=timeout + 2, check=False)
    return r.stdout.strip() if r.returncode == 0 else f"ERR{r.returncode}"


def nginx_stop(t, name):
    """Stops nginx; returns when the signal was sent (nginx closes its listening socket
    at once, its master may linger longer), so a detection time measured from here is an
    upper bound."""
    pid = int((t.www[name] / "nginx.pid").read_text().strip())
    sent = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    deadline = sent + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return sent
        time.sleep(0.02)
    pytest.fail(f"nginx on {name} did not stop")


def nginx_start(t, name):
    t.run(name, "nginx", "-c", str(t.www[name] / "nginx.conf"))
    return time.monotonic()


def rs_event(name, state):
    return rf"real server {re.escape(RS[name])}:80 of VS {re.escape(VIP)}:80: {state}"


def test_all_up_round_robin(hc):
    answers = [curl(hc) for _ in range(6)]
    assert set(answers) == {"rs1", "rs2"}, answers
    assert listed_servers(hc) == sorted([RS["rs1"], RS["rs2"]])
    assert curl(hc, 81) in ("rs1", "rs2")


def test_detection_and_recovery(hc):
    downs = log_count(hc, rs_event("rs1", "DOWN"))
    t0 = nginx_stop(hc, "rs1")
    wait_for(lambda: log_count(hc, rs_event("rs1", "DOWN")) > downs, BOUND + SLACK + 1, hc,
             "rs1 detected down")
    detect = time.monotonic() - t0
    print(f"\nrs1 down detected in {detect:.2f} s (bound {BOUND} s = delay_loop {DELAY_LOOP} + "
          f"(retry {RETRY}+1) x connect_timeout {CONNECT_TIMEOUT} + retry x delay_before_retry "
          f"{DELAY_BEFORE_RETRY})")
    assert detect <= BOUND + SLACK
    # no new connection goes to rs1 any more, and ulvsadm lists only live servers
    answers = [curl(hc) for _ in range(8)]
    assert answers == ["rs2"] * 8, answers
    assert listed_servers(hc) == [RS["rs2"]]
    wait_for(lambda: "rs1down" in (hc.tmp / "notify").read_text()
             if (hc.tmp / "notify").exists() else False, 3, hc, "notify_down")
    # VIP:81 has quorum 2: one server left loses it; the sorry server answers there
    wait_for(lambda: (hc.tmp / "quorum").exists() and
             "down81" in (hc.tmp / "quorum").read_text(), 3, hc, "quorum_down of VIP:81")
    assert [curl(hc, 81) for _ in range(4)] == ["sorry"] * 4
    assert "down80" not in (hc.tmp / "quorum").read_text()

    ups = log_count(hc, rs_event("rs1", "UP"))
    t1 = nginx_start(hc, "rs1")
    wait_for(lambda: log_count(hc, rs_event("rs1", "UP")) > ups, DELAY_LOOP + 2 + SLACK, hc,
             "rs1 back up")
    print(f"rs1 back in {time.monotonic() - t1:.2f} s")
    wait_for(lambda: "up81" in (hc.tmp / "quorum").read_text(), 3, hc, "quorum_up of VIP:81")
    answers = [curl(hc) for _ in range(6)]
    assert set(answers) == {"rs1", "rs2"}, answers
    assert listed_servers(hc) == sorted([RS["rs1"], RS["rs2"]])
    assert curl(hc, 81) in ("rs1", "rs2")
    assert "rs1up" in (hc.tmp / "notify").read_text()


def test_all_down_sorry_server(hc):
    n_down = log_count(hc, r"VS 10\.99\.1\.100:80: lost quorum")
    t0 = time.monotonic()
    nginx_stop(hc, "rs1")
    nginx_stop(hc, "rs2")
    wait_for(lambda: log_count(hc, r"VS 10\.99\.1\.100:80: lost quorum") > n_down,
             BOUND + SLACK + 1, hc, "VIP:80 quorum lost with every server down")
    print(f"\nall servers down -> sorry server in {time.monotonic() - t0:.2f} s")
    assert [curl(hc) for _ in range(4)] == ["sorry"] * 4
    assert "down80" in (hc.tmp / "quorum").read_text()
    nginx_start(hc, "rs1")
    nginx_start(hc, "rs2")
    wait_for(lambda: "up80" in (hc.tmp / "quorum").read_text(), DELAY_LOOP + 3 + SLACK, hc,
             "quorum back on VIP:80")
    wait_for(lambda: set(curl(hc) for _ in range(4)) == {"rs1", "rs2"}, 4, hc,
             "both servers back")


def test_misc_hanging_script_killed(hc):
    # Each run hangs in sleep and is killed at misc_timeout 1 s; were the kill to miss
    # the script's child, sleeps (61 s each) would pile up, one per run.
    # The sample may fall in the instant between one run's kill and its reaping
    # while the next run has started, hence <= 2; the checker has run every
    # ~2 s since the module's director started, so kills that missed would
    # have left more than that by now.
    runs0 = log_count(hc, r"MISC_CHECK")
    time.sleep(4.5)
    procs = subprocess.run(["pgrep", "-f", "[s]leep 61.37"], capture_output=True, text=True)
    alive = len(procs.stdout.split())
    assert alive <= 2, f"{alive} hanging scripts alive: {procs.stdout}"
    log = log_text(hc)
    assert re.search(r"MISC_CHECK /bin/sh -c 'sleep 61\.37' on 10\.99\.2\.11:80 of VS "
                     r"10\.99\.1\.100:82: DOWN .*script timed out after 1000 ms, killed", log), log
    # the server stays out (one log line for the change, none per failed run)
    assert log_count(hc, r"real server 10\.99\.2\.11:80 of VS 10\.99\.1\.100:82: DOWN") == 1
    assert log_count(hc, r"MISC_CHECK") == runs0
