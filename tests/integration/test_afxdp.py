"""AF_XDP backend end to end: ulvsd --backend afxdp on the NAT topology of conftest.py.

      client                 director (ulvsd --backend afxdp)                rs1, rs2
  +-----------+    veth   +-------------------------------+   veth + bridge  +-----------+
  | c0        |-----------| d0  [XDP ulvs_steer -> XSK]   |------------------| nginx :80 |
  | 10.99.1.2 |           | d1  [XDP ulvs_steer -> XSK]   |                  | udp echo 7|
  +-----------+           +-------------------------------+                  +-----------+

The XDP program steals only what the engine owns, so no nftables table is installed and
the kernel still answers ARP and ping for the VIP.  Checked: the log names AF_XDP in copy
mode (veth has no zero-copy) and the single-program attach; curl and UDP through the VIP;
a multi-megabyte download (partial checksums from veth peers completed by the backend);
SIGTERM detaches XDP; a SIGKILLed ulvsd's program is replaced by the next start; somebody
else's XDP program makes --backend afxdp fail clearly and --backend auto fall back to
AF_PACKET.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (CLIENT, HERE, PY, RS, ULVSD, VIP, build_nat_topology,
                      require_environment, stop_ulvsd)

CONF = f"""! NAT mode over AF_XDP, TCP 80 and UDP 7 on two real servers
global_defs {{
    router_id ulvs_test_afxdp
}}
virtual_server {VIP} 80 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {RS['rs1']} 80 {{
        weight 1
    }}
    real_server {RS['rs2']} 80 {{
        weight 1
    }}
}}
virtual_server {VIP} 7 {{
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server {RS['rs1']} 7 {{
        weight 1
    }}
    real_server {RS['rs2']} 7 {{
        weight 1
    }}
}}
"""

BIG_SIZE = 3 * 1000 * 1000
READY = re.compile(r"data plane: backend (AF_XDP|AF_PACKET)")


# One ICMP echo over a raw socket (no ping binary needed).
PING = """
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    return ~(s + (s >> 16)) & 0xffff
hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"ulvs-afxdp"
pkt = hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
s.sendto(pkt, (sys.argv[1], 0))
while True:
    data, peer = s.recvfrom(2048)
    icmp = data[(data[0] & 15) * 4:]
    if peer[0] == sys.argv[1] and icmp[0] == 0 and icmp[4:6] == b"\\x42\\x42":
        print("echo reply")
        break
"""


def start(t, backend, expect_exit=False):
    """ulvsd --backend BACKEND on the director; waits (<= 5 s) for the line naming the
    backend in use.  Returns (Popen, log text so far, log path); with expect_exit, waits
    for it to exit instead and returns its exit code as the first item."""
    conf = t.tmp / "keepalived.conf"
    conf.write_text(CONF)
    log = t.tmp / f"ulvsd-{backend}-{time.monotonic_ns()}.log"
    p = t.spawn("dir", ULVSD, "-f", str(conf), "-l", "--backend", backend, log=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = log.read_text()
        if p.poll() is not None:
            if expect_exit:
                return p.returncode, text, log
            pytest.fail(f"ulvsd exited with {p.returncode}:\n{text}")
        # Up once the backend is named and the checkers (started after the
        # data plane) are running.
        if not expect_exit and READY.search(text) and "checkers on" in text:
            return p, text, log
        time.sleep(0.05)
    p.kill()
    pytest.fail(f"ulvsd not ready after 5 s:\n{log.read_text()}")


def xdp_prog(t, ifname):
    """Name of the XDP program attached to ifname on the director, or None."""
    out = t.run("dir", "ip", "-d", "link", "show", ifname).stdout
    m = re.search(r"prog/xdp id (\d+) name (\S+)", out)
    return m.group(2) if m else None


def curl(t, path="/", timeout=3):
    r = t.run("client", "curl", "-s", "-m", str(timeout), f"http://{VIP}{path}",
              timeout=timeout + 2, check=False)
    assert r.returncode == 0, f"curl {path}: exit {r.returncode}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def topo():
    require_environment()
    t = build_nat_topology(f"uxdp{os.getpid() % 100000}")
    big = os.urandom(BIG_SIZE)
    for name, ip in RS.items():
        d = t.nginx(name, f"{ip}:80", name)
        (d / "www" / "big").write_bytes(big)
        t.spawn(name, PY, str(HERE / "udp_echo.py"), ip, "7", name)
    t.big_md5 = hashlib.md5(big).hexdigest()
    yield t
    t.close()


@pytest.fixture()
def afxdp(topo):
    p, text, log = start(topo, "afxdp")
    topo.ulvsd, topo.ulvsd_log = p, log
    yield topo
    if p.poll() is None:
        stop_ulvsd(p)


def test_log_states_afxdp_copy_mode(afxdp):
    text = afxdp.ulvsd_log.read_text()
    assert "backend AF_XDP (copy mode)" in text, text
    assert "bpf_xdp_attach" in text and "dispatcher" in text, text
    assert xdp_prog(afxdp, "d0") == "ulvs_steer"
    assert xdp_prog(afxdp, "d1") == "ulvs_steer"
    # The program steals; nothing needs hiding from the kernel with nftables.
    assert "inet ulvs" not in afxdp.run("dir", "nft", "list", "tables").stdout


def test_curl_udp_download_and_kernel_still_answers(afxdp):
    answers = [curl(afxdp).strip() for _ in range(10)]
    assert set(answers) == {"rs1", "rs2"}, answers
    prog = f"""
import socket
for i in range(4):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(b"ping%d" % i, ("{VIP}", 7))
    data, peer = s.recvfrom(4096)
    print(data.decode(), peer[0], peer[1])
"""
    r = afxdp.run("client", PY, "-c", prog, timeout=20, check=False)
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert set(names) == {"rs1", "rs2"}
    assert all(line.split()[3] == CLIENT for line in r.stdout.splitlines())
    # Multi-megabyte: real servers' TCP segments arrive with partial checksums.
    r = subprocess.run(["ip", "netns", "exec", afxdp.ns("client"), "curl", "-s", "-m", "10",
                        f"http://{VIP}/big"], capture_output=True, timeout=15)
    assert r.returncode == 0
    assert hashlib.md5(r.stdout).hexdigest() == afxdp.big_md5
    # ICMP echo (and ARP, which curl needed) for the VIP stay with the kernel.
    r = afxdp.run("client", PY, "-c", PING, VIP, timeout=10, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "echo reply", (r.stdout, r.stderr)
    assert stop_ulvsd(afxdp.ulvsd) == 0
    text = afxdp.ulvsd_log.read_text()
    m = re.search(r"af_xdp rx (\d+) \((\d+) csum completed\) tx (\d+)", text)
    assert m, text
    rx, completed, tx = map(int, m.groups())
    assert rx > 2000 and tx > 2000, text
    # veth peers leave TCP checksums partial; every such segment was completed here
    # (the md5 above proves the completion was right).
    assert completed > 0, text
    assert "drop afxdp_" not in text, text
    assert xdp_prog(afxdp, "d0") is None and xdp_prog(afxdp, "d1") is None


def test_crash_leftover_is_replaced(afxdp):
    afxdp.ulvsd.send_signal(signal.SIGKILL)
    afxdp.ulvsd.wait(timeout=5)
    assert xdp_prog(afxdp, "d0") == "ulvs_steer"       # a crash leaves it attached
    p, text, log = start(afxdp, "afxdp")
    afxdp.ulvsd, afxdp.ulvsd_log = p, log
    assert "removed leftover XDP program ulvs_steer" in text, text
    assert curl(afxdp).strip() in ("rs1", "rs2")
    assert stop_ulvsd(p) == 0
    assert xdp_prog(afxdp, "d0") is None


def test_foreign_program_afxdp_fails_auto_falls_back(topo, tmp_path):
    clang = shutil.which("clang")
    if not clang:
        pytest.skip("clang not installed")
    src = tmp_path / "pass.c"
    src.write_text('#include <linux/bpf.h>\n'
                   '__attribute__((section("xdp"), used)) int other_pass(struct xdp_md *c)'
                   ' { return XDP_PASS; }\n'
                   'char _l[] __attribute__((section("license"), used)) = "GPL";\n')
    obj = tmp_path / "pass.o"
    subprocess.run([clang, "-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu",
                    "-c", str(src), "-o", str(obj)], check=True, timeout=30)
    topo.run("dir", "ip", "link", "set", "dev", "d1", "xdpgeneric", "obj", str(obj), "sec", "xdp")
    try:
        code, text, _ = start(topo, "afxdp", expect_exit=True)
        assert code != 0
        assert "--backend afxdp: AF_XDP unavailable" in text, text
        assert "not replacing somebody else's" in text, text
        assert xdp_prog(topo, "d0") is None          # nothing left half-attached
        p, text, _ = start(topo, "auto")
        try:
            assert "falling back to AF_PACKET" in text, text
            assert "backend AF_PACKET" in text, text
            assert curl(topo).strip() in ("rs1", "rs2")
        finally:
            assert stop_ulvsd(p) == 0
        assert xdp_prog(topo, "d1") == "other_pass"  # theirs, untouched
    finally:
        topo.run("dir", "ip", "link", "set", "dev", "d1", "xdpgeneric", "off", check=False)


def test_auto_prefers_afxdp(topo):
    p, text, _ = start(topo, "auto")
    try:
        assert "backend AF_XDP (copy mode)" in text, text
        assert curl(topo).strip() in ("rs1", "rs2")
    finally:
        assert stop_ulvsd(p) == 0
