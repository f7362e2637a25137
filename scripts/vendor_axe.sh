#!/usr/bin/env bash
# Vendors axe-core (Deque's accessibility engine, MPL-2.0) from the npm registry into tests/e2e/vendor/,
# so the test suite never downloads it: scripts/vendor_axe.sh [VERSION]   (default: the version in VERSION).
# The accessibility tests (tests/e2e/test_accessibility.py) inject axe.min.js into each page.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=tests/e2e/vendor
version="${1:-$(sed -n 's/^axe-core //p' "$vendor/VERSION" 2>/dev/null || true)}"
version="${version:-4.14.1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$version" >/dev/null)
tar -xzf "$work"/axe-core-*.tgz -C "$work" package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt
mkdir -p "$vendor"
cp "$work/package/axe.min.js" "$vendor/axe.min.js"
cp "$work/package/LICENSE" "$vendor/axe-core.LICENSE"
cp "$work/package/LICENSE-3RD-PARTY.txt" "$vendor/axe-core.LICENSE-3RD-PARTY.txt"
printf 'axe-core %s\nsha256 %s\n' "$version" "$(sha256sum "$vendor/axe.min.js" | cut -d' ' -f1)" >"$vendor/VERSION"
echo "vendored axe-core $version into $vendor"
