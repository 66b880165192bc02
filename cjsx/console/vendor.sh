#!/usr/bin/env bash
# Re-vendor the console's front-end assets from npm (`make console-assets`). Needs npm only
# here: the built files are committed, so running the console never needs npm or a build.
#   govuk-frontend: the GOV.UK Design System's built CSS, JS, fonts and images (MIT).
#   htmx.org:       partial page updates from HTML attributes (0BSD).
set -euo pipefail
GOVUK_VERSION="${GOVUK_VERSION:-6.6.0}"
HTMX_VERSION="${HTMX_VERSION:-2.0.11}"
here="$(cd "$(dirname "$0")" && pwd)"
static="$here/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "govuk-frontend@$GOVUK_VERSION" "htmx.org@$HTMX_VERSION" >/dev/null
mkdir govuk htmx
tar xzf "govuk-frontend-$GOVUK_VERSION.tgz" -C govuk
tar xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx

rm -rf "$static/govuk" "$static/htmx"
mkdir -p "$static/govuk" "$static/htmx"
dist="govuk/package/dist/govuk"
cp "$dist/govuk-frontend.min.css" "$dist/govuk-frontend.min.js" "$static/govuk/"
cp -r "$dist/assets" "$static/govuk/assets"
# The npm package states its licence in package.json and README ("Licence"); the full MIT
# text (LICENCE.txt, from the project's repository) is kept beside it and not overwritten.
sed -n '/^## Licence/,/^## /p' govuk/package/README.md | sed '$d' > "$static/govuk/README-licence.md"
echo "govuk-frontend $GOVUK_VERSION (npm), license: $(node -p "require('./govuk/package/package.json').license")" \
  > "$static/govuk/VERSION"
cp htmx/package/dist/htmx.min.js htmx/package/LICENSE "$static/htmx/"
echo "htmx.org $HTMX_VERSION (npm)" > "$static/htmx/VERSION"
echo "vendored govuk-frontend $GOVUK_VERSION and htmx.org $HTMX_VERSION into $static"
