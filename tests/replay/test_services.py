"""Service kinds and time: UDP, firewall-mark services, persistence,
connection timeouts and the sorry server.  Time is the capture's: packets
are placed with `at=` seconds and the engine's clock follows them."""
from replaylib import (DIRECTOR_MAC, GW_MAC, IP, RS1, RS2, RS_MAC, SORRY, SORRY_MAC, TCP, UDP,
                       VIP, Raw, assert_csums, config, from_client, from_rs, syn, vs)

CLIENT = "192.168.1.1"


def udp_from_client(cport, at, payload=b"query", dport=53):
    return from_client(IP(src=CLIENT, dst=VIP) / UDP(sport=cport, dport=dport) / Raw(payload), at)


def udp_from_rs(rs, cport, at, payload=b"answer"):
    return from_rs(rs, IP(src=rs, dst=CLIENT) / UDP(sport=5353, dport=cport) / Raw(payload), at)


UDP_CONF = config(vs(VIP, 53, "NAT", [(RS1, 5353, 1), (RS2, 5353, 1)], proto="UDP"))


def test_udp_nat_both_directions(replay):
    r = replay.run(UDP_CONF, [udp_from_client(33000, 0.0), udp_from_rs(RS1, 33000, 0.001),
                              udp_from_client(33001, 0.002)])
    assert len(r.out.frames) == 3, r.stderr
    q, a, q2 = r.pkts
    assert (q[IP].src, q[UDP].sport, q[IP].dst, q[UDP].dport) == (CLIENT, 33000, RS1, 5353)
    assert q.dst == RS_MAC[RS1]
    assert (a[IP].src, a[UDP].sport, a[IP].dst, a[UDP].dport) == (VIP, 53, CLIENT, 33000)
    assert a.dst == GW_MAC and bytes(a[UDP].payload) == b"answer"
    assert q2[IP].dst == RS2                      # a new flow, rr moves on
    for p in r.pkts:
        assert_csums(p)


def test_udp_connection_expires_after_udp_timeout(replay):
    """IPVS UDP timeout is 300 s, refreshed by every packet."""
    pkts = [udp_from_client(33000, 0.0),
            udp_from_rs(RS1, 33000, 299.0),       # within 300 s: translated
            udp_from_rs(RS1, 33000, 299.0 + 301)]  # idle > 300 s: no connection left
    r = replay.run(UDP_CONF, pkts)
    srcs = [p[IP].src for p in r.pkts]
    assert srcs.count(VIP) == 1, r.stderr
    assert r.stat("connections expired") >= 1


FWMARK_CONF = config(
    "fwmark_rule 50 {\n    protocol TCP\n    destination 10.0.0.100/32\n    port 80,443\n}",
    "\n".join(["virtual_server fwmark 50 {", "    lb_algo rr", "    lb_kind DR",
               "    protocol TCP",
               "    real_server 10.0.0.10 80 {", "        weight 1", "    }",
               "    real_server 10.0.0.20 80 {", "        weight 1", "    }", "}"]))


def test_fwmark_service_covers_80_and_443_only(replay):
    pkts = [syn("192.168.1.1", 40000, dport=80, at=0.0),
            syn("192.168.1.2", 40000, dport=443, at=0.01),
            syn("192.168.1.3", 40000, dport=22, at=0.02),
            syn("192.168.1.4", 40000, dport=443, at=0.03)]
    r = replay.run(FWMARK_CONF, pkts, passed=True)
    assert len(r.out.frames) == 3, r.stderr
    assert [p[TCP].dport for p in r.pkts] == [80, 443, 443]
    assert [p.dst for p in r.pkts] == [RS_MAC[RS1], RS_MAC[RS2], RS_MAC[RS1]]
    for p, src in zip(r.pkts, [pkts[0], pkts[1], pkts[3]]):
        assert bytes(p[IP]) == bytes(src[IP])     # DR: IP untouched, port kept
    assert all(f.pkt[TCP].dport == 22 for f in r.passed.frames)


def test_persistence_keeps_client_on_one_server_until_timeout(replay):
    conf = config(vs(VIP, 80, "DR", [(RS1, 80, 1), (RS2, 80, 1)],
                     extra="persistence_timeout 60"))
    a, b, c = "192.168.1.1", "192.168.1.2", "192.168.1.3"
    pkts = [syn(a, 1000, at=0.0),     # rr -> rs1, template a -> rs1
            syn(a, 1001, at=5.0),     # template: rs1 (plain rr would say rs2)
            syn(b, 1000, at=6.0),     # rr -> rs2
            syn(a, 1002, at=50.0),    # still within 60 s: rs1
            syn(c, 1000, at=400.0),   # everything expired long ago; rr -> rs1
            syn(a, 1003, at=401.0)]   # template gone: rr -> rs2
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 6, r.stderr
    by_client = [(p[IP].src, p.dst) for p in r.pkts]
    assert by_client == [(a, RS_MAC[RS1]), (a, RS_MAC[RS1]), (b, RS_MAC[RS2]),
                         (a, RS_MAC[RS1]), (c, RS_MAC[RS1]), (a, RS_MAC[RS2])]
    assert r.stat("templates created") >= 3


def tcp_flow(at, dport=80):
    c = IP(src=CLIENT, dst=VIP)
    s = IP(src=RS1, dst=CLIENT)
    return [syn(CLIENT, 41000, at=at),
            from_rs(RS1, s / TCP(sport=8080, dport=41000, flags="SA", seq=1, ack=1001), at + 0.001),
            from_client(c / TCP(sport=41000, dport=dport, flags="A", seq=1001, ack=2), at + 0.002)]


def data(at):
    return from_client(IP(src=CLIENT, dst=VIP) / TCP(sport=41000, dport=80, flags="PA",
                                                     seq=1001, ack=2) / Raw(b"ping"), at)


def test_tcp_established_timeout_follows_capture_time(replay):
    """ESTABLISHED lasts 900 s without traffic (IPVS default); after that a
    non-SYN segment finds nothing and is not forwarded."""
    conf = config(vs(VIP, 80, "NAT", [(RS1, 8080, 1)]))
    pkts = tcp_flow(0.0) + [data(899.0), data(899.0 + 901.0)]
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 4, r.stderr
    assert r.stat("connections expired") == 1
    assert r.stat("connections live") == 0


def test_lvs_timeouts_tcp_is_applied(replay):
    """global_defs lvs_timeouts tcp N: the ipvsadm --set equivalent."""
    conf = config("global_defs {\n    lvs_timeouts tcp 30\n}",
                  vs(VIP, 80, "NAT", [(RS1, 8080, 1)]))
    pkts = tcp_flow(0.0) + [data(29.0), data(29.0 + 31.0)]
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 4, r.stderr


def test_sorry_server_when_no_real_server_is_usable(replay):
    conf = config(vs(VIP, 80, "DR", [(RS1, 80, 0)], extra=f"sorry_server {SORRY} 80"))
    r = replay.run(conf, [syn(CLIENT, 40000)])
    assert len(r.out.frames) == 1, r.stderr
    p = r.pkts[0]
    assert p.dst == SORRY_MAC and p.src == DIRECTOR_MAC
    assert p[IP].dst == VIP                      # DR to the sorry server: IP untouched
    assert r.stat("sorry server used") == 1


def test_sorry_server_unused_while_a_real_server_is_up(replay):
    conf = config(vs(VIP, 80, "DR", [(RS1, 80, 0), (RS2, 80, 1)],
                     extra=f"sorry_server {SORRY} 80"))
    r = replay.run(conf, [syn(CLIENT, 40000), syn("192.168.1.2", 40000, at=0.01)])
    assert [p.dst for p in r.pkts] == [RS_MAC[RS2], RS_MAC[RS2]]   # weight 0: quiesced


def test_no_real_server_and_no_sorry_server_drops(replay):
    conf = config(vs(VIP, 80, "DR", [(RS1, 80, 0)]))
    r = replay.run(conf, [syn(CLIENT, 40000)])
    assert r.out.frames == []
    assert r.stat("dropped") == 1
