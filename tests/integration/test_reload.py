"""SIGHUP reload of a live ulvsd: the new config applies atomically, connections
carry on, checkers of unchanged real servers keep their state, a bad file changes
nothing.

      client            director (ulvsd)              sw        rs1 10.99.2.11
  +-----------+     +--------------------+      +---------+--- rs2 10.99.2.12
  | 10.99.1.2 |-----| VIP 10.99.1.100    |------|  br0    |
  +-----------+     | 10.99.2.1          |      +---------+--- rs3 10.99.2.13
                    +--------------------+

conftest.py's NAT topology plus rs3 on the same bridge; namespaces tagged
"ulvsrl<pid>".  Config 1: VIP:80 over rs1 and rs2, VIP:81 over rs1.  A slow
download runs through VIP:80 to one of them (B; the other is O).  Config 2: VIP:80
keeps O with weight 3 and the same checker, drops B, adds rs3; VIP:81 goes; VIP:82
(rs3) is new.  Every checker is alpha, so a checker that started again would log
"DOWN at start (alpha)" and a fresh "UP": a carried one logs neither.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import RS, ULVSD, VIP, build_nat_topology, require_environment, start_ulvsd

ULVSADM = os.environ.get("ULVSADM", str(Path(ULVSD).resolve().parents[1] / "cli" / "ulvsadm"))
RS3 = "10.99.2.13"
BIG_SIZE = 4 * 1000 * 1000
NAMES = {RS["rs1"]: "rs1", RS["rs2"]: "rs2", RS3: "rs3"}

CHECK = """TCP_CHECK {
                connect_timeout 1
                retry 1
                delay_before_retry 1
            }"""


def real(ip, weight=1):
    return f"""    real_server {ip} 80 {{
        weight {weight}
        alpha
        {CHECK}
    }}
"""


def vs(port, body):
    return f"""virtual_server {VIP} {port} {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
{body}}}
"""


def conf1():
    return ("global_defs {\n    router_id ulvs_test_reload\n}\n" +
            vs(80, real(RS["rs1"]) + real(RS["rs2"])) + vs(81, real(RS["rs1"])))


def conf2(other):
    return ("global_defs {\n    router_id ulvs_test_reload\n}\n" +
            vs(80, real(other, weight=3) + real(RS3)) + vs(82, real(RS3)))


@pytest.fixture(scope="module")
def t():
    require_environment()
    if not os.access(ULVSADM, os.X_OK):
        pytest.fail(f"{ULVSADM} not built")
    topo = build_nat_topology(f"ulvsrl{os.getpid() % 100000}")
    try:
        topo.add_ns("rs3")
        topo.veth("rs3", "eth0", "sw", "s3")
        topo.run("sw", "ip", "link", "set", "s3", "master", "br0", "up")
        topo.addr("rs3", "eth0", f"{RS3}/24")
        topo.run("rs3", "ip", "route", "add", "default", "via", "10.99.2.1")
        big = os.urandom(BIG_SIZE)
        for name, ip in [*RS.items(), ("rs3", RS3)]:
            w = topo.nginx(name, f"{ip}:80", name)
            (w / "www" / "big").write_bytes(big)
        topo.big_md5 = hashlib.md5(big).hexdigest()
        topo.ulvsd, topo.log = start_ulvsd(topo, conf1())
        topo.conf = topo.tmp / "keepalived.conf"
        yield topo
    finally:
        topo.close()


def adm(t, *args):
    r = t.run("dir", ULVSADM, *args, check=False)
    assert r.returncode == 0, f"ulvsadm {' '.join(args)}: {r.stderr}"
    return r.stdout


def curl(t, port, path="/", timeout=2):
    return t.run("client", "curl", "-s", "-m", str(timeout), f"http://{VIP}:{port}{path}",
                 timeout=timeout + 3, check=False)


def log_text(t):
    return t.log.read_text(errors="replace")


def wait_log(t, pattern, count=1, timeout=8):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(re.findall(pattern, log_text(t))) >= count:
            return
        time.sleep(0.1)
    pytest.fail(f"log never showed {pattern!r} x{count}:\n{log_text(t)}")


def reload_with(t, text):
    n = log_text(t).count("ulvsd: reload: reading")
    t.conf.write_text(text)
    t.ulvsd.send_signal(signal.SIGHUP)
    wait_log(t, "ulvsd: reload: reading", n + 1)
    # done when it says applied, invalid, or refused
    wait_log(t, r"reload: .*(applied|the running configuration stays)", n + 1)


def services(t):
    """{(proto, vip:port): {rs:port: (fwd, weight)}} from ulvsadm -L -n --json.

    JSON because it lists every configured real server whatever its health
    (the text listing, like ipvsadm's, hides those the checkers took out, and
    these alpha checkers start down): a reload is about configuration."""
    out = {}
    for s in json.loads(adm(t, "-L", "-n", "--json"))["services"]:
        key = ("FWM", str(s["fwmark"])) if "fwmark" in s else \
            (s["protocol"].upper(), f"{s['address']}:{s['port']}")
        out[key] = {f"{d['address']}:{d['port']}": (d["forward"], d["weight"])
                    for d in s["real_servers"]}
    return out


def test_reload_applies_without_dropping_connections(t):
    # all four checkers come up once (alpha: they start down)
    for ip, port in ((RS["rs1"], 80), (RS["rs2"], 80), (RS["rs1"], 81)):
        wait_log(t, rf"TCP_CHECK {ip}:80 of VS {VIP}:{port}: UP")
    dl = subprocess.Popen(["ip", "netns", "exec", t.ns("client"), "curl", "-s", "-m", "40",
                           "--limit-rate", "600k", f"http://{VIP}/big"], stdout=subprocess.PIPE)
    busy = None
    deadline = time.monotonic() + 5
    while busy is None and time.monotonic() < deadline:
        for line in adm(t, "-L", "-n", "-c").splitlines()[2:]:
            f = line.split()
            if len(f) > 5 and f[2] == "ESTABLISHED" and f[4] == f"{VIP}:80":
                busy = f[5].split(":")[0]
        time.sleep(0.1)
    assert busy, "download connection not listed"
    other = RS["rs2"] if busy == RS["rs1"] else RS["rs1"]
    assert curl(t, 81).returncode == 0

    reload_with(t, conf2(other))
    text = log_text(t)
    assert "reload: " in text and "applied" in text, text
    svcs = services(t)
    assert set(svcs) == {("TCP", f"{VIP}:80"), ("TCP", f"{VIP}:82")}, svcs
    # B drains at weight 0 while the download uses it (deleting it would drop
    # its packets, as IPVS does)
    assert svcs[("TCP", f"{VIP}:80")] == {f"{other}:80": ("Masq", 3), f"{RS3}:80": ("Masq", 1),
                                           f"{busy}:80": ("Masq", 0)}, svcs
    assert svcs[("TCP", f"{VIP}:82")] == {f"{RS3}:80": ("Masq", 1)}

    # the new service answers once rs3's alpha checker passed; the old one is gone
    wait_log(t, rf"TCP_CHECK {RS3}:80 of VS {VIP}:82: UP")
    assert curl(t, 82).stdout.strip() == "rs3"
    assert curl(t, 81).returncode != 0
    wait_log(t, rf"TCP_CHECK {RS3}:80 of VS {VIP}:80: UP")
    seen = {curl(t, 80).stdout.strip() for _ in range(8)}
    assert seen == {NAMES[other], "rs3"}, seen

    # O's checker was carried over: it did not start again (no second alpha
    # start, no second UP) and the reload said so
    assert len(re.findall(rf"TCP_CHECK {other}:80 of VS {VIP}:80: UP", log_text(t))) == 1
    assert len(re.findall(rf"real server {other}:80 of VS {VIP}:80: DOWN at start",
                          log_text(t))) == 1
    assert re.search(r"reload: 1 checker carried over, 2 started, 2 stopped", log_text(t))

    # the removed server's in-flight download finished intact
    out, _ = dl.communicate(timeout=40)
    assert dl.returncode == 0, "in-flight download broke"
    assert len(out) == BIG_SIZE and hashlib.md5(out).hexdigest() == t.big_md5
    # ...and then B is deleted (once its connection is gone: TIME_WAIT ends)
    wait_log(t, rf"reload: real server {busy}:80 drained, deleted", timeout=10)
    assert services(t)[("TCP", f"{VIP}:80")] == {f"{other}:80": ("Masq", 3),
                                                  f"{RS3}:80": ("Masq", 1)}


def test_bad_config_changes_nothing(t):
    before = services(t)
    good = t.conf.read_text()
    bad = good.replace("    lb_algo rr\n", "    lb_algo rr\n    weight_of_nothing {\n", 1)
    # line of the unclosed block's keyword, 1-based
    line = bad.splitlines().index("    weight_of_nothing {") + 1
    reload_with(t, bad)
    text = log_text(t)
    assert re.search(rf"{re.escape(str(t.conf))}:\d+:\d+: error", text), text
    assert "configuration invalid" in text and "the running configuration stays" in text
    assert services(t) == before
    assert curl(t, 82).stdout.strip() == "rs3"
    assert line > 0
    # a config that parses but cannot be built (an unknown scheduler) too
    reload_with(t, good.replace("lb_algo rr", "lb_algo nosuch", 1))
    assert services(t) == before
    assert ulvsd_alive(t)


def test_reload_back_and_restart_notice(t):
    # back to config 1 plus a changed ulvs_defs value: the services return,
    # the engine setting is named as needing a restart
    text = conf1().replace("global_defs {", "ulvs_defs {\n    conn_table_size 8192\n}\n"
                           "global_defs {", 1)
    reload_with(t, text)
    svcs = services(t)
    assert set(svcs) == {("TCP", f"{VIP}:80"), ("TCP", f"{VIP}:81")}, svcs
    assert svcs[("TCP", f"{VIP}:80")] == {f"{RS['rs1']}:80": ("Masq", 1),
                                           f"{RS['rs2']}:80": ("Masq", 1)}
    assert "conn_table_size" in log_text(t) and "restart ulvsd to apply" in log_text(t)
    wait_log(t, rf"TCP_CHECK {RS['rs1']}:80 of VS {VIP}:81: UP", 2)
    assert curl(t, 81).stdout.strip() == "rs1"
    assert ulvsd_alive(t)


def ulvsd_alive(t):
    return t.ulvsd.poll() is None
