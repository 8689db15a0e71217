"""Helpers for the replay tests: the engine over a capture, checked
with scapy (and tshark).

Every test draws the same small network, declared to ulvsd in a
`ulvs_defs` block (replay mode asks no kernel anything):

    client 192.168.1.x ── gateway 10.0.0.1 ──┐ 10.0.0.0/24, eth0
                         (02:..:fe)           ├── director 10.0.0.200 (02:..:01)
                                              │     VIP 10.0.0.100, laddr 10.0.0.250
                                              ├── rs1 10.0.0.10 (02:..:0a)
                                              ├── rs2 10.0.0.20 (02:..:14)
                                              └── sorry 10.0.0.30 (02:..:1e)
    IPv6 the same in 2001:db8::/64 (director ::200, VIP ::100, rs ::10, ::20).

Frames from clients arrive from the gateway's MAC; frames from real servers
from theirs.  Capture timestamps are the engine's clock, so tests place
packets in time with `at=` seconds.  The pcapng output is read by our own
small reader here (scapy's drops the interface id) and each frame is
dissected with scapy.
"""
import os
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from scapy.all import (ICMP, IP, TCP, UDP, Ether, IPv6, Raw, conf as scapy_conf,  # noqa: F401
                       wrpcap)  # (ICMP, UDP, Raw re-exported for the tests)

scapy_conf.verb = 0

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ULVS_BUILD", ROOT / "build"))
ULVSD = BUILD / "daemon" / "ulvsd"

DIRECTOR_MAC = "02:00:00:00:00:01"
GW_MAC = "02:00:00:00:00:fe"
RS1_MAC = "02:00:00:00:00:0a"
RS2_MAC = "02:00:00:00:00:14"
SORRY_MAC = "02:00:00:00:00:1e"
ETH1_MAC = "02:00:00:00:01:01"

VIP = "10.0.0.100"
DIRECTOR = "10.0.0.200"
GW = "10.0.0.1"
RS1 = "10.0.0.10"
RS2 = "10.0.0.20"
SORRY = "10.0.0.30"
LADDR = "10.0.0.250"

VIP6 = "2001:db8::100"
DIRECTOR6 = "2001:db8::200"
GW6 = "2001:db8::1"
RS1_6 = "2001:db8::10"
RS2_6 = "2001:db8::20"

RS_MAC = {RS1: RS1_MAC, RS2: RS2_MAC, SORRY: SORRY_MAC, RS1_6: RS1_MAC, RS2_6: RS2_MAC}

T0 = 1700000000.0   # capture time of the first packet

ULVS_DEFS = """\
ulvs_defs {
    interface eth0 {
        mac 02:00:00:00:00:01
        address 10.0.0.200
        address 2001:db8::200
        mtu 1500
    }
    route 0.0.0.0/0 via 10.0.0.1 dev eth0
    route 10.0.0.0/24 dev eth0
    route ::/0 via 2001:db8::1 dev eth0
    route 2001:db8::/64 dev eth0
    neighbor 10.0.0.1 lladdr 02:00:00:00:00:fe dev eth0
    neighbor 10.0.0.10 lladdr 02:00:00:00:00:0a dev eth0
    neighbor 10.0.0.20 lladdr 02:00:00:00:00:14 dev eth0
    neighbor 10.0.0.30 lladdr 02:00:00:00:00:1e dev eth0
    neighbor 2001:db8::1 lladdr 02:00:00:00:00:fe dev eth0
    neighbor 2001:db8::10 lladdr 02:00:00:00:00:0a dev eth0
    neighbor 2001:db8::20 lladdr 02:00:00:00:00:14 dev eth0
}
"""


def config(*blocks, defs=ULVS_DEFS):
    """A keepalived.conf: the ulvs_defs block, then the given blocks."""
    return defs + "\n" + "\n".join(blocks) + "\n"


def vs(addr, port, kind, rs, algo="rr", proto="TCP", extra=""):
    """A virtual_server block, one keyword per line as keepalived.conf is
    usually written.  rs: list of (ip, port, weight)."""
    lines = [f"virtual_server {addr} {port} {{",
             f"    lb_algo {algo}",
             f"    lb_kind {kind}",
             f"    protocol {proto}"]
    lines += ["    " + x for x in extra.strip().splitlines() if x.strip()]
    for ip, rport, weight in rs:
        lines += [f"    real_server {ip} {rport} {{", f"        weight {weight}", "    }"]
    lines.append("}")
    return "\n".join(lines)


# --- building input frames ---------------------------------------------------

def from_client(l3, at=0.0):
    """A frame from the gateway (clients live behind it) to the director."""
    p = Ether(src=GW_MAC, dst=DIRECTOR_MAC) / l3
    p.time = T0 + at
    return p


def from_rs(rs_ip, l3, at=0.0):
    p = Ether(src=RS_MAC[rs_ip], dst=DIRECTOR_MAC) / l3
    p.time = T0 + at
    return p


def syn(client, cport, dst=VIP, dport=80, at=0.0, mss=1460):
    ip = IPv6(src=client, dst=dst) if ":" in client else IP(src=client, dst=dst)
    return from_client(ip / TCP(sport=cport, dport=dport, flags="S", seq=1000,
                                options=[("MSS", mss)]), at)


# --- pcapng ------------------------------------------------------------------

@dataclass
class Frame:
    iface: int
    ts: float
    data: bytes

    @property
    def pkt(self):
        return Ether(self.data)


@dataclass
class Capture:
    ifaces: list = field(default_factory=list)   # if_name of each IDB
    frames: list = field(default_factory=list)


def read_pcapng(path):
    """Reads a pcapng file independently of io/pcapng.c; asserts the block
    structure is sound (lengths agree, padding, known byte order)."""
    data = Path(path).read_bytes()
    cap = Capture()
    off = 0
    endian = "<"
    tsres = []
    while off < len(data):
        assert off + 12 <= len(data), "truncated block"
        btype = struct.unpack_from("<I", data, off)[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            cap.ifaces, tsres = [], []
        btype, blen = struct.unpack_from(endian + "II", data, off)
        assert blen % 4 == 0 and blen >= 12
        assert struct.unpack_from(endian + "I", data, off + blen - 4)[0] == blen
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            linktype, _, snap = struct.unpack_from(endian + "HHI", body, 0)
            assert linktype == 1
            name, res = "", 6
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack_from(endian + "HH", body, o)
                if code == 0:
                    break
                val = body[o + 4:o + 4 + olen]
                if code == 2:
                    name = val.decode()
                elif code == 9:
                    res = val[0]
                o += 4 + ((olen + 3) & ~3)
            cap.ifaces.append(name)
            tsres.append(res)
        elif btype == 6:
            iface, hi, lo, caplen, origlen = struct.unpack_from(endian + "IIIII", body, 0)
            assert iface < len(cap.ifaces), "EPB for an undescribed interface"
            assert caplen == origlen
            ts = ((hi << 32) | lo) / (10 ** tsres[iface])
            cap.frames.append(Frame(iface, ts, body[20:20 + caplen]))
        off += blen
    return cap


def write_pcapng(path, frames, ifaces=("eth0",), tsresol=9, big_endian=False):
    """Writes an input capture with interface names and nanosecond (or any)
    resolution: frames are (iface_index, scapy packet)."""
    e = ">" if big_endian else "<"

    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)

    def opt(code, val):
        return struct.pack(e + "HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

    out = block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + opt(0, b""))
    for name in ifaces:
        out += block(1, struct.pack(e + "HHI", 1, 0, 262144) + opt(2, name.encode())
                     + opt(9, bytes([tsresol])) + opt(0, b""))
    for iface, p in frames:
        raw = bytes(p)
        # via whole microseconds: a float holds 1.7e9 s only to ~0.2 us
        us = round(float(p.time) * 1e6)
        ts = us * 10 ** (tsresol - 6) if tsresol >= 6 else us // 10 ** (6 - tsresol)
        out += block(6, struct.pack(e + "IIIII", iface, ts >> 32, ts & 0xffffffff,
                                    len(raw), len(raw)) + raw)
    Path(path).write_bytes(out)


# --- running ulvsd -------------------------------------------------------------

@dataclass
class Result:
    rc: int
    stderr: str
    out: Capture
    passed: Capture
    out_path: Path
    in_path: Path

    @property
    def pkts(self):
        return [f.pkt for f in self.out.frames]

    def stat(self, name):
        """A counter from the replay summary ("transmitted", a drop reason...)."""
        for line in self.stderr.splitlines():
            parts = line.strip().rsplit(None, 1)
            if len(parts) == 2 and parts[0].strip() == name and parts[1].isdigit():
                return int(parts[1])
        return 0


class Replayer:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.n = 0

    def run(self, conf_text, packets, passed=False, input_path=None, args=(), check=True):
        """Writes conf_text and packets (a pcap, unless input_path is given),
        runs ulvsd --replay, returns the parsed outputs."""
        self.n += 1
        d = self.tmp / f"run{self.n}"
        d.mkdir()
        conf_path = d / "keepalived.conf"
        conf_path.write_text(conf_text)
        in_path = Path(input_path) if input_path else d / "in.pcap"
        if input_path is None:
            wrpcap(str(in_path), packets)
        out_path = d / "out.pcapng"
        cmd = [str(ULVSD), "-f", str(conf_path), "--replay", str(in_path),
               "--write", str(out_path)]
        if passed:
            cmd += ["--write-passed", str(d / "passed.pcapng")]
        cmd += list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, f"ulvsd failed ({p.returncode}):\n{p.stderr}"
        out = read_pcapng(out_path) if out_path.exists() else Capture()
        pas = read_pcapng(d / "passed.pcapng") if passed and p.returncode == 0 else Capture()
        return Result(p.returncode, p.stderr, out, pas, out_path, in_path)


# --- checking --------------------------------------------------------------------

_CSUM_FIELDS = ("chksum", "cksum")


def _csum_layers(p):
    """(depth, field, value) of every checksum outside ICMP quotations."""
    out, layer, depth = [], p, 0
    while layer is not None and layer.name not in ("NoPayload", "Raw", "Padding"):
        if "error" in type(layer).__name__.lower() or "in ICMP" in layer.name:
            break   # quoted headers in ICMP errors: not ours to validate
        for f in _CSUM_FIELDS:
            if f in layer.fields:
                out.append((depth, f, layer.getfieldval(f)))
        layer = layer.payload if layer.payload else None
        depth += 1
    return out


def assert_csums(data):
    """Every IPv4/TCP/UDP/ICMP checksum (incl. inside IP-in-IP) equals the
    one scapy computes from scratch."""
    p = Ether(bytes(data))
    found = _csum_layers(p)
    q = Ether(bytes(data))
    layers = []
    layer = q
    while layer is not None and layer.name not in ("NoPayload",):
        layers.append(layer)
        layer = layer.payload if layer.payload else None
    for depth, f, _ in found:
        setattr(layers[depth], f, None)
    redone = Ether(bytes(q))
    got = {(d, f): v for d, f, v in found}
    want = {(d, f): v for d, f, v in _csum_layers(redone)}
    assert got == want, f"bad checksum(s): got {got}, scapy computes {want}:\n" + \
        p.show(dump=True)
    assert found, "no checksum found to verify"


def ip_layer(p):
    return p[IP] if IP in p else p[IPv6]


def tcp_option(p, kind):
    for o in p[TCP].options:
        if o[0] == kind or (kind == 2 and o[0] == "MSS"):
            return o[1]
    return None

