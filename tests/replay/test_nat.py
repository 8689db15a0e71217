"""NAT (lb_kind NAT, ipvsadm -m): DNAT to RIP:rport on the way in, SNAT back
to VIP:vport on the way out; the director routes both, so TTL drops by one
and MACs are the next hop's."""
from replaylib import (DIRECTOR_MAC, GW_MAC, ICMP, IP, RS1, RS2, RS_MAC, TCP, VIP, Raw, assert_csums,
                       config, from_client, from_rs, syn, vs)

NAT_CONF = config(vs(VIP, 80, "NAT", [(RS1, 8080, 1), (RS2, 8080, 1)]))
CLIENT = "192.168.1.1"


def test_nat_handshake_and_data_both_directions(replay):
    pkts = [
        syn(CLIENT, 40000, at=0.0),
        # rr's first pick is the first real server (ip_vs_rr.c starts at the list head)
        from_rs(RS1, IP(src=RS1, dst=CLIENT) / TCP(sport=8080, dport=40000, flags="SA",
                                                   seq=5000, ack=1001), at=0.001),
        from_client(IP(src=CLIENT, dst=VIP) / TCP(sport=40000, dport=80, flags="A",
                                                  seq=1001, ack=5001), at=0.002),
        from_client(IP(src=CLIENT, dst=VIP) / TCP(sport=40000, dport=80, flags="PA",
                                                  seq=1001, ack=5001) / Raw(b"GET / HTTP/1.0\r\n\r\n"),
                    at=0.003),
        from_rs(RS1, IP(src=RS1, dst=CLIENT) / TCP(sport=8080, dport=40000, flags="PA",
                                                   seq=5001, ack=1019) / Raw(b"HTTP/1.0 200 OK\r\n\r\nhi"),
                at=0.004),
    ]
    r = replay.run(NAT_CONF, pkts)
    assert len(r.out.frames) == 5, r.stderr
    for f in r.out.frames:
        assert f.iface == 0
        assert_csums(f.data)
    inb = [r.out.frames[i].pkt for i in (0, 2, 3)]
    outb = [r.out.frames[i].pkt for i in (1, 4)]
    for src, p in zip([pkts[i] for i in (0, 2, 3)], inb):
        assert p.src == DIRECTOR_MAC and p.dst == RS_MAC[RS1]
        assert p[IP].src == CLIENT and p[IP].dst == RS1
        assert p[TCP].sport == 40000 and p[TCP].dport == 8080
        assert p[IP].ttl == src[IP].ttl - 1
        assert p[TCP].seq == src[TCP].seq and bytes(p[TCP].payload) == bytes(src[TCP].payload)
    for src, p in zip([pkts[i] for i in (1, 4)], outb):
        assert p.src == DIRECTOR_MAC and p.dst == GW_MAC     # client is behind the gateway
        assert p[IP].src == VIP and p[IP].dst == CLIENT
        assert p[TCP].sport == 80 and p[TCP].dport == 40000
        assert p[IP].ttl == src[IP].ttl - 1
    assert bytes(outb[1][TCP].payload).startswith(b"HTTP/1.0 200 OK")


def test_nat_rr_spreads_clients_over_both_servers(replay):
    pkts = [syn(f"192.168.1.{i + 1}", 30000 + i, at=i * 0.01) for i in range(10)]
    r = replay.run(NAT_CONF, pkts)
    dsts = [p[IP].dst for p in r.pkts]
    assert dsts == [RS1, RS2] * 5
    for p, src in zip(r.pkts, pkts):
        assert p[IP].src == src[IP].src and p[TCP].sport == src[TCP].sport
        assert p.dst == RS_MAC[p[IP].dst]
        assert_csums(p)
    assert r.stat("connections created") == 10


def test_nat_wrr_follows_weights(replay):
    conf = config(vs(VIP, 80, "NAT", [(RS1, 8080, 3), (RS2, 8080, 1)], algo="wrr"))
    pkts = [syn(f"192.168.2.{i + 1}", 31000 + i, at=i * 0.01) for i in range(8)]
    r = replay.run(conf, pkts)
    dsts = [p[IP].dst for p in r.pkts]
    assert len(dsts) == 8
    assert dsts.count(RS1) == 6 and dsts.count(RS2) == 2
    # ip_vs_wrr.c: the heavier server takes the first picks of each round
    assert dsts[0] == RS1


def test_nat_reply_from_unknown_flow_is_not_translated(replay):
    """A real server's packet with no connection behind it is not ours."""
    pkts = [from_rs(RS1, IP(src=RS1, dst=CLIENT) / TCP(sport=8080, dport=40001, flags="A"))]
    r = replay.run(NAT_CONF, pkts, passed=True)
    assert all(p[IP].src != VIP for p in r.pkts)
    assert r.stat("transmitted") == 0


def test_nat_icmp_error_quoting_a_connection_is_translated(replay):
    """A router between us and the client says the VIP's reply was too big
    (RFC 1191): the error goes to the real server, about the packet as the
    real server sent it, or PMTU discovery breaks behind NAT."""
    router = "203.0.113.1"
    quoted = IP(src=VIP, dst=CLIENT, flags="DF") / TCP(sport=80, dport=40000, flags="A",
                                                        seq=5001, ack=1001)
    pkts = [
        syn(CLIENT, 40000, at=0.0),
        from_rs(RS1, IP(src=RS1, dst=CLIENT) / TCP(sport=8080, dport=40000, flags="SA",
                                                   seq=5000, ack=1001), at=0.001),
        from_client(IP(src=router, dst=VIP) / ICMP(type=3, code=4, nexthopmtu=1400) /
                    bytes(quoted)[:28], at=0.002),
    ]
    r = replay.run(NAT_CONF, pkts)
    assert len(r.out.frames) == 3, r.stderr
    p = r.pkts[2]
    assert p[IP].src == router and p[IP].dst == RS1 and p.dst == RS_MAC[RS1]
    assert p[ICMP].type == 3 and p[ICMP].code == 4 and p[ICMP].nexthopmtu == 1400
    inner = p[ICMP].payload
    assert inner.src == RS1 and inner.dst == CLIENT
    assert inner.payload.sport == 8080 and inner.payload.dport == 40000   # TCPerror
    assert_csums(p)
