#!/usr/bin/env bash
# CI: make sure the local PostgreSQL runs, create a throwaway database, print its DATABASE_URL on stdout.
# Usage: export DATABASE_URL="$(cloud/scripts/ci-postgres.sh)"   (test files then create their own databases on
# that server; the printed one is also usable directly, e.g. by benchmarks). Progress goes to stderr.
set -euo pipefail
HOST="${PGHOST:-127.0.0.1}"
PORT="${PGPORT:-5432}"
USER_NAME="${PGUSER:-postgres}"

ready() { pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; }

if ! ready; then
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  if [ -z "$version" ]; then
    echo "ci-postgres: no PostgreSQL installed (apt-get install -y postgresql)" >&2
    exit 1
  fi
  echo "ci-postgres: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2
  for _ in $(seq 1 30); do ready && break; sleep 1; done
  ready || { echo "ci-postgres: PostgreSQL did not come up on $HOST:$PORT" >&2; exit 1; }
fi

db="estate_ci_$(date +%s)_$$"
psql -v ON_ERROR_STOP=1 -q -h "$HOST" -p "$PORT" -U "$USER_NAME" -d postgres -c "CREATE DATABASE $db" >&2
echo "postgresql://$USER_NAME@$HOST:$PORT/$db"
