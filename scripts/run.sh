#!/usr/bin/env bash
# `make run`: migrate the SQLite default, load content and demo data, create the admin
# account, then start the web server, a worker and beat (one Ctrl-C stops all).
set -euo pipefail
cd "$(dirname "$0")/.."
export DATA_DIR="${DATA_DIR:-$PWD/data}"
mkdir -p "$DATA_DIR"
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  [ -s "$DATA_DIR/secret_key" ] || { .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > "$DATA_DIR/secret_key"; chmod 600 "$DATA_DIR/secret_key"; }
  export SECRET_KEY_FILE="$DATA_DIR/secret_key"
fi
export DEBUG="${DEBUG:-false}" HTTPS="${HTTPS:-false}" PORT="${PORT:-8000}"
export SITE_URL="${SITE_URL:-http://127.0.0.1:${PORT}}"
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
# Content and demo data: each command exists once its issue has built it.
for cmd in load_runbook seed_demo seed_backups; do
  if $PY manage.py help "$cmd" >/dev/null 2>&1; then $PY manage.py "$cmd"; fi
done
$PY manage.py ensure_admin
echo
echo "Ops Portal: http://127.0.0.1:${PORT}/  (sign in as 'admin'; password file above)"
echo
[ "${RUN_SETUP_ONLY:-}" = 1 ] && exit 0  # tests: the setup above, without starting the processes
exec .venv/bin/python scripts/devserver.py Procfile.dev
