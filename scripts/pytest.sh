#!/usr/bin/env bash
# Runs pytest with the test environment (PostgreSQL, no TLS, plain static storage).
# Override any variable from the caller, e.g. TEST_DATABASE_NAME=test_mine scripts/pytest.sh tests/x
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/opsportal}"
export DEBUG=false HTTPS=false STATIC_MANIFEST=false
export SECRET_KEY="${SECRET_KEY:-test-only-not-a-secret-$(whoami)}"
export CACHE_URL="${CACHE_URL:-locmemcache://tests}"
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread
exec .venv/bin/pytest "$@"
