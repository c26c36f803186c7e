#!/usr/bin/env python3
"""Turn one strongSwan charon log (ike = 4, chd = 4) of an interop run into a
key-derivation vector file: every value comes from charon's log, none from this crate,
except the IKE SPIs, which both sides show (swanctl --list-sas) and which are given
on the command line.

usage: extract-kdf-vector.py CHARON_LOG SPI_I SPI_R PROPOSAL ESP > vector.txt
"""
import re
import sys

log, spi_i, spi_r, proposal, esp = sys.argv[1:6]
lines = open(log).read().splitlines()
dumps = []
i = 0
while i < len(lines):
    m = re.match(r"^\d+\[\w+\] (.*?) => (\d+) bytes @", lines[i])
    if m:
        label, n = m.group(1).strip(), int(m.group(2))
        hexs = ""
        i += 1
        while i < len(lines) and re.match(r"^\d+\[\w+\]\s+\d+: ", lines[i]):
            body = lines[i].split(": ", 1)[1]
            for tok in body.split(" "):
                if len(tok) != 2 or not all(c in "0123456789ABCDEF" for c in tok):
                    break
                hexs += tok.lower()
            i += 1
        assert len(hexs) == 2 * n, (label, n, hexs)
        dumps.append((label, hexs))
        continue
    i += 1

def first(label):
    return next(h for l, h in dumps if l == label)

def all_of(label):
    return [h for l, h in dumps if l == label]

out = {
    "proposal": proposal,
    "esp": esp,
    "spi_i": spi_i,
    "spi_r": spi_r,
    "g_ir": first("shared Diffie Hellman secret"),
    "skeyseed": first("SKEYSEED"),
}
for k in ["Sk_d", "Sk_ai", "Sk_ar", "Sk_ei", "Sk_er", "Sk_pi", "Sk_pr"]:
    v = all_of(k + " secret")
    out[k.lower()] = v[0] if v else ""
seed = first("seed")
half = len(seed) // 2
out["ni"], out["nr"] = seed[:half], seed[half:]
out["psk"] = first("secret")
ids = all_of("IDx'")
octets = all_of("octets = message + nonce + prf(Sk_px, IDx')")
auths = all_of("AUTH = prf(prf(secret, keypad), octets)")
for n, (idx, oc, au) in enumerate(zip(ids, octets, auths)):
    out[f"auth{n}_id_body"] = idx
    out[f"auth{n}_octets"] = oc
    out[f"auth{n}_value"] = au
out["child_enc_i"] = first("encryption initiator key")
out["child_enc_r"] = first("encryption responder key")
for k, l in [("child_integ_i", "integrity initiator key"), ("child_integ_r", "integrity responder key")]:
    v = all_of(l)
    if v:
        out[k] = v[0]
print("# IKEv2 key derivation and PSK AUTH, as computed by strongSwan 5.9.8 (Debian 12")
print("# package) in an interop run against this crate; values copied from charon's log at")
print("# ike = 4 / chd = 4 by interop/extract-kdf-vector.py. Ni and Nr are the two halves")
print("# of the logged CHILD_SA KEYMAT seed (no PFS), SPIs from swanctl --list-sas.")
print("# auth0 is the AUTH strongSwan verified first (ours, the initiator's), auth1 its own.")
for k, v in out.items():
    print(f"{k} = {v}")
