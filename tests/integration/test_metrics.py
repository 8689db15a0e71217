"""Prometheus endpoint end to end: scrape with curl, counters move with traffic.

Topology: conftest.py's NAT picture (client 10.99.1.2, VIP 10.99.1.100 on the
director, nginx on rs1 10.99.2.11 and rs2 10.99.2.12), in namespaces of its own.
ulvsd serves metrics on 127.0.0.1:9117 inside the director's namespace.
"""
import os
import re
import time

import pytest

from conftest import RS, VIP, ULVSD, build_nat_topology, require_environment

SVC = f'service="TCP {VIP}:80"'


def conf(sock, metrics=True):
    m = "    metrics_listen 127.0.0.1:9117\n" if metrics else ""
    return f"""! metrics test
ulvs_defs {{
    control_socket {sock}
{m}}}
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
"""


def start(t, text, name):
    cf = t.tmp / f"{name}.conf"
    cf.write_text(text)
    log = t.tmp / f"{name}.log"
    p = t.spawn("dir", os.environ.get("ULVSD", ULVSD), "-f", str(cf), "-l", log=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None:
            pytest.fail(f"ulvsd exited with {p.returncode}:\n{log.read_text()}")
        if "data plane: backend" in log.read_text():
            return p, log
        time.sleep(0.05)
    pytest.fail(f"ulvsd not ready after 5 s:\n{log.read_text()}")


def scrape(t, path="/metrics"):
    r = t.run("dir", "curl", "-s", "-i", "-m", "3", f"http://127.0.0.1:9117{path}", check=False)
    assert r.returncode == 0, f"curl: exit {r.returncode} {r.stderr}"
    # text mode turned CRLF into LF
    head, _, body = r.stdout.partition("\n\n")
    return head, body


def value(body, series):
    m = re.search("^" + re.escape(series) + r" (\S+)$", body, re.M)
    assert m, f"{series} not in the exposition"
    return float(m.group(1))


@pytest.fixture(scope="module")
def topo():
    require_environment()
    t = build_nat_topology(f"umet{os.getpid() % 100000}")
    for name, ip in RS.items():
        t.nginx(name, f"{ip}:80", name)
    yield t
    t.close()


def test_counters_follow_traffic(topo):
    t = topo
    p, log = start(t, conf(t.tmp / "m.sock"), "with")
    try:
        head, body = scrape(t)
        assert head.startswith("HTTP/1.0 200"), head
        assert "text/plain; version=0.0.4" in head
        c0 = value(body, f"ulvs_service_connections_total{{{SVC}}}")
        b0 = value(body, f'ulvs_service_bytes_total{{{SVC},direction="out"}}')
        rs2 = f'{SVC},server="{RS["rs2"]}:80"'
        assert value(body, f"ulvs_realserver_weight{{{rs2}}}") == 2
        assert value(body, f"ulvs_realserver_up{{{rs2}}}") == 1
        assert 'ulvs_dropped_packets_total{reason="not_syn"}' in body
        assert re.search(r'^ulvs_dataplane_info\{backend="[a-z_]+"\} 1$', body, re.M)

        for _ in range(6):
            r = t.run("client", "curl", "-s", "-m", "3", f"http://{VIP}/", check=False)
            assert r.returncode == 0, r.stderr
        head, body = scrape(t)
        assert value(body, f"ulvs_service_connections_total{{{SVC}}}") == c0 + 6
        assert value(body, f'ulvs_service_bytes_total{{{SVC},direction="out"}}') > b0
        assert value(body, f'ulvs_service_packets_total{{{SVC},direction="in"}}') >= 6 * 4
        # rr ignores weights (as IPVS rr does): 3 connections each
        for name in RS:
            rs = f'{SVC},server="{RS[name]}:80"'
            assert value(body, f"ulvs_realserver_connections_total{{{rs}}}") == 3
        # The estimator sees the burst within one or two 2 s samples.
        time.sleep(4.5)
        _, body = scrape(t)
        assert value(body, f"ulvs_service_connection_rate{{{SVC}}}") > 0

        head, _ = scrape(t, "/nope")
        assert head.startswith("HTTP/1.0 404"), head
    finally:
        p.terminate()
        p.wait(timeout=5)


def test_off_by_default(topo):
    t = topo
    p, log = start(t, conf(t.tmp / "n.sock", metrics=False), "without")
    try:
        r = t.run("dir", "curl", "-s", "-m", "2", "http://127.0.0.1:9117/metrics", check=False)
        assert r.returncode != 0
    finally:
        p.terminate()
        p.wait(timeout=5)
