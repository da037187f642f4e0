#!/bin/sh
# One-time setup of the compose trial (deploy/compose.yaml), run as root in the emulator image:
# the gateway's CA, server and client certificates; the database's certificate; the hashing
# secret every replica shares; the terminal's folder. Each made once, kept in named volumes;
# owned by the user that reads it (65532: the gateway and the sandbox; 999: PostgreSQL).
set -eu

if [ ! -f /pki/ca.pem ]; then
    pmh-gateway pki init --dir /pki \
        --name localhost --name 127.0.0.1 --name gateway-a --name gateway-b \
        --client recept-1 --client ops >/dev/null
fi
chown -R 0:0 /pki
chmod 0700 /pki
# The gateways see their own certificate and key and the CA's certificate, nothing more: the
# CA's key and the clients' keys stay in the pki volume, which only this setup mounts.
for f in ca.pem server.pem server.key; do
    cp /pki/$f /gateway-tls/$f
done
chown -R 65532:65532 /gateway-tls
chmod 0700 /gateway-tls
chmod 0600 /gateway-tls/server.key

if [ ! -f /db-pki/ca.pem ]; then
    pmh-gateway pki init --dir /db-pki --name postgres >/dev/null
    # The database's CA signs nothing more: its key is not kept.
    rm -f /db-pki/ca.key
fi
# PostgreSQL wants its key owned by itself (uid 999 in its image), 0600; the gateways get the
# CA's certificate alone (their own volume).
chown 999:999 /db-pki/server.key
chmod 0600 /db-pki/server.key
chmod 0755 /db-pki
cp /db-pki/ca.pem /db-ca/ca.pem
chown -R 65532:65532 /db-ca

if [ ! -f /secrets/audit.key ]; then
    head -c 32 /dev/urandom >/secrets/audit.key
fi
chown 65532:65532 /secrets /secrets/audit.key
chmod 0700 /secrets
chmod 0600 /secrets/audit.key

chown 65532:65532 /onshi /sandbox-certs /pmh-client
chmod 0700 /onshi /sandbox-certs /pmh-client
echo "setup: ok"
