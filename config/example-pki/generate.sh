#!/bin/sh
# Regenerates the EXAMPLE-ONLY PKI in this directory with openssl (3.0 or later): a CA, a
# server certificate for localhost, and one client certificate per example consumer. The CA's
# private key is deleted at the end, so nothing more can be issued under it.
#
# After regenerating, update the fingerprints under `consumers[].certificates` in
# ../gateway.example.yaml:  openssl x509 -in dvla-licensing.pem -noout -fingerprint -sha256
set -eu
cd "$(dirname "$0")"
days=3650
subject="/O=Garrison example (do not trust)"

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -keyout ca.key -out ca.pem -days "$days" -subj "$subject/CN=Garrison example CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"

issue() { # file-name common-name extensions
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -keyout "$1.key" -out "$1.csr" -subj "$subject/CN=$2"
    printf '%s\n' "$3" > "$1.ext"
    openssl x509 -req -sha256 -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
        -days "$days" -extfile "$1.ext" -out "$1.pem"
    rm "$1.csr" "$1.ext"
}

issue server localhost "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

for consumer in dvla-licensing nhs-prescriptions leeds-school-meals; do
    issue "$consumer" "$consumer" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
done

rm ca.key
