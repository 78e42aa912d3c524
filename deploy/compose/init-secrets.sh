#!/bin/sh
# Writes what docker-compose.yml's secrets name, into ./secrets (git-ignored), and puts the hashes of the
# new tokens and of the dashboard admin password into ./config. Run once, from any folder:
#   ./init-secrets.sh                 uses the tunnelwatch image (build it first: docker compose build)
#   TW="node ../../bin/tunnelwatch.js" ./init-secrets.sh     uses a local build instead of the image
# Existing files are kept, so a second run changes nothing. CI runs it with a local build
# (test/integration/deploy.test.ts) and validates the configs it leaves.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 700 secrets

# Commands run inside ./secrets, so relative paths work for the image (mounted at /work) and for node.
if [ -z "${TW:-}" ]; then
  TW="docker run --rm -i -u $(id -u):$(id -g) -v $(pwd)/secrets:/work -w /work ${TUNNELWATCH_IMAGE:-tunnelwatch:local}"
fi
tw() { (cd secrets && $TW "$@"); }

random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
# Replaces a placeholder in the configs (a no-op once it has been replaced).
put() { for f in config/*.yaml; do sed -i "s|$1|$2|" "$f"; done; }

if [ ! -f secrets/pki/ca.crt ]; then
  tw pki init --out pki --relay-host relay --relay-host localhost --connector connector-1
  echo "init-secrets: secrets/pki/ca.key signs new connectors: keep a copy offline and remove it here"
fi
# For docker-compose.ha.yml: the shadow's tunnel certificate, and each connector's HA certificate
# (CN = connector id, serverAuth and clientAuth). Issued here too for stacks made before HA existed.
[ -f secrets/pki/connector-2.crt ] || tw pki issue --out pki --connector connector-2
for id in connector-1 connector-2; do
  [ -f "secrets/pki/$id-ha.crt" ] || tw connector ha-cert --pki pki --name "$id"
done

for file in secrets/relay_ingest.token secrets/connector_ingest.token secrets/relay_admin.token; do
  [ -f "$file" ] || random_hex > "$file"
done
put 0000000000000000000000000000000000000000000000000000000000000001 "$(sha256 "$(cat secrets/relay_ingest.token)")"
put 0000000000000000000000000000000000000000000000000000000000000002 "$(sha256 "$(cat secrets/connector_ingest.token)")"
# The dashboard's bearer token for the relay's admin API (relay.yaml admin.tokens).
put 0000000000000000000000000000000000000000000000000000000000000003 "$(sha256 "$(cat secrets/relay_admin.token)")"

[ -f secrets/clickhouse.password ] || random_hex > secrets/clickhouse.password

PLACEHOLDER='scrypt$32768$8$1$gqSesZ0gCroFwfTB0o1fmQ$KBI5FBqxFwTRnQ30B3wQjZEx06z_oRWRxEbQhAgIOwI'
if grep -qF "$PLACEHOLDER" config/collector.yaml; then
  [ -f secrets/dashboard_admin.password ] || random_hex > secrets/dashboard_admin.password
  hash=$(tw user hash-password --password-file dashboard_admin.password)
  put "$(printf '%s' "$PLACEHOLDER" | sed 's/[$]/\\$/g')" "$hash"
  echo "init-secrets: dashboard user admin, password in secrets/dashboard_admin.password"
fi

# The containers run as uid 10001 and read these files through bind mounts: the folder (0700) keeps
# other users of this host out, the files themselves must be readable inside the containers.
find secrets -type f ! -name ca.key -exec chmod 644 {} +
echo "init-secrets: done; next: docker compose up -d"
