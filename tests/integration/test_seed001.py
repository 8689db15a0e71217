"""Seed 001 as written: tests/conf/good/seed001-master (keepalived.conf and its
conf.d/*.conf) run live by ulvsd, with only the addresses moved from the
seed's 10.0.0.0/24 to the test subnet 10.96.0.0/24 (the director's interface
keeps the seed's name, eth0), then the seed's test plan.

One LAN, as in the seed (bridge br0 in namespace "sw"):

   client 10.96.0.2       director (ulvsd, VRRP MASTER VI_1)       rs1 10.96.0.10   rs2 10.96.0.20
   +------------+        +--------------------------------+      +--------------+ +--------------+
   | eth0       |        | eth0 10.96.0.5/24              |      | eth0         | | eth0         |
   +-----+------+        |  + VIP 10.96.0.100/24 (eth0:1, |      | VIP on lo    | | VIP on lo    |
         |               |    added by the VRRP instance) |      | (ulvs-rs dr) | | (ulvs-rs dr) |
         |               | nginx :80 = sorry page         |      | nginx :80    | | nginx :80    |
         |               +---------------+----------------+      +------+-------+ +------+-------+
         |                               |                              |                |
   ------+-------------------------------+------------ br0 -------------+----------------+------

virtual_server VIP 80: rr, DR, HTTP_GET /index.html (status 200) on both real
servers every delay_loop 3 s (the seed's value, kept), sorry_server 127.0.0.1 80.
A sorry server on the director itself is served by the director's own kernel,
so the director runs nginx on port 80 as the seed's node does; ulvsd runs with
`--backend auto`, which picks AF_PACKET for such a service.

Test plan (the seed's): step 1, curl the VIP repeatedly: both real servers
answer, 1:1; step 3, stop nginx on both real servers: once the checkers have
noticed, the sorry page answers.  Then nginx comes back and so do the servers.
"""
import collections
import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from conftest import ROOT, ULVSD, Topology, require_environment, stop_ulvsd
from rsutil import bridge, curl_many, plug, require_rs, rs, ulvsd_log

SEED = ROOT / "tests" / "conf" / "good" / "seed001-master"
SEED_NET, NET = "10.0.0.", "10.96.0."
CLIENT = NET + "2"
DIRECTOR = NET + "5"
VIP = NET + "100"
RS = {"rs1": NET + "10", "rs2": NET + "20"}
SORRY = "sorry from the director"
ROUNDS = 20


def adapt_seed(dst):
    """Copies the seed's configuration tree to dst with the addresses moved
    to the test subnet; nothing else changes.  Returns the keepalived.conf path."""
    shutil.copytree(SEED, dst)
    for f in sorted(Path(dst).rglob("*.conf")):
        text = f.read_text()
        new = text.replace(SEED_NET, NET)
        # Only the addresses moved: the same text once they are masked.
        mask = re.compile(r"10\.(0|96)\.0\.(\d+)")
        assert mask.sub(r"A.\2", new) == mask.sub(r"A.\2", text)
        f.write_text(new)
    return Path(dst) / "keepalived.conf"


def build(tag):
    t = Topology(tag)
    try:
        t.add_ns("sw")
        bridge(t, "sw")
        for i, (name, ip) in enumerate((("client", CLIENT), ("dir", DIRECTOR), *RS.items())):
            t.add_ns(name)
            plug(t, name, "eth0", "sw", f"p{i}")
            t.addr(name, "eth0", f"{ip}/24")
    except BaseException:
        t.close()
        raise
    return t


def nginx_pid(t, name):
    return int((t.tmp / name / "nginx.pid").read_text().strip())


def wait_until(what, cond, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    pytest.fail(f"{what}: not within {timeout} s")


def vip_on_eth0(t):
    out = t.run("dir", "ip", "-4", "addr", "show", "dev", "eth0").stdout
    return f"inet {VIP}/24" in out and "eth0:1" in out


@pytest.fixture(scope="module")
def seed():
    require_environment()
    require_rs()
    t = build(f"ulvss1{os.getpid() % 100000}")
    try:
        for name in RS:
            rs(t, name, "dr", "start", "--vip", VIP)
            t.nginx(name, "80", name)          # DR delivers to the VIP on lo
        # The sorry server: the director's own nginx on port 80.
        t.nginx("dir", "80", SORRY)
        conf = adapt_seed(t.tmp / "etc")
        t.log = t.tmp / "ulvsd.log"
        # ULVS_CONTROL_SOCKET (Topology.env) keeps the control socket ours.
        t.ulvsd = t.spawn("dir", ULVSD, "-f", str(conf), "-l", "--backend", "auto", log=t.log)

        def ready():
            if t.ulvsd.poll() is not None:
                pytest.fail(f"ulvsd exited with {t.ulvsd.returncode}:\n{ulvsd_log(t)}")
            text = ulvsd_log(t)
            return "data plane: backend" in text and "checkers on" in text
        wait_until("ulvsd up", ready, 5, 0.05)
        # VRRP: MASTER with nobody else on the LAN adds the VIP (the seed's
        # advert_int 1: master within 3 * 1 s + skew).
        wait_until("VRRP master with the VIP on eth0", lambda: vip_on_eth0(t), 8)
        yield t
    finally:
        for name in RS:
            rs(t, name, "dr", "stop", check=False)
        t.close()


def test_config_loaded_as_written(seed):
    log = ulvsd_log(seed)
    assert "data plane: backend AF_PACKET" in log, log
    # the seed's notify_* lines sit outside their block: warnings, not errors
    assert seed.ulvsd.poll() is None


def test_step1_both_real_servers_answer_1_to_1(seed):
    answers = curl_many(seed, f"http://{VIP}/", ROUNDS)
    assert dict(collections.Counter(answers)) == {"rs1": ROUNDS // 2, "rs2": ROUNDS // 2}, answers


def test_step3_sorry_page_when_real_servers_are_down(seed):
    for name in RS:
        os.kill(nginx_pid(seed, name), signal.SIGTERM)
    for name, ip in RS.items():
        wait_until(f"nginx on {name} stopped",
                   lambda ip=ip: seed.run("client", "curl", "-s", "-m", "1", f"http://{ip}/",
                                          check=False).returncode != 0, 5)
    # HTTP_GET with delay_loop 3, nb_get_retry 3, delay_before_retry 1:
    # a server is down within about 3 + 3 * (1 + 1) s of nginx going away.
    wait_until("sorry page served",
               lambda: seed.run("client", "curl", "-s", "-m", "1", f"http://{VIP}/",
                                check=False).stdout.strip() == SORRY, 20, 0.5)
    answers = curl_many(seed, f"http://{VIP}/", 6)
    assert set(answers) == {SORRY}, answers


def test_real_servers_come_back(seed):
    for name in RS:
        seed.run(name, "nginx", "-c", str(seed.tmp / name / "nginx.conf"))
    # Each checker brings its server back on its own next success.
    wait_until("both real servers back in service",
               lambda: {seed.run("client", "curl", "-s", "-m", "1", f"http://{VIP}/",
                                 check=False).stdout.strip() for _ in range(3)} == set(RS),
               20, 0.5)
    answers = curl_many(seed, f"http://{VIP}/", ROUNDS)
    assert dict(collections.Counter(answers)) == {"rs1": ROUNDS // 2, "rs2": ROUNDS // 2}, answers


def test_clean_stop(seed):
    assert stop_ulvsd(seed.ulvsd) == 0, ulvsd_log(seed)
    assert not vip_on_eth0(seed)
