#!/usr/bin/env bash
# Makes sure what the test suite needs is present and running: PostgreSQL (with pg_dump and
# pg_restore), Redis, Debian's Chromium and poppler's pdftotext (the printed report's test).
# Starts a stopped service; installs a missing one.
set -euo pipefail

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v pg_ctlcluster >/dev/null || ! command -v pg_dump >/dev/null; then
  echo "ensure_services: installing PostgreSQL"
  apt_install postgresql postgresql-client
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "ensure_services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { echo "ensure_services: PostgreSQL did not start"; exit 1; }

if ! command -v redis-server >/dev/null; then
  echo "ensure_services: installing Redis"
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "ensure_services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "ensure_services: Redis did not start"; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
  echo "ensure_services: installing Chromium (Debian package)"
  apt_install chromium fonts-dejavu-core
fi
if ! command -v pdftotext >/dev/null; then
  echo "ensure_services: installing pdftotext (poppler-utils)"
  apt_install poppler-utils
fi
echo "ensure_services: PostgreSQL, Redis, Chromium and pdftotext are ready"
