"""DR (gatewaying) and TUN (IP-in-IP) forwarding.

DR: only the Ethernet header changes; the IP packet leaves byte for byte as
it came (the real server has the VIP on lo).  TUN: the client's IP packet,
untouched, inside an outer header from the director's address to the real
server; a packet that would not fit the MTU once encapsulated is answered
with ICMP frag-needed / packet-too-big carrying the MTU left for the inner
packet (IPVS ip_vs_tunnel_xmit), so PMTU discovery works through us."""
from scapy.layers.inet6 import ICMPv6PacketTooBig

from replaylib import (DIRECTOR, DIRECTOR6, DIRECTOR_MAC, GW_MAC, ICMP, IP, RS1, RS1_6, RS2,
                       RS2_6, RS_MAC, TCP, VIP, VIP6, IPv6, Raw, assert_csums, config,
                       from_client, syn, vs)

CLIENT = "192.168.1.1"
CLIENT6 = "2001:db8:ffff::1"


def test_dr_rewrites_only_macs_and_spreads_rr(replay):
    conf = config(vs(VIP, 80, "DR", [(RS1, 80, 1), (RS2, 80, 1)]))
    pkts = [syn(f"192.168.1.{i + 1}", 40000 + i, at=i * 0.01) for i in range(6)]
    pkts.append(from_client(IP(src="192.168.1.1", dst=VIP) /
                            TCP(sport=40000, dport=80, flags="PA", seq=1001, ack=1) /
                            Raw(b"x" * 100), at=0.1))
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 7, r.stderr
    macs = [p.dst for p in r.pkts]
    assert macs[:6] == [RS_MAC[RS1], RS_MAC[RS2]] * 3
    assert macs[6] == RS_MAC[RS1]            # same connection, same server
    for f, src in zip(r.out.frames, pkts):
        p = f.pkt
        assert p.src == DIRECTOR_MAC and f.iface == 0
        assert bytes(p[IP]) == bytes(src[IP]), "DR must not touch the IP packet"


def test_dr_ipv6(replay):
    conf = config(vs(VIP6, 80, "DR", [(RS1_6, 80, 1), (RS2_6, 80, 1)]))
    pkts = [syn(CLIENT6, 40000 + i, dst=VIP6, at=i * 0.01) for i in range(2)]
    r = replay.run(conf, pkts)
    assert [p.dst for p in r.pkts] == [RS_MAC[RS1_6], RS_MAC[RS2_6]]
    for p, src in zip(r.pkts, pkts):
        assert bytes(p[IPv6]) == bytes(src[IPv6])


def test_tun_ipip_encapsulation(replay):
    conf = config(vs(VIP, 80, "TUN", [(RS1, 80, 1), (RS2, 80, 1)]))
    pkts = [syn(f"192.168.1.{i + 1}", 40000 + i, at=i * 0.01) for i in range(4)]
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 4, r.stderr
    for i, (f, src) in enumerate(zip(r.out.frames, pkts)):
        p = f.pkt
        rs = (RS1, RS2)[i % 2]
        outer = p[IP]
        assert outer.proto == 4
        assert outer.src == DIRECTOR and outer.dst == rs
        assert p.src == DIRECTOR_MAC and p.dst == RS_MAC[rs]
        inner = outer.payload
        assert isinstance(inner, IP)
        assert bytes(inner) == bytes(src[IP]), "the inner packet must be the client's, untouched"
        assert outer.len == 20 + len(bytes(src[IP]))
        assert_csums(p)


def test_tun_ipv6_in_ipv6(replay):
    conf = config(vs(VIP6, 80, "TUN", [(RS1_6, 80, 1), (RS2_6, 80, 1)]))
    pkts = [syn(CLIENT6, 40000 + i, dst=VIP6, at=i * 0.01) for i in range(2)]
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 2, r.stderr
    for p, src, rs in zip(r.pkts, pkts, (RS1_6, RS2_6)):
        outer = p[IPv6]
        assert outer.nh == 41 and outer.src == DIRECTOR6 and outer.dst == rs
        assert p.dst == RS_MAC[rs]
        assert bytes(outer.payload) == bytes(src[IPv6])
        assert outer.plen == len(bytes(src[IPv6]))
        assert_csums(p)


def test_tun_too_big_answered_with_frag_needed(replay):
    conf = config(vs(VIP, 80, "TUN", [(RS1, 80, 1)]))
    big = from_client(IP(src=CLIENT, dst=VIP, flags="DF") /
                      TCP(sport=40000, dport=80, flags="A", seq=1001, ack=1) /
                      Raw(b"y" * 1460), at=0.01)
    assert len(big[IP]) == 1500
    small = from_client(IP(src=CLIENT, dst=VIP, flags="DF") /
                        TCP(sport=40000, dport=80, flags="A", seq=1001, ack=1) /
                        Raw(b"z" * 1440), at=0.02)
    r = replay.run(conf, [syn(CLIENT, 40000), big, small])
    assert len(r.out.frames) == 3, r.stderr
    first, icmp, fits = r.pkts
    assert first[IP].proto == 4 and fits[IP].proto == 4 and len(fits[IP]) == 1500
    assert icmp.dst == GW_MAC and icmp.src == DIRECTOR_MAC
    assert icmp[IP].dst == CLIENT and icmp[IP].src in (VIP, DIRECTOR)
    assert icmp[ICMP].type == 3 and icmp[ICMP].code == 4
    assert icmp[ICMP].nexthopmtu == 1480          # 1500 minus the outer header
    quoted = icmp[ICMP].payload
    assert quoted.src == CLIENT and quoted.dst == VIP    # RFC 792: the original header
    assert bytes(quoted)[:20] == bytes(big[IP])[:20]
    assert_csums(icmp)
    assert r.stat("ICMP too-big sent") == 1


def test_tun_ipv6_too_big_answered_with_packet_too_big(replay):
    conf = config(vs(VIP6, 80, "TUN", [(RS1_6, 80, 1)]))
    big = from_client(IPv6(src=CLIENT6, dst=VIP6) /
                      TCP(sport=40000, dport=80, flags="A", seq=1001, ack=1) /
                      Raw(b"y" * 1440), at=0.01)
    assert len(big[IPv6]) == 1500
    r = replay.run(conf, [syn(CLIENT6, 40000, dst=VIP6), big])
    assert len(r.out.frames) == 2, r.stderr
    ptb = r.pkts[1]
    assert ptb[IPv6].dst == CLIENT6 and ptb[IPv6].src in (VIP6, DIRECTOR6)
    assert ICMPv6PacketTooBig in ptb
    assert ptb[ICMPv6PacketTooBig].mtu == 1460     # RFC 4443 §3.2, 1500 - 40
    assert ptb.dst == GW_MAC
    assert ptb[ICMPv6PacketTooBig].payload.src == CLIENT6
    assert_csums(ptb)
