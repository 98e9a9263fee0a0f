#!/usr/bin/env bash
# Make PostgreSQL's server binaries (initdb, pg_ctl) available for the registry tests, which start
# their own throwaway server on a free loopback port (tests/postgres_server.py). Installs Debian's
# `postgresql` package when they are missing and apt-get can run (root, as in CI); otherwise it
# says so, and the PostgreSQL tests skip with that reason.
set -euo pipefail
if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL (Debian package postgresql) for the registry tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  # The package's own cluster is not needed: the tests start their own server.
  if command -v service >/dev/null 2>&1; then service postgresql stop >/dev/null 2>&1 || true; fi
else
  echo "PostgreSQL server binaries not found and not installable here (needs root and apt-get);" \
       "the PostgreSQL registry tests will be skipped" >&2
fi
