#!/bin/bash
# Test certificates for certificate authentication (ECDSA P-256, SHA-256), made
# with the openssl command line: a CA, alice.example and bob.example issued by it
# (subjectAltName dNSName), and a second, untrusted CA with its own bob.example.
#   make-certs.sh DIR
set -euo pipefail
D=${1:-tests/vectors/certs}
mkdir -p "$D"
cd "$D"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
ca() {
    key "$1"
    openssl req -x509 -new -key "$1.key" -sha256 -days 36500 -subj "/O=ikev2 test/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -out "$1.pem"
}
leaf() { # name ca
    key "$1"
    openssl req -new -key "$1.key" -subj "/O=ikev2 test/CN=$3" -out "$1.csr"
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -sha256 \
        -days 36500 -extfile "$1.ext" -out "$1.pem"
    rm -f "$1.csr" "$1.ext"
}
ca ca "ikev2 test CA"
leaf alice ca alice.example
leaf bob ca bob.example
ca rogue-ca "ikev2 test CA"
leaf rogue-bob rogue-ca bob.example
rm -f ./*.srl
