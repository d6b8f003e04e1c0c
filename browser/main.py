"""The ``peerbrowser`` command.

peerbrowser [URL ...]                 each URL in its own tab (none: start page)
peerbrowser --headless URL ...        no window on screen; runs until SIGTERM/SIGINT
peerbrowser --demo-headless [--screenshot PATH]
peerbrowser --version
peerbrowser setup [--desktop]         install the network engine now (see browser/setup_command.py)
peerbrowser dht ...                   DHT tools (see browser/dht_command.py)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from browser import __version__
from browser.config import (
    NETWORKS,
    BrowserConfig,
    check_engine_nice,
    check_link_timeout,
    default_config_path,
    load_config_file,
    parse_bootstrap,
)
from swarm.sidecar_options import DEFAULT_LOCAL_PORT, DEFAULT_NICE, MAX_NICE

log = logging.getLogger("peerbrowser.browser")

DEFAULT_SCREENSHOT = "peerbrowser-demo.png"


def _identity(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("identity must be >= 0")
    return value


def _grace(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("grace must be between 0 and 3600 seconds")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError("port must be between 1 and 65535")
    return value


def _engine_nice(text: str) -> int:
    try:
        return check_engine_nice(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to {MAX_NICE}, not {text!r}") from None


def _link_timeout(text: str) -> float:
    try:
        return check_link_timeout(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _remote_debugging_port(text: str) -> int:
    from browser.remote_debugging import check_port

    try:
        return check_port(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bootstrap(text: str) -> tuple[tuple[str, int], ...]:
    try:
        return parse_bootstrap(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _site_permission(text: str) -> tuple[str, str]:
    from browser.permissions import parse_site_permission

    try:
        return parse_site_permission(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peerbrowser",
        description="A small browser whose pages get peer-to-peer sockets (PeerSocket).",
        epilog="Subcommands: 'peerbrowser setup' (install the network engine now), "
        "'peerbrowser dht ...' (DHT tools).",
    )
    parser.add_argument("--version", action="version", version=f"peerbrowser {__version__}")
    parser.add_argument(
        "urls", nargs="*", metavar="URL", help="pages to open, one tab each (default: peerapp://start/)"
    )
    parser.add_argument(
        "--headless", action="store_true", help="run with no window on screen until SIGTERM/SIGINT"
    )
    parser.add_argument(
        "--identity",
        type=_identity,
        default=None,
        metavar="N",
        help="debug identity of the tabs opened from the command line (default 0; a page's "
        "PeerSocket.setDebugIdentity() still wins)",
    )
    parser.add_argument(
        "--grace",
        type=_grace,
        default=None,
        metavar="SECONDS",
        help="how long a presence stays in a swarm after its last tab left",
    )
    parser.add_argument(
        "--bootstrap", type=_bootstrap, default=(), metavar="HOST:PORT[,...]", help="DHT bootstrap nodes"
    )
    parser.add_argument(
        "--network",
        choices=NETWORKS,
        default=None,
        help="local (default): a DHT on 127.0.0.1 shared by the browsers on this machine; "
        "lan: the browsers on this LAN, found by multicast DNS (no set-up, no internet); "
        "public: the public HyperDHT; none: this device only (--bootstrap picks a given DHT)",
    )
    parser.add_argument(
        "--local-port",
        type=_port,
        default=None,
        metavar="PORT",
        help=f"UDP port of the local network's bootstrap node on 127.0.0.1 (default {DEFAULT_LOCAL_PORT}); "
        "browsers meet on the local network when they use the same port",
    )
    parser.add_argument(
        "--link-timeout",
        type=_link_timeout,
        default=None,
        metavar="SECONDS",
        help="drop a link to another device after this much silence (default: the "
        "transport's own, about 18 s); pages see its sockets close sooner",
    )
    parser.add_argument(
        "--engine-nice",
        type=_engine_nice,
        default=None,
        metavar="N",
        help="run the network engine (the Node.js sidecar) this much below the browser "
        f"in the CPU's queue, 0 to {MAX_NICE} (default {DEFAULT_NICE}): on a busy machine the pages go first",
    )
    parser.add_argument(
        "--reachable",
        action="store_true",
        default=None,
        help="with --bootstrap on a LAN without NAT: peers dial this device directly "
        "instead of holepunching (connections form in under a second)",
    )
    parser.add_argument(
        "--remote-debugging-port",
        type=_remote_debugging_port,
        default=None,
        metavar="PORT",
        help="serve the Chrome DevTools Protocol on 127.0.0.1:PORT for automation tools "
        "(puppeteer-core, Playwright; 0: any free port, logged). Any process on this machine "
        "can then drive every tab and its PeerSocket",
    )
    parser.add_argument(
        "--peers-permission",
        choices=("ask", "allow", "deny"),
        default=None,
        help="the answer for sites with no decision when a page asks to connect to peers "
        "(default: ask with a window, allow with --headless / --demo-headless)",
    )
    parser.add_argument(
        "--site-permission",
        type=_site_permission,
        action="append",
        default=[],
        metavar="ORIGIN=allow|deny",
        help="the decision for one site, over the config file and saved decisions (repeatable)",
    )
    parser.add_argument(
        "--peer-addresses",
        choices=("show", "hide"),
        default=None,
        help="hide: pages see socket.info.host and .port as null (the window still shows "
        "them); default show",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="a TOML file with network / bootstrap / grace / identity / link_timeout / "
        "engine_nice / reachable / remote_debugging_port "
        "(default: $XDG_CONFIG_HOME/peerbrowser/config.toml when it exists)",
    )
    parser.add_argument(
        "--demo-headless",
        action="store_true",
        help="run the two-tab chat demo offscreen, print it, save a screenshot",
    )
    parser.add_argument(
        "--screenshot",
        default=DEFAULT_SCREENSHOT,
        metavar="PATH",
        help=f"where --demo-headless saves its PNG (default {DEFAULT_SCREENSHOT})",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="log level for peerbrowser's loggers (stderr)",
    )
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("peerbrowser").setLevel(level.upper())


def _can_show_a_window() -> bool:
    """False on Linux with no display and no Qt platform chosen (Qt would abort)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dht"]:
        from browser.dht_command import dht_command

        return dht_command(argv[1:])
    if argv[:1] == ["setup"]:
        from browser.setup_command import setup_command

        return setup_command(argv[1:])
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    path = Path(args.config) if args.config else default_config_path()
    settings: dict[str, object] = {}
    if args.config or path.is_file():
        try:
            settings = load_config_file(path)
        except (OSError, ValueError) as exc:
            print(f"peerbrowser: config file: {exc}", file=sys.stderr)
            return 2
    config = BrowserConfig(
        urls=tuple(args.urls),
        headless=args.headless or args.demo_headless,
        identity=args.identity if args.identity is not None else settings.get("identity"),  # type: ignore[arg-type]
        grace=args.grace if args.grace is not None else settings.get("grace"),  # type: ignore[arg-type]
        bootstrap=args.bootstrap or settings.get("bootstrap", ()),  # type: ignore[arg-type]
        network=args.network or settings.get("network", "local"),  # type: ignore[arg-type]
        link_timeout=args.link_timeout if args.link_timeout is not None else settings.get("link_timeout"),  # type: ignore[arg-type]
        reachable=bool(args.reachable or settings.get("reachable", False)),
        engine_nice=(
            args.engine_nice
            if args.engine_nice is not None
            else settings.get("engine_nice", DEFAULT_NICE)  # type: ignore[arg-type]
        ),
        local_port=args.local_port if args.local_port is not None else settings.get("local_port"),  # type: ignore[arg-type]
        remote_debugging_port=(
            args.remote_debugging_port
            if args.remote_debugging_port is not None
            else settings.get("remote_debugging_port")  # type: ignore[arg-type]
        ),
        peers_permission=args.peers_permission or settings.get("peers_permission"),  # type: ignore[arg-type]
        site_permissions=dict(args.site_permission),
        config_permissions=dict(settings.get("permissions", {})),  # type: ignore[call-overload]
        peer_addresses=args.peer_addresses or settings.get("peer_addresses", "show"),  # type: ignore[arg-type]
    )
    if not config.headless and not _can_show_a_window():
        print(
            "peerbrowser: no display ($DISPLAY / $WAYLAND_DISPLAY unset): "
            "use --headless or --demo-headless, or set QT_QPA_PLATFORM",
            file=sys.stderr,
        )
        return 2
    if not config.headless:
        from browser.qtlibs import check_window_libraries

        missing = check_window_libraries()
        if missing is not None:  # Qt would abort on its xcb plugin: say what to install
            print(missing.message(), file=sys.stderr)
            return 2
    from browser import app

    if args.demo_headless:
        from browser.demo import Watchdog, chat_demo

        watchdog = Watchdog().start()
        code = app.run(config, chat_demo(args.screenshot, watchdog), offscreen=True)
        watchdog.cancel()
        return code
    return app.run(config, offscreen=args.headless)


if __name__ == "__main__":
    sys.exit(main())
