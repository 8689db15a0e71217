"""FULLNAT (DPVS lb_kind FNAT): client:cport -> VIP:vport becomes
laddr:lport -> RIP:rport, replies are mapped back, and the real server
learns the client from the TOA option (kind 254) the director adds to the
client's first ACK; MSS on SYN and SYN-ACK is lowered by the option's size
so the segment with TOA still fits the path.  As in DPVS/Alibaba LVS, the
option rides on every client segment until the real server has sent
something besides its SYN-ACK, so a lost handshake ACK does not lose it."""
import socket
import struct

from replaylib import (DIRECTOR_MAC, GW_MAC, IP, LADDR, RS1, RS2, RS_MAC, TCP, VIP, IPv6, Raw,
                       assert_csums, config, from_client, from_rs, syn, tcp_option, vs)

CLIENT = "192.168.1.7"
CPORT = 40000
TOA_KIND = 254

FNAT_CONF = config(
    "local_address_group laddr_g1 {\n    10.0.0.250 eth0\n}",
    vs(VIP, 80, "FNAT", [(RS1, 8080, 1), (RS2, 8080, 1)],
       extra="laddr_group_name laddr_g1"))


def learn_lport(replay):
    """The local port the engine picks for the first connection (deterministic
    for a config), learnt from a replay of the SYN alone."""
    r = replay.run(FNAT_CONF, [syn(CLIENT, CPORT)])
    assert len(r.out.frames) == 1, r.stderr
    return r.pkts[0][TCP].sport


def flow(lport):
    c = IP(src=CLIENT, dst=VIP)
    s = IP(src=RS1, dst=LADDR)
    return [
        syn(CLIENT, CPORT, at=0.0, mss=1460),
        from_rs(RS1, s / TCP(sport=8080, dport=lport, flags="SA", seq=5000, ack=1001,
                             options=[("MSS", 1460)]), at=0.001),
        from_client(c / TCP(sport=CPORT, dport=80, flags="A", seq=1001, ack=5001), at=0.002),
        from_client(c / TCP(sport=CPORT, dport=80, flags="PA", seq=1001, ack=5001) /
                    Raw(b"GET / HTTP/1.0\r\n\r\n"), at=0.003),
        from_rs(RS1, s / TCP(sport=8080, dport=lport, flags="PA", seq=5001, ack=1019) /
                Raw(b"HTTP/1.0 200 OK\r\n\r\n"), at=0.004),
        from_client(c / TCP(sport=CPORT, dport=80, flags="A", seq=1019, ack=5020), at=0.005),
    ]


def test_fullnat_flow_with_toa_and_mss(replay):
    lport = learn_lport(replay)
    assert 1025 <= lport <= 65535
    pkts = flow(lport)
    r = replay.run(FNAT_CONF, pkts)
    assert len(r.out.frames) == 6, r.stderr
    syn_out, synack_out, ack_out, data_out, reply_out, ack2_out = r.pkts
    for p in r.pkts:
        assert_csums(p)
        assert p.src == DIRECTOR_MAC

    # SYN: both ends rewritten, MSS lowered by the 8-byte IPv4 TOA option
    assert (syn_out[IP].src, syn_out[TCP].sport) == (LADDR, lport)
    assert (syn_out[IP].dst, syn_out[TCP].dport) == (RS1, 8080)
    assert syn_out.dst == RS_MAC[RS1]
    assert syn_out[IP].ttl == pkts[0][IP].ttl - 1
    assert tcp_option(syn_out, 2) == 1460 - 8
    assert tcp_option(syn_out, TOA_KIND) is None

    # SYN-ACK: mapped back to VIP:80 -> client, MSS lowered too
    assert (synack_out[IP].src, synack_out[TCP].sport) == (VIP, 80)
    assert (synack_out[IP].dst, synack_out[TCP].dport) == (CLIENT, CPORT)
    assert synack_out.dst == GW_MAC
    assert tcp_option(synack_out, 2) == 1460 - 8

    # first ACK: carries TOA = client port + client IPv4, 8 bytes in all
    toa = tcp_option(ack_out, TOA_KIND)
    assert toa == struct.pack("!H", CPORT) + socket.inet_aton(CLIENT), ack_out[TCP].options
    assert ack_out[TCP].dataofs == 5 + 2
    assert ack_out[IP].len == len(pkts[2][IP]) + 8
    assert (ack_out[IP].src, ack_out[TCP].sport, ack_out[IP].dst, ack_out[TCP].dport) == \
        (LADDR, lport, RS1, 8080)
    assert ack_out[TCP].seq == 1001 and ack_out[TCP].ack == 5001

    # the request, before the server said anything: TOA again, payload intact
    assert tcp_option(data_out, TOA_KIND) == toa
    assert bytes(data_out[TCP].payload) == b"GET / HTTP/1.0\r\n\r\n"
    assert (data_out[IP].src, data_out[TCP].sport) == (LADDR, lport)
    assert (reply_out[IP].src, reply_out[TCP].sport, reply_out[IP].dst,
            reply_out[TCP].dport) == (VIP, 80, CLIENT, CPORT)
    assert bytes(reply_out[TCP].payload) == b"HTTP/1.0 200 OK\r\n\r\n"
    # the server has answered: it read the option with its handshake
    assert tcp_option(ack2_out, TOA_KIND) is None
    assert ack2_out[TCP].dataofs == 5
    assert r.stat("TOA inserted") == 2


def test_fullnat_clients_get_distinct_local_ports(replay):
    pkts = [syn(f"192.168.3.{i + 1}", 50000, at=i * 0.01) for i in range(6)]
    r = replay.run(FNAT_CONF, pkts)
    assert len(r.out.frames) == 6, r.stderr
    assert all(p[IP].src == LADDR for p in r.pkts)
    assert [p[IP].dst for p in r.pkts] == [RS1, RS2] * 3
    # (laddr, lport, rip, rport) identifies the connection on the way back
    keys = {(p[TCP].sport, p[IP].dst) for p in r.pkts}
    assert len(keys) == 6


def test_fullnat_ipv6_toa_is_the_20_byte_form(replay):
    conf = config("local_address_group laddr_v6 {\n    2001:db8::250 eth0\n}",
                  vs("2001:db8::100", 80, "FNAT", [("2001:db8::10", 8080, 1)],
                     extra="laddr_group_name laddr_v6"))
    client = "2001:db8:ffff::7"
    first = replay.run(conf, [syn(client, CPORT, dst="2001:db8::100", mss=1440)])
    assert len(first.out.frames) == 1, first.stderr
    s0 = first.pkts[0]
    lport = s0[TCP].sport
    assert s0[IPv6].src == "2001:db8::250" and s0[IPv6].dst == "2001:db8::10"
    assert tcp_option(s0, 2) == 1440 - 20
    c = IPv6(src=client, dst="2001:db8::100")
    pkts = [syn(client, CPORT, dst="2001:db8::100", mss=1440),
            from_rs("2001:db8::10", IPv6(src="2001:db8::10", dst="2001:db8::250") /
                    TCP(sport=8080, dport=lport, flags="SA", seq=5000, ack=1001,
                        options=[("MSS", 1440)]), at=0.001),
            from_client(c / TCP(sport=CPORT, dport=80, flags="A", seq=1001, ack=5001), at=0.002)]
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 3, r.stderr
    synack, ack = r.pkts[1], r.pkts[2]
    assert synack[IPv6].src == "2001:db8::100" and synack[IPv6].dst == client
    assert tcp_option(synack, 2) == 1440 - 20
    toa = tcp_option(ack, TOA_KIND)
    assert toa == struct.pack("!H", CPORT) + socket.inet_pton(socket.AF_INET6, client)
    assert ack[IPv6].plen == 20 + 20
    for p in r.pkts:
        assert_csums(p)
