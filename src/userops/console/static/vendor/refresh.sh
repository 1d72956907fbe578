#!/usr/bin/env bash
# Re-fetch the console's vendored JavaScript from the npm registry (never a CDN) and rewrite
# VERSIONS.md. Usage: ./refresh.sh [ECHARTS_VERSION] [HTMX_VERSION] [SWAGGER_UI_VERSION]
#   ECHARTS_VERSION     default 6.1.0
#   HTMX_VERSION        default 2 (npm picks the newest 2.x; htmx 4 is a different API)
#   SWAGGER_UI_VERSION  default 5.35.0 (swagger-ui-dist, served by the API's /docs page)
# Needs npm, tar and sha256sum. Review `git diff` afterwards and run the console tests.
set -euo pipefail

ECHARTS_VERSION="${1:-6.1.0}"
HTMX_VERSION="${2:-2}"
SWAGGER_UI_VERSION="${3:-5.35.0}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "echarts@${ECHARTS_VERSION}" "htmx.org@${HTMX_VERSION}" \
  "swagger-ui-dist@${SWAGGER_UI_VERSION}" >/dev/null
mkdir echarts htmx swagger
tar -xzf echarts-*.tgz -C echarts
tar -xzf htmx.org-*.tgz -C htmx
tar -xzf swagger-ui-dist-*.tgz -C swagger

version() { node -p "require('./$1/package/package.json').version"; }
license() { node -p "require('./$1/package/package.json').license"; }
ECHARTS_GOT="$(version echarts)"
HTMX_GOT="$(version htmx)"
SWAGGER_GOT="$(version swagger)"
case "$HTMX_GOT" in
  2.*) ;;
  *) echo "htmx ${HTMX_GOT} is not 2.x; the console is written for htmx 2" >&2; exit 1 ;;
esac

install -m 0644 echarts/package/dist/echarts.min.js "$HERE/echarts.min.js"
install -m 0644 echarts/package/LICENSE "$HERE/echarts.LICENSE"
install -m 0644 echarts/package/NOTICE "$HERE/echarts.NOTICE"
install -m 0644 echarts/package/licenses/LICENSE-d3 "$HERE/echarts.LICENSE-d3"
install -m 0644 htmx/package/dist/htmx.min.js "$HERE/htmx.min.js"
install -m 0644 htmx/package/LICENSE "$HERE/htmx.LICENSE"
install -m 0644 swagger/package/swagger-ui-bundle.js "$HERE/swagger-ui-bundle.js"
install -m 0644 swagger/package/swagger-ui.css "$HERE/swagger-ui.css"
install -m 0644 swagger/package/LICENSE "$HERE/swagger-ui.LICENSE"
install -m 0644 swagger/package/NOTICE "$HERE/swagger-ui.NOTICE"

sha() { sha256sum "$HERE/$1" | cut -d' ' -f1; }
cat > "$HERE/VERSIONS.md" <<MD
# Vendored front-end assets

Fetched from the npm registry with \`npm pack\` by \`refresh.sh\` (never from a CDN); the console
serves them from \`/static/vendor/\` so it works offline. Do not edit these files by hand: run
\`./refresh.sh [ECHARTS_VERSION] [HTMX_VERSION]\` and commit the result with this table.

| package | version | file | sha256 | license |
|---|---|---|---|---|
| echarts | ${ECHARTS_GOT} | echarts.min.js (from \`dist/echarts.min.js\`) | $(sha echarts.min.js) | $(license echarts) (echarts.LICENSE, echarts.NOTICE, echarts.LICENSE-d3) |
| htmx.org | ${HTMX_GOT} | htmx.min.js (from \`dist/htmx.min.js\`) | $(sha htmx.min.js) | $(license htmx) (htmx.LICENSE) |
| swagger-ui-dist | ${SWAGGER_GOT} | swagger-ui-bundle.js (from \`swagger-ui-bundle.js\`) | $(sha swagger-ui-bundle.js) | $(license swagger) (swagger-ui.LICENSE, swagger-ui.NOTICE) |
| swagger-ui-dist | ${SWAGGER_GOT} | swagger-ui.css (from \`swagger-ui.css\`) | $(sha swagger-ui.css) | $(license swagger) (swagger-ui.LICENSE, swagger-ui.NOTICE) |
MD

echo "echarts ${ECHARTS_GOT}, htmx.org ${HTMX_GOT}, swagger-ui-dist ${SWAGGER_GOT} → ${HERE}"
