"""Independent ESP peer for esp's interoperability test, built on scapy's
scapy.layers.ipsec.SecurityAssociation.

Reads a JSON job on stdin: a list of cases, each with the SA parameters, the
packets esp produced (to decrypt here) and inner packets (to encrypt here).
Writes a JSON answer on stdout: per case, the decrypted packets (hex, or
"ERROR: ...") and the packets scapy produced (hex). The Rust side compares.
"""
import json
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import AH, ESP, SecurityAssociation
from scapy.compat import raw


def ip_from_bytes(b):
    return IP(b) if b[0] >> 4 == 4 else IPv6(b)


def make_sa(c):
    key = bytes.fromhex(c["key"])
    t = c["transform"]
    kw = {}
    proto = ESP
    if t == "ah-sha256":
        proto = AH
        kw.update(auth_algo="SHA2-256-128", auth_key=key)
    elif t in ("aes128gcm16", "aes256gcm16"):
        kw.update(crypt_algo="AES-GCM", crypt_key=key, auth_algo="NULL")
    elif t in ("aes128gmac", "aes256gmac"):
        kw.update(crypt_algo="AES-NULL-GMAC", crypt_key=key, auth_algo="NULL")
    elif t in ("aes128-sha256", "aes256-sha256"):
        klen = 16 if t.startswith("aes128") else 32
        kw.update(crypt_algo="AES-CBC", crypt_key=key[:klen],
                  auth_algo="SHA2-256-128", auth_key=key[klen:])
    else:
        raise ValueError("unknown transform " + t)
    if c.get("tunnel"):
        src, dst = c["tunnel"]
        kw["tunnel_header"] = IP(src=src, dst=dst) if ":" not in src else IPv6(src=src, dst=dst)
    if c.get("udp"):
        kw["nat_t_header"] = UDP(sport=c["udp"][0], dport=c["udp"][1])
    return SecurityAssociation(proto, spi=c["spi"], esn_en=c["esn"], esn=c["esn_hi"], **kw)


def main():
    job = json.load(sys.stdin)
    answer = []
    for c in job:
        res = {"decrypted": [], "encrypted": []}
        try:
            sa = make_sa(c)
        except Exception as e:  # reported per case, the Rust side fails the test
            res["error"] = "SA: %r" % e
            answer.append(res)
            continue
        for h in c["esp_packets"]:
            try:
                p = sa.decrypt(ip_from_bytes(bytes.fromhex(h)), esn_en=c["esn"], esn=c["esn_hi"])
                res["decrypted"].append(raw(p).hex())
            except Exception as e:
                res["decrypted"].append("ERROR: %r" % e)
        for h, seq in zip(c["inner_packets"], c["seqs"]):
            try:
                p = sa.encrypt(ip_from_bytes(bytes.fromhex(h)), seq_num=seq, esn_en=c["esn"], esn=c["esn_hi"])
                res["encrypted"].append(raw(p).hex())
            except Exception as e:
                res["encrypted"].append("ERROR: %r" % e)
        answer.append(res)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
