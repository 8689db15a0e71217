"""The replay mode itself: deterministic output, input formats, interfaces,
an independent checksum check by tshark, and clear errors with the exit
codes man/ulvsd.8 documents (1 config, 2 usage, 3 runtime)."""
import shutil
import subprocess

import pytest
from scapy.all import ARP, rdpcap, wrpcap

from replaylib import (DIRECTOR, DIRECTOR_MAC, ETH1_MAC, GW, GW_MAC, IP, RS1, RS2, T0, TCP, UDP,
                       ULVS_DEFS, VIP, Ether, Raw, config, from_client, syn, vs, write_pcapng)

MIXED_CONF = config(
    "local_address_group laddr_g1 {\n    10.0.0.250 eth0\n}",
    vs(VIP, 80, "NAT", [(RS1, 8080, 1), (RS2, 8080, 1)]),
    vs("10.0.0.101", 80, "FNAT", [(RS1, 8080, 1), (RS2, 8080, 1)],
       extra="laddr_group_name laddr_g1"),
    vs("10.0.0.102", 80, "TUN", [(RS1, 80, 1), (RS2, 80, 1)]),
    vs("10.0.0.103", 80, "DR", [(RS1, 80, 1), (RS2, 80, 1)]),
    vs(VIP, 53, "NAT", [(RS1, 5353, 1)], proto="UDP"),
)


def mixed_traffic():
    pkts = []
    for i in range(40):
        vip = ["10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103"][i % 4]
        client = f"192.168.{i % 3}.{i + 1}"
        pkts.append(syn(client, 20000 + i, dst=vip, at=i * 0.0007))
        pkts.append(from_client(IP(src=client, dst=vip) /
                                TCP(sport=20000 + i, dport=80, flags="A", seq=1001, ack=1) /
                                Raw(bytes([i]) * (i * 7)), at=i * 0.0007 + 0.0002))
    for i in range(5):
        pkts.append(from_client(IP(src="192.168.9.9", dst=VIP) /
                                UDP(sport=5000 + i, dport=53) /
                                Raw(b"q" * i), at=0.1 + i))
    return pkts


def test_same_input_same_output_bytes(replay):
    pkts = mixed_traffic()
    a = replay.run(MIXED_CONF, pkts)
    b = replay.run(MIXED_CONF, pkts)
    assert len(a.out.frames) >= 80, a.stderr
    assert a.out_path.read_bytes() == b.out_path.read_bytes()
    # output timestamps are the input frames' own, not the wall clock
    in_ts = {round(float(p.time), 6) for p in pkts}
    assert {round(f.ts, 6) for f in a.out.frames} <= in_ts


def test_pcapng_input_nanosecond_and_big_endian_gives_same_output(replay, tmp_path):
    pkts = mixed_traffic()
    ref = replay.run(MIXED_CONF, pkts)
    ng = tmp_path / "in.pcapng"
    write_pcapng(ng, [(0, p) for p in pkts], ifaces=("eth0",), tsresol=9, big_endian=True)
    got = replay.run(MIXED_CONF, None, input_path=ng)
    assert got.out_path.read_bytes() == ref.out_path.read_bytes()


def test_output_is_valid_pcapng_for_scapy_and_names_interfaces(replay):
    r = replay.run(MIXED_CONF, mixed_traffic())
    assert r.out.ifaces == ["eth0"]
    assert len(rdpcap(str(r.out_path))) == len(r.out.frames)


TWO_IFACES = ULVS_DEFS.replace("    route 0.0.0.0/0", """\
    interface eth1 {
        mac 02:00:00:00:01:01
        address 10.1.0.200
        mtu 1500
    }
    route 10.1.0.0/24 dev eth1
    neighbor 10.1.0.10 lladdr 02:00:00:00:01:0a dev eth1
    route 0.0.0.0/0""", 1)


def test_egress_and_ingress_interfaces(replay, tmp_path):
    """TX frames carry their egress interface; passed frames keep the one they
    came in on, matched by if_name even when the capture numbers them
    differently."""
    conf = config(vs(VIP, 80, "DR", [(RS1, 80, 1), ("10.1.0.10", 80, 1)]), defs=TWO_IFACES)
    arp = Ether(src=GW_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=GW, pdst=DIRECTOR)
    arp.time = T0
    arp1 = Ether(src="02:00:00:00:01:0a", dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.1.0.10",
                                                                        pdst="10.1.0.200")
    arp1.time = T0 + 0.001
    s1 = syn("192.168.1.1", 40000, at=0.002)
    s2 = syn("192.168.1.2", 40000, at=0.003)
    ng = tmp_path / "in.pcapng"
    # the capture lists eth1 first: its interface 0 is our eth1 (id 1)
    write_pcapng(ng, [(1, arp), (0, arp1), (1, s1), (1, s2)], ifaces=("eth1", "eth0"), tsresol=6)
    r = replay.run(conf, None, input_path=ng, passed=True)
    assert r.out.ifaces == ["eth0", "eth1"]
    assert [(f.iface, f.pkt.src) for f in r.out.frames] == [(0, DIRECTOR_MAC), (1, ETH1_MAC)]
    assert [(f.iface, bytes(f.data)) for f in r.passed.frames] == [(0, bytes(arp)),
                                                                   (1, bytes(arp1))]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_finds_no_bad_checksum(replay):
    r = replay.run(MIXED_CONF, mixed_traffic())
    opts = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
            "-o", "udp.check_checksum:TRUE"]
    p = subprocess.run(["tshark", "-n", "-r", str(r.out_path)] + opts +
                       ["-T", "fields", "-E", "separator=;", "-e", "frame.interface_name",
                        "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
                        "-e", "udp.checksum.status"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == len(r.out.frames)
    checked = 0
    for line in lines:
        name, *statuses = line.split(";")
        assert name == "eth0"
        for field in statuses:
            for s in filter(None, field.split(",")):
                assert s == "1", f"tshark: checksum status {s} (0 = bad) in: {line}"
                checked += 1
    assert checked >= 2 * len(lines)   # every frame has an IP and an L4 checksum
    v = subprocess.run(["tshark", "-n", "-r", str(r.out_path), "-V"] + opts,
                       capture_output=True, text=True, timeout=60)
    assert "Bad checksum" not in v.stdout and "[incorrect" not in v.stdout
    assert "Experiment 2 (254)" in v.stdout    # the TOA option went out (RFC 6994 kind)


# --- errors ------------------------------------------------------------------------

def run_ulvsd(ulvsd, *args):
    return subprocess.run([str(ulvsd)] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=30)


@pytest.fixture
def good_conf(tmp_path):
    f = tmp_path / "keepalived.conf"
    f.write_text(config(vs(VIP, 80, "NAT", [(RS1, 8080, 1)])))
    return f


def test_garbage_capture_is_a_runtime_error(ulvsd, good_conf, tmp_path):
    bad = tmp_path / "garbage.pcap"
    bad.write_bytes(b"this is not a capture at all, just text\n" * 4)
    out = tmp_path / "out.pcapng"
    p = run_ulvsd(ulvsd, "-f", good_conf, "--replay", bad, "--write", out)
    assert p.returncode == 3
    assert str(bad) in p.stderr and "capture" in p.stderr
    assert not out.exists()


def test_truncated_pcap_is_reported(ulvsd, good_conf, tmp_path):
    good = tmp_path / "good.pcap"
    wrpcap(str(good), [syn("192.168.1.1", 40000 + i, at=i) for i in range(3)])
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(good.read_bytes()[:-10])
    p = run_ulvsd(ulvsd, "-f", good_conf, "--replay", cut, "--write", tmp_path / "o.pcapng")
    assert p.returncode == 3
    assert "malformed" in p.stderr and str(cut) in p.stderr


def test_corrupt_pcapng_block_is_reported(ulvsd, good_conf, tmp_path):
    ng = tmp_path / "in.pcapng"
    write_pcapng(ng, [(0, syn("192.168.1.1", 40000))])
    data = bytearray(ng.read_bytes())
    data[-4:] = b"\x01\x00\x00\x00"          # trailing length disagrees
    ng.write_bytes(bytes(data))
    p = run_ulvsd(ulvsd, "-f", good_conf, "--replay", ng, "--write", tmp_path / "o.pcapng")
    assert p.returncode == 3
    assert "malformed pcapng" in p.stderr and "offset" in p.stderr


def test_missing_capture(ulvsd, good_conf, tmp_path):
    p = run_ulvsd(ulvsd, "-f", good_conf, "--replay", tmp_path / "nope.pcap",
                  "--write", tmp_path / "o.pcapng")
    assert p.returncode == 3
    assert "nope.pcap" in p.stderr


def test_bad_config_exit_1_with_location(ulvsd, tmp_path):
    f = tmp_path / "keepalived.conf"
    text = config(vs(VIP, 80, "NAT", [(RS1, 8080, 1)]))
    text = text.replace("lb_kind NAT", "lb_kind BOGUS")
    f.write_text(text)
    line = text.splitlines().index("    lb_kind BOGUS") + 1
    for args in (["-t"], ["--replay", tmp_path / "x.pcap", "--write", tmp_path / "o.pcapng"]):
        p = run_ulvsd(ulvsd, "-f", f, *args)
        assert p.returncode == 1, p.stderr
        assert f"{f}:{line}:" in p.stderr


def test_config_test_ok(ulvsd, good_conf):
    p = run_ulvsd(ulvsd, "-t", "-f", good_conf)
    assert p.returncode == 0, p.stderr


def test_dump_prints_the_config(ulvsd, good_conf):
    p = run_ulvsd(ulvsd, "--dump", "-f", good_conf)
    assert p.returncode == 0, p.stderr
    assert "virtual_server" in p.stdout and "10.0.0.100" in p.stdout


def test_missing_config_file(ulvsd, tmp_path):
    p = run_ulvsd(ulvsd, "-t", "-f", tmp_path / "absent.conf")
    assert p.returncode == 1
    assert "absent.conf" in p.stderr


@pytest.mark.parametrize("args", [["--replay", "in.pcap"], ["--write", "o.pcapng"],
                                  ["--bogus-option"], ["extra-argument"],
                                  ["--backend", "carrier-pigeon"]])
def test_usage_errors_exit_2(ulvsd, args):
    p = run_ulvsd(ulvsd, *args)
    assert p.returncode == 2
    assert "ulvsd --help" in p.stderr


def test_help_and_version(ulvsd):
    h = run_ulvsd(ulvsd, "--help")
    assert h.returncode == 0 and "--replay" in h.stdout and "Exit status" in h.stdout
    v = run_ulvsd(ulvsd, "-v")
    assert v.returncode == 0 and v.stdout.startswith("ulvsd ")


def test_empty_capture_gives_empty_output(replay, tmp_path):
    ng = tmp_path / "empty.pcapng"
    write_pcapng(ng, [])
    r = replay.run(MIXED_CONF, None, input_path=ng)
    assert r.out.frames == [] and r.out.ifaces == ["eth0"]
    assert r.stat("packets in") == 0


def test_unwritable_output_is_a_runtime_error(ulvsd, good_conf, tmp_path):
    cap = tmp_path / "in.pcap"
    wrpcap(str(cap), [syn("192.168.1.1", 40000)])
    p = run_ulvsd(ulvsd, "-f", good_conf, "--replay", cap,
                  "--write", tmp_path / "no-such-dir" / "out.pcapng")
    assert p.returncode == 3
    assert "no-such-dir" in p.stderr and "cannot create" in p.stderr


def test_config_id_selects_conditional_lines(ulvsd, tmp_path):
    """keepalived's @ID lines: -i picks which ones apply (conditional_conf)."""
    f = tmp_path / "keepalived.conf"
    f.write_text(config(vs(VIP, 80, "NAT", [(RS1, 8080, 1)])).replace(
        "    lb_kind NAT", "@high    lb_algo wrr\n@low    lb_algo sh\n    lb_kind NAT"))
    algos = {}
    for cid in ("high", "low"):
        p = run_ulvsd(ulvsd, "--dump", "-i", cid, "-f", f)
        assert p.returncode == 0, p.stderr
        algos[cid] = [l.split()[1] for l in p.stdout.splitlines()
                      if l.strip().startswith("lb_algo")]
    assert algos == {"high": ["wrr"], "low": ["sh"]}, algos
