"""UDP echo server for the integration tests, run inside a real server's namespace.

Answers every datagram with "<name> <payload> from <client address>", so a test can tell
which real server answered and what source address that server saw (NAT mode must
preserve the client's).  Usage: udp_echo.py ADDRESS PORT NAME
"""
import socket
import sys


def main():
    addr, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(4096)
        s.sendto(name + b" " + data + b" from " + peer[0].encode(), peer)


if __name__ == "__main__":
    main()
