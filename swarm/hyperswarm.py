"""The Hyperswarm network engine: a Node sidecar (``swarm/sidecar``) driven over stdio.

One sidecar process runs one Hyperswarm for the whole device. This module starts it
(how: ``swarm/sidecar_options.py``), acts on its frames (``swarm/sidecar_frames.py``,
``docs/SIDECAR.md``; what goes to it is gathered by ``swarm/sidecar_writer.py``),
turns each Hyperswarm connection into a :class:`swarm.engine.Transport` for the core,
and supervises it: when the sidecar dies every link is lost with
``ERR_ENGINE_RESTART``, the sidecar is restarted with backoff and the joined topics
are joined again.

    engine = HyperswarmEngine(HyperswarmOptions(network="local"))
    await engine.start(core)        # core implements swarm.engine.EngineSink
    engine.join(topic)
    ...
    await engine.close()

An installed Peerbrowser installs the sidecar's npm packages on first use
(``swarm/sidecar_install.py``; state ``'installing'`` meanwhile). A missing ``node``
or ``npm``, or a failed install, puts the engine in state ``'failed'`` with a message
saying what to install; nothing is raised into the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swarm.engine import EngineSink, LinkSink
from swarm.sidecar_frames import Frame, FrameDecoder, FrameError
from swarm.sidecar_install import SidecarInstallError, ensure_sidecar
from swarm.sidecar_options import (
    CONFIG_ERRORS,
    EngineConfigError,
    HyperswarmOptions,
    check_installed,
    check_network,
    node_path,
    sidecar_command,
    sidecar_env,
    start_options,
)
from swarm.sidecar_writer import FrameWriter

log = logging.getLogger(__name__)


class StdoutFrames:
    """The frames of one sidecar run's stdout, acted on where the bytes arrive (in the
    pipe's protocol callback: no trip through the loop to a reading task, which under
    qasync is a Qt timer per chunk). Bytes that come before :meth:`arm` wait for it."""

    def __init__(self, dispatch: Callable[[Frame], bool], done: asyncio.Future[None]) -> None:
        self._dispatch = dispatch
        self._decoder = FrameDecoder()
        self._early: list[bytes] | None = []
        #: Resolved when stdout ends, or on the first error (then in ``error``).
        self.done = done
        self.error: Exception | None = None
        self.ready = False  # the sidecar said 'ready' in this run

    def arm(self) -> None:
        early, self._early = self._early, None
        for chunk in early or ():
            self.feed(chunk)

    def feed(self, chunk: bytes) -> None:
        if self.done.done():
            return  # stopped on an error: the rest is not read
        if self._early is not None:
            self._early.append(chunk)
            return
        try:
            for frame in self._decoder.feed(chunk):
                if self._dispatch(frame):
                    self.ready = True
        except Exception as exc:  # FrameError, or a bug: the run ends either way
            self.error = exc
            self.done.set_result(None)

    def eof(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


class _SidecarProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The sidecar's pipes: stdin and stderr as streams, stdout to :class:`StdoutFrames`."""

    def __init__(self, frames: StdoutFrames, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self._frames = frames

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        if fd == 1:
            self._frames.feed(data if isinstance(data, bytes) else data.encode())
        else:
            super().pipe_data_received(fd, data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        super().pipe_connection_lost(fd, exc)
        if fd == 1:
            self._frames.eof()


class SidecarTransport:
    """One Hyperswarm connection, as the core sees it (implements ``Transport``)."""

    def __init__(
        self,
        engine: HyperswarmEngine,
        conn_id: int,
        remote_key: bytes,
        remote_address: tuple[str, int] | None,
        initiator: bool,
        generation: int,
        local_key: bytes = b"",
    ) -> None:
        self.remote_key = remote_key
        self.local_key = local_key
        self.remote_address = remote_address
        self.initiator = initiator
        self.conn_id = conn_id
        #: Which sidecar run made it: connection ids start again at each restart.
        self.generation = generation
        self.closed = False
        self._engine = engine
        #: Bytes the sidecar sent while the core paused reading (at most the sidecar's
        #: ACK_HIGH plus one Hyperswarm message: it stops reading this connection then).
        self._backlog: deque[bytes] = deque()
        self._paused = False

    def pause_reading(self) -> None:
        """The core is behind on this link: hold its bytes and stop acknowledging them,
        so that the sidecar stops reading the connection (docs/SIDECAR.md)."""
        self._paused = True

    def resume_reading(self) -> None:
        """Hand the held bytes to the core, in order, and read on."""
        if not self._paused:
            return
        self._paused = False
        self._engine._resumed(self)

    @property
    def reading_paused(self) -> bool:
        return self._paused

    def write(self, data: bytes) -> None:
        if not self.closed and data:
            self._engine._queue_write(self, bytes(data))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._engine._close_link(self)

    def __repr__(self) -> str:
        return (
            f"<SidecarTransport #{self.conn_id} {self.remote_key.hex()[:12]} "
            f"{self.remote_address} initiator={self.initiator}>"
        )


class _NoLink:
    """Stands in for the core's LinkSink while attach() runs."""

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, code: str, reason: str) -> None:
        pass


_NO_LINK = _NoLink()


class HyperswarmEngine:
    """``swarm.engine.Engine`` on a supervised Hyperswarm sidecar."""

    def __init__(self, options: HyperswarmOptions | None = None) -> None:
        self.options = options or HyperswarmOptions()
        self.state = "new"
        self.detail = ""
        #: The device's Noise public key, once the sidecar is ready (a new one after a
        #: restart unless ``options.seed`` is given).
        self.public_key: bytes | None = None
        #: What the sidecar reported on 'ready': network, bootstrap, host, port, ...
        self.info: dict[str, Any] = {}
        #: How often the sidecar was (re)started.
        self.starts = 0
        self._sink: EngineSink | None = None
        self._topics: set[bytes] = set()
        self._joined: dict[bytes, asyncio.Event] = {}
        self._left: dict[bytes, asyncio.Event] = {}
        self._links: dict[int, tuple[SidecarTransport, LinkSink]] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._generation = 0
        self._out = FrameWriter()
        self._stats_waiters: list[asyncio.Future[dict[str, Any]]] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._first_outcome = asyncio.Event()
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()
        self._fatal: tuple[str, str] | None = None
        self._stderr_tail: deque[str] = deque(maxlen=20)
        #: The sidecar's npm install while it runs (close() cancels it).
        self._install: asyncio.Future[Path] | None = None

    # ---- Engine ---------------------------------------------------------------

    async def start(self, sink: EngineSink) -> None:
        """Start the sidecar; returns once it is ready or has failed (never raises)."""
        if self._supervisor is not None or self._closing:
            return
        self._sink = sink
        # frames for the sidecar go out as the core's turn ends (swarm/sidecar_writer.py)
        self._out.defer = getattr(sink, "at_turn_end", None)
        self._supervisor = asyncio.create_task(self._supervise(), name="hyperswarm-supervisor")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_outcome.wait(), self.options.start_timeout)

    def join(self, topic: bytes) -> None:
        topic = self._check_topic(topic)
        if topic in self._topics:
            return
        self._topics.add(topic)
        self._joined[topic] = asyncio.Event()
        self._left.pop(topic, None)
        if self.state == "ready":
            self._send_control("join", topic)

    def leave(self, topic: bytes) -> None:
        topic = self._check_topic(topic)
        if topic not in self._topics:
            return
        self._topics.discard(topic)
        self._joined.pop(topic, None)
        self._left[topic] = event = asyncio.Event()
        if self.state == "ready":
            self._send_control("leave", topic)
        else:
            event.set()

    async def close(self) -> None:
        """Close every transport, stop the sidecar (only our child, by PID) and wait for it."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._wake.set()
        if self._install is not None:
            self._install.cancel()  # stops npm and removes the unfinished install
        self._lose_links("ERR_ENGINE_CLOSED", "the network engine was closed")
        proc = self._proc
        if proc is not None and proc.returncode is None:
            self._send_control("shutdown")
            self._out.flush()
            await self._stop_process(proc, grace=5.0)
        if self._supervisor is not None:
            try:
                await self._supervisor
            except Exception:  # pragma: no cover - the supervisor logs its own failures
                log.exception("hyperswarm supervisor failed")
        self._lose_links("ERR_ENGINE_CLOSED", "the network engine was closed")
        self._out.cancel()
        self._set_state("closed", "")
        self._first_outcome.set()
        self._closed.set()

    # ---- extras for tools and tests ------------------------------------------

    @property
    def lan_devices(self) -> int | None:
        """How many other LAN devices the 'lan' network sees (None on other networks)."""
        count = self.info.get("lanDevices")
        return int(count) if count is not None else None

    @property
    def pid(self) -> int | None:
        """PID of the running sidecar, if any."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def joined(self, topic: bytes) -> None:
        """Wait until the sidecar has announced ``topic`` and looked it up once."""
        await self._joined[self._check_topic(topic)].wait()

    async def left(self, topic: bytes) -> None:
        """Wait until the sidecar has stopped announcing ``topic``."""
        await self._left[self._check_topic(topic)].wait()

    async def sidecar_stats(self) -> dict[str, Any]:
        """What the sidecar holds: ``unacked`` (bytes sent to us, not acknowledged yet),
        ``conns`` (per connection id: ``unacked``, ``held`` (bytes waiting in its
        stream while not read), ``reading``), ``rss`` and ``arrayBuffers`` (bytes)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._stats_waiters.append(future)
        self._send_control("stats")
        return await future

    # ---- supervision ----------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        while not self._closing:
            try:
                reached_ready = await self._run_once()
            except EngineConfigError as exc:
                self._set_state("failed", f"{exc.code}: {exc}")
                self._first_outcome.set()
                return
            except Exception as exc:
                log.exception("hyperswarm sidecar run failed")
                reached_ready = False
                self._fatal = ("ERR_DRIVER", f"{type(exc).__name__}: {exc}")
            self._lose_links("ERR_ENGINE_RESTART", "the network engine restarted")
            if self._closing:
                return
            fatal = self._fatal
            if fatal is not None and fatal[0] in CONFIG_ERRORS:
                self._set_state("failed", f"{fatal[0]}: {fatal[1]}")
                self._first_outcome.set()
                return
            failures = 0 if reached_ready else failures + 1
            if failures > self.options.max_restarts:
                self._set_state("failed", f"the sidecar keeps failing: {self._why()}")
                self._first_outcome.set()
                return
            delays = self.options.restart_delays or (1.0,)
            delay = delays[min(failures, len(delays) - 1)]
            self._set_state("restarting", f"{self._why()}; restarting in {delay:g}s")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _why(self) -> str:
        if self._fatal is not None:
            return f"{self._fatal[0]}: {self._fatal[1]}"
        code = self._proc.returncode if self._proc is not None else None
        tail = " | ".join(list(self._stderr_tail)[-3:])
        return f"sidecar exited with {code}" + (f" ({tail})" if tail else "")

    async def _sidecar(self) -> Path | None:
        """The directory to run the sidecar from; installs it first when it must.

        None when the engine was closed during the install (which close() cancels).
        """
        opts = self.options
        check_network(opts)
        node_path(opts)
        if opts.sidecar_dir is None:
            install = asyncio.ensure_future(
                ensure_sidecar(node=opts.node, progress=lambda text: self._set_state("installing", text))
            )
            self._install = install
            try:
                return await install
            except asyncio.CancelledError:
                if self._closing and install.cancelled():
                    return None
                raise
            except SidecarInstallError as exc:
                raise EngineConfigError(exc.code, str(exc)) from exc
            finally:
                self._install = None
        check_installed(opts.sidecar_dir)
        return opts.sidecar_dir

    async def _run_once(self) -> bool:
        """Run one sidecar until it exits; True if it reached 'ready'."""
        start = start_options(self.options)
        sidecar = await self._sidecar()
        if sidecar is None:
            return False
        command = sidecar_command(self.options, sidecar)
        env = sidecar_env(self.options)
        self._fatal = None
        self._stderr_tail.clear()
        self.public_key = None
        self.info = {}
        if self.state != "restarting":
            self._set_state("starting", "")
        loop = asyncio.get_running_loop()
        frames = StdoutFrames(self._dispatch, loop.create_future())
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _SidecarProtocol(frames, loop),
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(sidecar),
                env=env,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise EngineConfigError("ERR_NODE_MISSING", f"cannot run {command[0]!r}: {exc}") from exc
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        self.starts += 1
        self._generation += 1
        self._proc = proc
        assert proc.stdin is not None and proc.stderr is not None
        self._out.attach(proc.stdin)
        stderr_task = asyncio.create_task(self._read_stderr(proc.stderr))
        self._send_control("start", start)
        try:
            if self._closing:
                return False
            frames.arm()  # frames are acted on as they arrive, from here on
            await frames.done
            if frames.error is not None:
                if isinstance(frames.error, FrameError):
                    self._fatal = (frames.error.code, str(frames.error))
                else:
                    raise frames.error
        finally:
            self._out.detach()
            for future in self._stats_waiters:
                if not future.done():
                    future.set_exception(ConnectionError("the sidecar exited"))
            self._stats_waiters.clear()
            # stdout closed: the sidecar is exiting, give it a moment before a kill
            grace = 0.0 if self._fatal is not None and self._fatal[0] == "ERR_FRAME" else 3.0
            await self._stop_process(proc, grace=grace)
            with contextlib.suppress(Exception):
                await stderr_task
        return frames.ready

    async def _stop_process(self, proc: asyncio.subprocess.Process, grace: float) -> None:
        """Stop our own child: close its stdin (it exits on EOF), wait up to ``grace``
        seconds, then kill it by its PID; wait for it in every case."""
        if proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        if proc.returncode is None and grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), grace)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                self._stderr_tail.append(text)
                log.debug("sidecar: %s", text)

    # ---- frames from the sidecar ---------------------------------------------

    def _dispatch(self, frame: Frame) -> bool:
        """Handle one frame; True when it was 'ready'."""
        kind, args = frame[0], frame[1:]
        try:
            if kind == "data":
                self._on_data(int(args[0]), args[1])
            elif kind == "connection":
                self._on_connection(*args[:5])
            elif kind == "close":
                self._on_close(int(args[0]), args[1], str(args[2]))
            elif kind == "ready":
                self._on_ready(bytes(args[0]), dict(args[1]))
                return True
            elif kind == "hosting":
                # this sidecar took over the local network's bootstrap node
                self.info = {**self.info, **dict(args[0])}
                self._set_state("ready", self._ready_detail())
            elif kind == "lan" and self.public_key is not None:
                # the number of LAN devices seen changed ('lan' network; 'ready' has the first)
                self.info = {**self.info, "lanDevices": int(dict(args[0])["devices"])}
                self._set_state("ready", self._ready_detail())
            elif kind == "joined":
                event = self._joined.get(bytes(args[0]))
                if event is not None:
                    event.set()
            elif kind == "left":
                event = self._left.get(bytes(args[0]))
                if event is not None:
                    event.set()
            elif kind == "error":
                log.warning("sidecar error %s: %s", args[0], args[1])
            elif kind == "fatal":
                self._fatal = (str(args[0]), str(args[1]))
                log.error("sidecar fatal %s: %s", args[0], args[1])
            elif kind == "stats":
                waiters, self._stats_waiters = self._stats_waiters, []
                for future in waiters:
                    if not future.done():
                        future.set_result(dict(args[0]))
            elif kind == "log":
                log.log(logging.WARNING if args[0] == "warn" else logging.INFO, "%s", args[1])
            else:
                log.warning("unknown frame from the sidecar: %r", kind)
        except (IndexError, TypeError, ValueError) as exc:
            log.warning("malformed %r frame from the sidecar: %s", kind, exc)
        return False

    def _on_ready(self, public_key: bytes, info: dict[str, Any]) -> None:
        self.public_key = public_key
        self.info = info
        for topic in sorted(self._topics):
            self._joined.setdefault(topic, asyncio.Event()).clear()
            self._send_control("join", topic)
        self._set_state("ready", self._ready_detail())
        self._first_outcome.set()

    def _ready_detail(self) -> str:
        info = self.info
        detail = f"{info.get('network')} network, {info.get('host')}:{info.get('port')}"
        if info.get("hostingBootstrap"):
            detail += f", hosting the bootstrap node {info.get('bootstrap', [''])[0]}"
        if info.get("lanDevices") is not None:
            detail += f", {info['lanDevices']} LAN device(s) seen"
        return detail

    def _on_connection(
        self, conn_id: int, remote_key: bytes, host: str | None, port: int | None, initiator: bool
    ) -> None:
        address = (str(host), int(port)) if host and port else None
        transport = SidecarTransport(
            self,
            int(conn_id),
            bytes(remote_key),
            address,
            bool(initiator),
            self._generation,
            self.public_key or b"",
        )
        sink = self._sink
        if sink is None or self._closing:
            self._send_control("destroy", transport.conn_id)
            return
        # recorded before attach(): the core may write (its hello) or close inside it
        self._links[transport.conn_id] = (transport, _NO_LINK)
        try:
            link = sink.attach(transport)
        except Exception:
            log.exception("the core refused a connection")
            self._links.pop(transport.conn_id, None)
            transport.closed = True
            self._send_control("destroy", transport.conn_id)
            return
        if not transport.closed:
            self._links[transport.conn_id] = (transport, link)

    def _on_data(self, conn_id: int, data: bytes) -> None:
        entry = self._links.get(conn_id)
        if entry is None:
            return
        transport, link = entry
        if transport._paused or transport._backlog:
            transport._backlog.append(data)
            return
        self._deliver(transport, link, data)

    def _deliver(self, transport: SidecarTransport, link: LinkSink, data: bytes) -> None:
        """The core takes ``data``; the sidecar hears so with the next frames written
        (``FrameWriter.ack``).

        The acknowledgement is counted first, so that a turn the core runs for ``data``
        here and now (an idle core does) sends it with what it writes: one stdin write,
        not a second one for the acknowledgement alone."""
        if transport.generation == self._generation:
            self._out.ack(transport.conn_id, len(data))
        try:
            link.data_received(data)
        except Exception:
            log.exception("the core failed on data from %r", transport)
        self._out.flush_soon()

    def _resumed(self, transport: SidecarTransport) -> None:
        backlog = transport._backlog
        while backlog and not transport._paused:
            entry = self._links.get(transport.conn_id)
            if entry is None or entry[0] is not transport:
                backlog.clear()
                return
            self._deliver(transport, entry[1], backlog.popleft())

    def _on_close(self, conn_id: int, code: str | None, message: str) -> None:
        self._out.drop_acks(conn_id)
        entry = self._links.pop(conn_id, None)
        if entry is None:
            return
        transport, link = entry
        transport.closed = True
        transport._backlog.clear()
        self._notify_lost(link, code or "ERR_CONNECTION_CLOSED", message)

    def _lose_links(self, code: str, reason: str) -> None:
        links, self._links = self._links, {}
        self._out.drop_acks()
        for transport, link in links.values():
            transport.closed = True
            transport._backlog.clear()
            self._notify_lost(link, code, reason)

    @staticmethod
    def _notify_lost(link: LinkSink, code: str, reason: str) -> None:
        try:
            link.connection_lost(code, reason)
        except Exception:
            log.exception("the core failed on connection_lost")

    def _set_state(self, state: str, detail: str) -> None:
        if state == self.state and detail == self.detail:
            return
        self.state, self.detail = state, detail
        log.info("hyperswarm engine %s %s", state, detail)
        if self._sink is not None:
            try:
                self._sink.engine_state_changed(state, detail)
            except Exception:
                log.exception("engine_state_changed failed")

    # ---- frames to the sidecar ------------------------------------------------

    @staticmethod
    def _check_topic(topic: bytes) -> bytes:
        topic = bytes(topic)
        if len(topic) != 32:
            raise ValueError("a topic is 32 bytes")
        return topic

    def _close_link(self, transport: SidecarTransport) -> None:
        transport._backlog.clear()
        if transport.generation == self._generation:
            self._links.pop(transport.conn_id, None)
            self._out.drop_acks(transport.conn_id)
            self._send_control("end", transport.conn_id)

    def _send_control(self, *frame: Any) -> None:
        self._out.control(*frame)

    def _queue_write(self, transport: SidecarTransport, data: bytes) -> None:
        # the core may write from inside attach(), before the link is registered
        if transport.generation == self._generation:
            self._out.write(transport.conn_id, data)
