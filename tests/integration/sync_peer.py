"""Both ends of the connection-sync failover test.

  server ADDR PORT           TCP echo server (one thread per connection);
                             prints "accepted PEER" for each connection.
  client VIP PORT DIR        opens connections through the VIP and reports on
                             them in DIR/result.json:
    - N_EARLY idle connections at once (before the backup exists: they reach
      it only through a resync), then waits for DIR/go;
    - a stream connection (a numbered line every 50 ms, each echoed) and
      N_LATE idle connections (these reach the backup as sync events);
    - when DIR/check appears, one more line on every idle connection, which
      must come back; when DIR/stop appears, the stream stops and the result
      is written.
  Every failure (reset, timeout, wrong echo) is recorded, never retried: a
  connection that did not survive the failover must show.
"""
import json
import os
import socket
import sys
import threading
import time

N_EARLY = 3
N_LATE = 2


def serve(addr, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(64)

    def echo(c):
        with c:
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                c.sendall(d)

    while True:
        c, peer = ls.accept()
        # One line per accepted connection: the failover test counts which
        # real server got which connections.
        print(f"accepted {peer[0]}:{peer[1]}", flush=True)
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def recv_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(4096)
        if not d:
            raise ConnectionError("closed by peer")
        buf += d
    return buf


def wait_file(path, limit=60):
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)


def client(vip, port, d):
    res = {"errors": [], "idle_ok": 0, "stream_lines": 0, "max_gap": 0.0,
           "lines_after_failover": 0}

    def connect(tag):
        s = socket.create_connection((vip, port), timeout=5)
        s.settimeout(20)  # a failover pause is fine, a reset is not
        s.sendall(f"{tag} hello\n".encode())
        if recv_line(s) != f"{tag} hello\n".encode():
            raise ValueError(f"{tag}: bad echo")
        return s

    idle = []
    try:
        for i in range(N_EARLY):
            idle.append((f"early{i}", connect(f"early{i}")))
    except Exception as e:  # noqa: BLE001 - report whatever broke
        res["errors"].append(f"setup early: {e!r}")
    open(os.path.join(d, "early_ready"), "w").close()
    wait_file(os.path.join(d, "go"))
    try:
        stream = connect("stream")
        for i in range(N_LATE):
            idle.append((f"late{i}", connect(f"late{i}")))
    except Exception as e:  # noqa: BLE001
        res["errors"].append(f"setup late: {e!r}")
        stream = None
    open(os.path.join(d, "late_ready"), "w").close()

    def idle_check():
        wait_file(os.path.join(d, "check"))
        for tag, s in idle:
            try:
                s.sendall(f"{tag} still here\n".encode())
                if recv_line(s) != f"{tag} still here\n".encode():
                    raise ValueError("bad echo")
                res["idle_ok"] += 1
            except Exception as e:  # noqa: BLE001
                res["errors"].append(f"{tag}: {e!r}")

    t = threading.Thread(target=idle_check)
    t.start()
    last = time.monotonic()
    n = 0
    stop = os.path.join(d, "stop")
    failover = os.path.join(d, "failover")
    while stream and not os.path.exists(stop):
        line = f"stream {n} {'x' * 200}\n".encode()
        try:
            stream.sendall(line)
            if recv_line(stream) != line:
                raise ValueError(f"bad echo at line {n}")
        except Exception as e:  # noqa: BLE001
            res["errors"].append(f"stream at line {n}: {e!r}")
            break
        now = time.monotonic()
        res["max_gap"] = max(res["max_gap"], now - last)
        last = now
        n += 1
        if os.path.exists(failover):
            res["lines_after_failover"] += 1
        time.sleep(0.05)
    res["stream_lines"] = n
    t.join(timeout=30)
    with open(os.path.join(d, "result.json.tmp"), "w") as f:
        json.dump(res, f)
    os.rename(os.path.join(d, "result.json.tmp"), os.path.join(d, "result.json"))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
