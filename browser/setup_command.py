"""``peerbrowser setup``: install what the network engine needs, ahead of time.

    peerbrowser setup [--desktop]

Installs the Hyperswarm sidecar's npm packages (``npm ci`` from the packaged
``package-lock.json``) into ``$XDG_CACHE_HOME/peerbrowser/sidecar/``, as the first
network use would; afterwards the browser needs no network to start its engine.
A source checkout uses its own ``swarm/sidecar/node_modules`` instead (there
``scripts/bootstrap.sh`` installs them). ``--desktop`` also adds Peerbrowser to the
desktop's application menu (``browser/desktop.py``).
"""

from __future__ import annotations

import argparse
import sys

from swarm.sidecar_install import SidecarInstallError, ensure_sidecar_sync, installed


def _say(text: str) -> None:
    print(f"peerbrowser setup: {text}", file=sys.stderr, flush=True)


def setup_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="peerbrowser setup", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--desktop",
        action="store_true",
        help="also add Peerbrowser to the application menu ($XDG_DATA_HOME/applications)",
    )
    args = parser.parse_args(argv)
    code = 0
    already = installed()
    try:
        where = ensure_sidecar_sync(progress=_say)
    except SidecarInstallError as exc:
        _say(f"{exc.code}: {exc}")
        code = 1
    else:
        _say(f"the network engine is {'already ' if already else ''}installed: {where}")
    if args.desktop:
        from browser.desktop import install_desktop_entry

        try:
            entry = install_desktop_entry()
        except OSError as exc:
            _say(f"could not add the menu entry: {exc}")
            code = 1
        else:
            _say(f"added to the application menu: {entry}")
    return code
