"""ulvsadm against a live ulvsd: ipvsadm's output and error words, live changes
that leave connections alone, save/restore, JSON, and a hostile control socket.

Topology: conftest.py's NAT picture (client 10.99.1.2, VIP 10.99.1.100 on the
director, real servers 10.99.2.11 / .12 behind it), with namespaces tagged
"ulvsctl<pid>" so nothing here collides with another test run.  ulvsd listens on
a control socket in the topology's temporary directory; ulvsadm runs on the host
(a unix socket path is reachable from any network namespace).
"""
import hashlib
import json
import os
import socket
import stat
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import RS, ULVSD, VIP, build_nat_topology, require_environment

ULVSADM = os.environ.get("ULVSADM", str(Path(ULVSD).resolve().parents[1] / "cli" / "ulvsadm"))
BIG_SIZE = 4 * 1000 * 1000


def conf(sock):
    return f"""! two NAT services for ulvsadm to look at and change
global_defs {{
    router_id ulvs_test_ulvsadm
}}
ulvs_defs {{
    conn_table_size 4096
    control_socket {sock}
}}
virtual_server {VIP} 80 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {RS['rs1']} 80 {{
        weight 1
    }}
    real_server {RS['rs2']} 80 {{
        weight 2
    }}
}}
virtual_server {VIP} 7 {{
    lb_algo wlc
    lb_kind NAT
    protocol UDP
    persistence_timeout 600
    real_server {RS['rs1']} 7 {{
        weight 1
    }}
}}
"""


@pytest.fixture(scope="module")
def d():
    require_environment()
    if not os.access(ULVSADM, os.X_OK):
        pytest.fail(f"{ULVSADM} not built")
    t = build_nat_topology(f"ulvsctl{os.getpid() % 100000}")
    try:
        big = os.urandom(BIG_SIZE)
        for name, ip in RS.items():
            w = t.nginx(name, f"{ip}:80", name)
            (w / "www" / "big").write_bytes(big)
        t.big_md5 = hashlib.md5(big).hexdigest()
        t.sock = str(t.tmp / "ctl.sock")
        cf = t.tmp / "keepalived.conf"
        cf.write_text(conf(t.sock))
        log = t.tmp / "ulvsd.log"
        t.ulvsd = t.spawn("dir", ULVSD, "-f", str(cf), "-l", log=log)
        # ready when the control socket answers (whatever the packet backend)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if t.ulvsd.poll() is not None:
                pytest.fail(f"ulvsd exited with {t.ulvsd.returncode}:\n{log.read_text()}")
            if os.path.exists(t.sock) and adm(t, "-L", "-n", check=False).returncode == 0:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"ulvsd control socket not ready after 10 s:\n{log.read_text()}")
        t.ulvsd_log = log
        yield t
    finally:
        t.close()


def adm(t, *args, stdin=None, check=True):
    r = subprocess.run([ULVSADM, "--socket", t.sock, *args], input=stdin, capture_output=True,
                       text=True, timeout=10)
    if check:
        assert r.returncode == 0, f"ulvsadm {' '.join(args)}: {r.returncode}\n{r.stderr}"
    return r


def curl(t, path="/", port=80, timeout=3, check=True):
    r = t.run("client", "curl", "-s", "-m", str(timeout), f"http://{VIP}:{port}{path}",
              timeout=timeout + 2, check=False)
    if check:
        assert r.returncode == 0, f"curl {path}: exit {r.returncode}\n{r.stderr}"
    return r



def test_socket_is_root_only(d):
    st = os.stat(d.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_list_numeric_is_ipvsadm_layout(d):
    out = adm(d, "-L", "-n").stdout
    assert out == (
        "IP Virtual Server version 1.2.1 (size=4096)\n"
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        "TCP  10.99.1.100:80 rr\n"
        "  -> 10.99.2.11:80                Masq    1      0          0         \n"
        "  -> 10.99.2.12:80                Masq    2      0          0         \n"
        "UDP  10.99.1.100:7 wlc persistent 600\n"
        "  -> 10.99.2.11:7                 Masq    1      0          0         \n"
    ), out
    # one service, -Ln style combined short options, and the other layouts' titles
    one = adm(d, "-Ln", "-t", f"{VIP}:80").stdout
    assert one.splitlines()[0] == "Prot LocalAddress:Port Scheduler Flags"
    assert one.splitlines()[2] == "TCP  10.99.1.100:80 rr"
    st = adm(d, "-L", "-n", "--stats").stdout.splitlines()
    assert st[1] == ("Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes"
                     " OutBytes")
    assert st[2] == "  -> RemoteAddress:Port"
    th = adm(d, "-L", "-n", "--thresholds").stdout.splitlines()
    assert th[1] == ("Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn"
                     " InActConn ")
    assert th[4] == "  -> 10.99.2.11:80                0          0          0          0         "
    pc = adm(d, "-L", "-n", "--persistent-conn").stdout.splitlines()
    assert pc[1] == ("Prot LocalAddress:Port            Weight    PersistConn ActiveConn"
                     " InActConn ")


def test_counters_stats_rate_and_zero(d):
    for _ in range(4):
        curl(d)
    out = adm(d, "-L", "-n", "--stats", "--exact").stdout.splitlines()
    svc = [line for line in out if line.startswith("TCP  10.99.1.100:80")][0]
    fields = svc.split()
    assert int(fields[2]) >= 4          # Conns
    assert int(fields[3]) > 0 and int(fields[5]) > 0
    # the estimator runs every 2 s; after it has seen traffic CPS may still be 0
    # (the average moves a quarter per period), but the --rate layout is fixed
    time.sleep(2.2)
    rate = adm(d, "-L", "-n", "--rate").stdout.splitlines()
    assert rate[1].split() == ["Prot", "LocalAddress:Port", "CPS", "InPPS", "OutPPS",
                               "InBPS", "OutBPS"]
    assert any(line.startswith("TCP  10.99.1.100:80") for line in rate)
    adm(d, "-Z", "-t", f"{VIP}:80")
    out = adm(d, "-L", "-n", "--stats", "--exact").stdout.splitlines()
    svc = [line for line in out if line.startswith("TCP  10.99.1.100:80")][0]
    assert svc.split()[2:] == ["0", "0", "0", "0", "0"], svc


def test_connections_listing(d):
    curl(d)
    out = adm(d, "-L", "-n", "-c").stdout.splitlines()
    assert out[0] == "IPVS connection entries"
    assert out[1] == "pro expire state       source             virtual            destination"
    mine = [line for line in out[2:] if f" {VIP}:80 " in line]
    assert mine, out
    pro, expire, state, src, virt, dst = mine[-1].split()
    assert pro == "TCP" and virt == f"{VIP}:80"
    assert src.startswith("10.99.1.2:")
    assert dst in (f"{RS['rs1']}:80", f"{RS['rs2']}:80")
    mm, ss = expire.split(":")
    assert len(mm) == 2 and len(ss) == 2 and 0 <= int(ss) < 60
    assert state in ("TIME_WAIT", "FIN_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "ESTABLISHED")


def test_json_listings_parse(d):
    j = json.loads(adm(d, "-L", "-n", "--json").stdout)
    assert j["version"] == "1.2.1" and j["size"] == 4096
    by = {(s.get("protocol"), s.get("port")): s for s in j["services"]}
    tcp = by[("TCP", 80)]
    assert tcp["address"] == VIP and tcp["scheduler"] == "rr"
    assert sorted(r["address"] for r in tcp["real_servers"]) == sorted(RS.values())
    assert by[("UDP", 7)]["persistent"] is True and by[("UDP", 7)]["timeout"] == 600
    curl(d)
    c = json.loads(adm(d, "-L", "-n", "-c", "--json").stdout)
    assert any(x["virtual"] == VIP and x["virtual_port"] == 80 for x in c["connections"])
    to = json.loads(adm(d, "-L", "--timeout", "--json").stdout)
    assert set(to) == {"tcp", "tcpfin", "udp"}
    g = json.loads(adm(d, "-G", "--json").stdout)
    assert len(g["services"]) == 2


def test_set_and_timeout(d):
    before = adm(d, "-L", "--timeout").stdout
    assert before.startswith("Timeout (tcp tcpfin udp): ")
    adm(d, "--set", "900", "100", "250")
    assert adm(d, "-L", "--timeout").stdout == "Timeout (tcp tcpfin udp): 900 100 250\n"
    adm(d, "--set", "0", "120", "0")   # 0 keeps the current value, as with ipvsadm
    assert adm(d, "-L", "--timeout").stdout == "Timeout (tcp tcpfin udp): 900 120 250\n"


def names_seen(t, n, port=80):
    return [curl(t, port=port).stdout.strip() for _ in range(n)]


def test_live_changes_keep_inflight_download(d):
    # A slow download pins one connection to one real server...
    p = subprocess.Popen(["ip", "netns", "exec", d.ns("client"), "curl", "-s", "-m", "30",
                          "--limit-rate", "800k", f"http://{VIP}/big"], stdout=subprocess.PIPE)
    busy = None
    deadline = time.monotonic() + 5
    while busy is None and time.monotonic() < deadline:
        for line in adm(d, "-L", "-n", "-c").stdout.splitlines()[2:]:
            f = line.split()
            if f[2] == "ESTABLISHED" and f[4] == f"{VIP}:80":
                busy = f[5].split(":")[0]
        time.sleep(0.1)
    assert busy, "download connection not listed"
    name = {ip: n for n, ip in RS.items()}
    other = [ip for ip in RS.values() if ip != busy][0]

    # ...while the table changes under it.
    adm(d, "-d", "-t", f"{VIP}:80", "-r", f"{other}:80")
    assert set(names_seen(d, 4)) == {name[busy]}
    adm(d, "-a", "-t", f"{VIP}:80", "-r", f"{other}:80", "-m", "-w", "1")
    assert set(names_seen(d, 6)) == {name[busy], name[other]}
    adm(d, "-e", "-t", f"{VIP}:80", "-r", f"{other}:80", "-m", "-w", "0")
    assert set(names_seen(d, 4)) == {name[busy]}
    adm(d, "-e", "-t", f"{VIP}:80", "-r", f"{other}:80", "-m", "-w", "1")
    adm(d, "-E", "-t", f"{VIP}:80", "-s", "wlc")
    assert "TCP  10.99.1.100:80 wlc\n" in adm(d, "-L", "-n").stdout
    # a new service, used, then deleted: new connections to it stop working
    adm(d, "-A", "-t", f"{VIP}:8080", "-s", "rr")
    adm(d, "-a", "-t", f"{VIP}:8080", "-r", f"{other}:80", "-m")
    # the AF_XDP backend steers a new port to the engine at its next map
    # refresh (live.c, once a second); AF_PACKET sees it at once
    deadline = time.monotonic() + 3
    while curl(d, port=8080, timeout=1, check=False).returncode and time.monotonic() < deadline:
        time.sleep(0.2)
    assert names_seen(d, 2, port=8080) == [name[other]] * 2
    adm(d, "-D", "-t", f"{VIP}:8080")
    assert curl(d, port=8080, timeout=2, check=False).returncode != 0

    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0, "in-flight download broke"
    assert len(out) == BIG_SIZE and hashlib.md5(out).hexdigest() == d.big_md5
    adm(d, "-E", "-t", f"{VIP}:80", "-s", "rr")


def test_save_restore_round_trip(d):
    adm(d, "-E", "-u", f"{VIP}:7", "-s", "sh", "-b", "sh-port", "-p", "600", "-M",
        "255.255.255.0")
    saved = adm(d, "-S", "-n").stdout
    assert saved.splitlines()[0].startswith("-A -t 10.99.1.100:80 -s ")
    assert "-A -u 10.99.1.100:7 -s sh -p 600 -M 255.255.255.0 -b sh-port\n" in saved
    assert f"-a -t 10.99.1.100:80 -r {RS['rs1']}:80 -m -w 1\n" in saved
    adm(d, "-C")
    assert adm(d, "-S", "-n").stdout == ""
    adm(d, "-R", stdin=saved)
    assert adm(d, "-S", "-n").stdout == saved
    assert "persistent 600 mask 255.255.255.0" in adm(d, "-L", "-n").stdout
    # all or nothing: a batch with one bad line changes nothing
    r = adm(d, "-R", stdin=f"-A -t {VIP}:81\n-a -t {VIP}:99 -r {RS['rs1']}:80 -m\n",
            check=False)
    assert r.returncode != 0 and r.stderr == "Service not defined\n"
    assert adm(d, "-S", "-n").stdout == saved
    curl(d)


@pytest.mark.parametrize("args,words,code", [
    (["-a", "-t", f"{VIP}:9999", "-r", "10.99.2.11:80", "-m"], "Service not defined", 255),
    (["-A", "-t", f"{VIP}:80"], "Service already exists", 255),
    (["-a", "-t", f"{VIP}:80", "-r", "10.99.2.11:80", "-m"], "Destination already exists", 255),
    (["-d", "-t", f"{VIP}:80", "-r", "10.99.2.99:80"], "No such destination", 255),
    (["-e", "-t", f"{VIP}:80", "-r", "10.99.2.99:80", "-m"], "No such destination", 255),
    (["-D", "-t", f"{VIP}:9999"], "No such service", 255),
    (["-E", "-t", f"{VIP}:9999"], "No such service", 255),
    (["-A", "-t", f"{VIP}:81", "-s", "nosuch"], "Scheduler or persistence engine not found", 255),
    (["-A", "-t", f"{VIP}:80", "-w", "5"],
     "Illegal 'weight' option with the 'add-service' command", 2),
    (["-a", "-t", f"{VIP}:80"], "You need to supply the 'real-server' option for the "
     "'add-server' command", 2),
    (["-A", "-t", "10.99.1.100"], "Zero port specified for non-persistent service", 2),
    (["-A", "-t", f"{VIP}:82", "-o"], "One-Packet Scheduling is only for UDP virtual services", 2),
    (["-a", "-t", f"{VIP}:80", "-r", "10.99.2.11", "-w", "70000"], "illegal weight specified", 2),
    (["-A", "-t", "nosuch..host:80"], "illegal virtual server address[:port] specified", 2),
    (["-L", "-c", "--stats"], "options conflicts in the list command", 2),
    (["-L", "-c", "--timeout"], "The option 'timeout' conflicts with the 'connection' option "
     "in the 'list' command", 2),
    (["-A", "-D", "-t", f"{VIP}:80"], "multiple commands specified", 2),
    (["--set", "1", "2"], "--set option requires 3 timeout values", 2),
    (["-A", "-t", f"{VIP}:83", "-b", "sh-port"], "incompatible scheduler flag `sh-port'", 2),
    (["-n", "-L"], "Try `", 255),
])
def test_errors_in_ipvsadm_words(d, args, words, code):
    before = adm(d, "-S", "-n").stdout
    r = adm(d, *args, check=False)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert r.stderr.startswith(words), r.stderr
    assert adm(d, "-S", "-n").stdout == before


def test_start_daemon_needs_an_interface(d):
    # the round trip itself is in test_status.py
    r = adm(d, "--start-daemon", "master", check=False)
    assert r.returncode == 255 and "--mcast-interface" in r.stderr
    r = adm(d, "--start-daemon", "nonsense", check=False)
    assert r.returncode == 2 and r.stderr == "illegal start-daemon parameter specified\n"


def recv_reply(s):
    hdr = b""
    while len(hdr) < 12:
        chunk = s.recv(12 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    magic, version, typ, length = struct.unpack(">IHHI", hdr)
    body = b""
    while len(body) < length:
        chunk = s.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return magic, version, typ, body


def test_garbage_on_the_socket_gets_an_error_and_daemon_survives(d):
    # a silent client holds no one up
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(d.sock)
    cases = [
        b"GET / HTTP/1.0\r\n\r\n",                                   # not our protocol
        struct.pack(">IHHI", 0x554c5653, 99, 1, 0),                   # future version
        struct.pack(">IHHI", 0x554c5653, 1, 5, 0x7fffffff),          # absurd length
        struct.pack(">IHHI", 0x554c5653, 1, 5, 8) + b"\0\0\0\1\xff\xff\xff\xff",  # bad batch
        struct.pack(">IHHI", 0x554c5653, 1, 77, 0),                   # unknown request
        struct.pack(">IHHI", 0x554c5653, 1, 2, 3) + b"\1\2\3",        # short list request
    ]
    for msg in cases:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(d.sock)
        s.sendall(msg)
        rep = recv_reply(s)
        assert rep is not None, msg
        magic, version, typ, body = rep
        assert (magic, version, typ) == (0x554c5653, 1, 0x82), (msg, rep)
        err, = struct.unpack(">i", body[:4])
        assert err > 0
        s.close()
    assert d.ulvsd.poll() is None
    assert "TCP  10.99.1.100:80" in adm(d, "-L", "-n").stdout
    curl(d)
    idle.close()
