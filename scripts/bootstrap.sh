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

sidecar="$root/swarm/sidecar"
if [ -f "$sidecar/package-lock.json" ]; then
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    want="$(stamp_of "$sidecar/package-lock.json")"
    if [ "$(cat "$sidecar/node_modules/.peerbrowser-stamp" 2>/dev/null)" != "$want" ]; then
      echo "peerbrowser: installing the Hyperswarm sidecar (npm ci)" >&2
      (cd "$sidecar" && npm ci --no-audit --no-fund --loglevel=error >&2)
      echo "$want" > "$sidecar/node_modules/.peerbrowser-stamp"
    fi
  else
    echo "peerbrowser: node/npm not found; install Node.js >= 18 for networking across devices" >&2
  fi
fi
export PEERBROWSER_VENV="$venv"
