"""Seed 001: a keepalived + LVS-DR tutorial's configuration, used as
written (Chinese end-of-line comments, HTTP_GET checkers, a sorry server on
127.0.0.1), with a ulvs_defs block saying what the director's network looks
like.  Its iptables mark rule becomes a fwmark_rule.  Replay takes every real
server as healthy, so the checkers are parsed but do not run."""
import subprocess
from pathlib import Path

from replaylib import DIRECTOR_MAC, IP, RS1, RS2, RS_MAC, TCP, Raw, config, from_client, syn

DATA = Path(__file__).parent / "data"
MARK_RULE = """\
! iptables -t mangle -A PREROUTING -d 10.0.0.100 -p tcp -m multiport --dports 80,443 \\
!     -j MARK --set-mark 50
fwmark_rule 50 {
    protocol TCP
    destination 10.0.0.100/32
    port 80,443
}"""


def test_seed001_dr_cluster(replay):
    conf = config((DATA / "seed001_vs.conf").read_text())
    clients = [f"172.16.0.{i}" for i in range(1, 7)]
    pkts = [syn(c, 50000 + i, at=i * 0.5) for i, c in enumerate(clients)]
    # the tutorial's `curl` loop: a request on the first connection too
    pkts.append(from_client(IP(src=clients[0], dst="10.0.0.100") /
                            TCP(sport=50000, dport=80, flags="PA", seq=1001, ack=1) /
                            Raw(b"GET / HTTP/1.1\r\nHost: 10.0.0.100\r\n\r\n"), at=4.0))
    r = replay.run(conf, pkts)
    assert len(r.out.frames) == 7, r.stderr
    # "结果:成功!且权重也确为设置的 1:1" - rr at weight 1:1
    assert [p.dst for p in r.pkts] == [RS_MAC[RS1], RS_MAC[RS2]] * 3 + [RS_MAC[RS1]]
    for p, src in zip(r.pkts, pkts):
        assert p.src == DIRECTOR_MAC
        assert bytes(p[IP]) == bytes(src[IP])


def test_seed001_fwmark_cluster(replay):
    conf = config(MARK_RULE, (DATA / "seed001_fwmark.conf").read_text())
    pkts = [syn("172.16.0.1", 50000, dport=80), syn("172.16.0.2", 50000, dport=443, at=0.5),
            syn("172.16.0.3", 50000, dport=8080, at=1.0)]
    r = replay.run(conf, pkts)
    assert [(p[TCP].dport, p.dst) for p in r.pkts] == [(80, RS_MAC[RS1]), (443, RS_MAC[RS2])], \
        r.stderr


def test_seed001_config_test_mode(ulvsd, tmp_path):
    f = tmp_path / "keepalived.conf"
    f.write_text(config((DATA / "seed001_vs.conf").read_text()))
    p = subprocess.run([str(ulvsd), "-t", "-f", str(f)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
