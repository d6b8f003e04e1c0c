#!/usr/bin/env bash
# Creates (or refreshes) the project's venv and the Node sidecar's node_modules.
# Sourced by ./run and ./run-tests; safe to run again: it only reinstalls when
# setup.cfg / package-lock.json changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PEERBROWSER_VENV:-$root/.venv}"
py="${PYTHON:-python3}"

stamp_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

if [ ! -x "$venv/bin/python" ]; then
  echo "peerbrowser: creating virtualenv in $venv" >&2
  "$py" -m venv "$venv"
fi
want="$(stamp_of "$root/setup.cfg" "$root/pyproject.toml")"
if [ "$(cat "$venv/.peerbrowser-stamp" 2>/dev/null)" != "$want" ]; then
  echo "peerbrowser: installing Python dependencies" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet -e "$root[test]" >&2
  echo "$want" > "$venv/.peerbrowser-stamp"
fi

# Node packages: the Hyperswarm sidecar, the reference peer outside the browser, the
# build of js/peersocket.js (esbuild; the browser itself only reads the built file), the
# automation example (puppeteer-core / playwright-core: they download no browser) and
# the TypeScript example (typescript, for the type tests).
for pkg in "$root/swarm/sidecar" "$root/examples/node-peer" "$root/js" "$root/examples/automation" \
  "$root/examples/typescript"; do
  [ -f "$pkg/package-lock.json" ] || continue
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    want="$(stamp_of "$pkg/package-lock.json")"
    if [ "$(cat "$pkg/node_modules/.peerbrowser-stamp" 2>/dev/null)" != "$want" ]; then
      echo "peerbrowser: installing ${pkg#"$root"/} (npm ci)" >&2
      (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error >&2)
      echo "$want" > "$pkg/node_modules/.peerbrowser-stamp"
    fi
  else
    echo "peerbrowser: node/npm not found: install Node.js >= 18 to reach other devices (Hyperswarm)" >&2
    break
  fi
done
export PEERBROWSER_VENV="$venv"
