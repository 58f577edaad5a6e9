#!/usr/bin/env bash
# Makes the known-answer JWTs of jwt_test.cc (KnownAnswer.*) with tools other than Berth: keys by
# `openssl genpkey`, signatures by `openssl dgst -sha256 -sign`, base64url and the ES256 DER -> r||s
# conversion by python3's standard library. Run once; its outputs are committed beside it:
#   cd src/auth/testdata && bash make-kat-tokens.sh
# (Regenerating makes new keys and so new tokens; the tests read whatever is here.)
set -euo pipefail
b64url() { python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.stdin.buffer.read()).rstrip(b"=").decode(), end="")'; }
# DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) -> 64 bytes r||s, as JWS ES256 wants.
der_to_raw() {
  python3 -c '
import sys
d = sys.stdin.buffer.read()
assert d[0] == 0x30
i = 2 if d[1] < 0x80 else 3
out = b""
for _ in range(2):
    assert d[i] == 0x02
    n = d[i + 1]
    v = d[i + 2:i + 2 + n].lstrip(b"\0")
    out += v.rjust(32, b"\0")
    i += 2 + n
sys.stdout.buffer.write(out)'
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out es256.key.pem 2>/dev/null
openssl pkey -in es256.key.pem -pubout -out es256.pub.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rs256.key.pem 2>/dev/null
openssl pkey -in rs256.key.pem -pubout -out rs256.pub.pem
# exp 4102444800 = 2100-01-01T00:00:00Z; iat/nbf 1700000000.
payload='{"iss":"kat-issuer","sub":"kat-user","aud":"kat-service","exp":4102444800,"nbf":1700000000,"iat":1700000000,"jti":"kat-1","access":[{"type":"repository","name":"team/app","actions":["pull","push"]}]}'
for alg in ES256 RS256; do
  key=$(echo "$alg" | tr 'A-Z' 'a-z').key.pem
  input="$(printf '{"alg":"%s","typ":"JWT"}' "$alg" | b64url).$(printf '%s' "$payload" | b64url)"
  if [ "$alg" = ES256 ]; then
    sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$key" | der_to_raw | b64url)
  else
    sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$key" | b64url)
  fi
  printf '%s.%s\n' "$input" "$sig" > "$(echo "$alg" | tr 'A-Z' 'a-z').jwt"
done
# The private keys are not needed by the tests; keep only the public halves.
rm -f es256.key.pem rs256.key.pem
