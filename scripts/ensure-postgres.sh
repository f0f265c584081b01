#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster if it is not answering; the store tests run on it.
set -u
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 1
  done
  echo "PostgreSQL did not start on 127.0.0.1:5432" >&2
  [ -n "${HEP_REQUIRE_POSTGRES:-}" ] && exit 1
else
  echo "no PostgreSQL on this machine: PostgreSQL tests will skip" >&2
  [ -n "${HEP_REQUIRE_POSTGRES:-}" ] && exit 1
fi
exit 0
