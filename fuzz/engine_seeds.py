#!/usr/bin/python3
"""Seed corpus for fuzz_engine: short conversations with the harness's world.

Each seed is a sequence of records (see fuzz_engine.c): len(2) dt(1) flags(1)
sel(1) frame.  Frames are complete and correct (scapy computes every
checksum), so the fuzzer starts from packets that reach connection tracking,
scheduling and every forwarding method, and mutates from there.

usage: engine_seeds.py OUTDIR
"""
import os
import struct
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6
from scapy.layers.l2 import Ether

CLI_MAC = "02:00:00:00:00:aa"
ETH0 = "02:00:00:00:00:01"
ETH1 = "02:00:00:00:01:01"


def rec(frame, dt=0, flags=0, sel=0, iface=0):
    raw = bytes(frame)
    if iface:
        flags |= 0x08
    return struct.pack(">HBBB", len(raw), dt, flags, sel) + raw


def cli(ip_layer):
    return Ether(src=CLI_MAC, dst=ETH0) / ip_layer


def rsf(ip_layer, rs_last=0x11):
    return Ether(src="02:00:00:00:01:%02x" % rs_last, dst=ETH1) / ip_layer


def tcp_conv(vip, vport, rs, rport, cport=40000, v6=False, reply=True):
    L3 = IPv6 if v6 else IP
    c = "2001:db8:c::5" if v6 else "10.1.0.5"
    out = [rec(cli(L3(src=c, dst=vip) / TCP(sport=cport, dport=vport, flags="S",
                                             options=[("MSS", 1460)])))]
    if reply:
        out.append(rec(rsf(L3(src=rs, dst=c) / TCP(sport=rport, dport=cport, flags="SA",
                                                   options=[("MSS", 1460)])), dt=1, iface=1))
    out.append(rec(cli(L3(src=c, dst=vip) / TCP(sport=cport, dport=vport, flags="A")), dt=1))
    out.append(rec(cli(L3(src=c, dst=vip) / TCP(sport=cport, dport=vport, flags="PA")
                       / (b"x" * 100))))
    out.append(rec(cli(L3(src=c, dst=vip) / TCP(sport=cport, dport=vport, flags="FA")), dt=4))
    if reply:
        out.append(rec(rsf(L3(src=rs, dst=c) / TCP(sport=rport, dport=cport, flags="FA")),
                       iface=1))
    return b"".join(out)


def seeds():
    yield "nat", tcp_conv("10.0.0.1", 80, "192.168.1.11", 8080)
    yield "dr", tcp_conv("10.0.0.2", 80, None, 0, reply=False)
    yield "tun", tcp_conv("10.0.0.3", 80, None, 0, reply=False)
    yield "fnat", tcp_conv("10.0.0.4", 80, "192.168.1.13", 8080, reply=False) + rec(
        rsf(IP(src="192.168.1.13", dst="192.168.1.200") / TCP(sport=8080, dport=1025,
                                                               flags="SA"), 0x13), iface=1)
    yield "nat6", tcp_conv("2001:db8::1", 80, "fd00::11", 8080, v6=True)
    yield "dr6", tcp_conv("2001:db8::2", 80, None, 0, v6=True, reply=False)
    yield "tun6", tcp_conv("2001:db8::3", 80, None, 0, v6=True, reply=False)
    yield "udp_persist", b"".join(
        rec(cli(IP(src="10.1.0.%d" % h, dst="10.0.0.5") / UDP(sport=5000 + h, dport=53)
                / b"q"), dt=h) for h in range(4))
    yield "fnat6_udp", rec(cli(IPv6(src="2001:db8:c::5", dst="2001:db8::4")
                               / UDP(sport=5000, dport=53) / b"q"))
    yield "port0_sorry", rec(cli(IP(src="10.1.0.5", dst="10.0.0.6") / TCP(sport=1, dport=22,
                                                                          flags="S")))
    yield "fwmark", b"".join(
        rec(cli(IP(src="10.1.0.5", dst="10.0.9.1") / TCP(sport=40000 + p, dport=p, flags="S")))
        for p in (80, 443, 445))
    q = IP(src="10.0.0.1", dst="10.1.0.5") / TCP(sport=80, dport=40000, flags="A") / (b"y" * 60)
    yield "icmp_nat_in", tcp_conv("10.0.0.1", 80, "192.168.1.11", 8080) + rec(
        cli(IP(src="10.0.0.100", dst="10.0.0.1") / ICMP(type=3, code=4, nexthopmtu=1400)
            / bytes(q)))
    q = IP(src="10.1.0.5", dst="192.168.1.11") / TCP(sport=40000, dport=8080, flags="S")
    yield "icmp_nat_out", tcp_conv("10.0.0.1", 80, "192.168.1.11", 8080) + rec(
        rsf(IP(src="192.168.1.11", dst="10.1.0.5") / ICMP(type=3, code=3) / bytes(q), 0x11),
        iface=1)
    q6 = IPv6(src="2001:db8::1", dst="2001:db8:c::5") / TCP(sport=80, dport=40000) / (b"z" * 40)
    yield "icmp6_ptb", tcp_conv("2001:db8::1", 80, "fd00::11", 8080, v6=True) + rec(
        cli(IPv6(src="2001:db8::ff", dst="2001:db8::1") / ICMPv6PacketTooBig(mtu=1280)
            / bytes(q6)))
    yield "tun_big", rec(cli(IP(src="10.1.0.5", dst="10.0.0.3", flags="DF")
                             / TCP(sport=1234, dport=80, flags="S") / (b"b" * 1420)))
    yield "assisted", rec(cli(IP(src="1.2.3.4", dst="5.6.7.8") / TCP(sport=1, dport=80,
                                                                      flags="S")),
                          flags=0x07, sel=0)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
