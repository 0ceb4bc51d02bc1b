#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the tests on 127.0.0.1:${PGPORT:-55432}, as the unprivileged `postgres`
# user, and prints its URL (for LATCHKEY_TEST_POSTGRES_URL). Installs PostgreSQL with apt-get if it is missing.
set -euo pipefail
port="${PGPORT:-55432}"
# A fresh cluster directory unless one is named: a stale one from an earlier run is never reused by accident.
dir="${LATCHKEY_PG_DIR:-$(mktemp -d /tmp/latchkey-test-pg.XXXXXX)}"
# The first free port from PGPORT on.
while (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
run_as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    run_as_postgres "'$bin/initdb' -D '$dir' -U postgres --auth=trust -E UTF8 >/dev/null"
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nfsync = on\nmax_connections = 200\n" \
        "$port" "$dir" >> "$dir/postgresql.conf"
fi
if ! run_as_postgres "'$bin/pg_ctl' -D '$dir' status" >/dev/null 2>&1; then
    run_as_postgres "'$bin/pg_ctl' -D '$dir' -l '$dir/server.log' -w start" >/dev/null
fi
psql "postgresql://postgres@127.0.0.1:$port/postgres" -qtc \
    "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='latchkey') THEN CREATE ROLE latchkey LOGIN CREATEDB PASSWORD 'latchkey-test'; END IF; END\$\$;" >/dev/null
psql "postgresql://postgres@127.0.0.1:$port/postgres" -qtc "SELECT 1 FROM pg_database WHERE datname='latchkey'" | grep -q 1 \
    || psql "postgresql://postgres@127.0.0.1:$port/postgres" -qc "CREATE DATABASE latchkey OWNER latchkey" >/dev/null
echo "postgres://latchkey:latchkey-test@127.0.0.1:$port/latchkey"
