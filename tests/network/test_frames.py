"""The stdio framing (swarm/sidecar_frames.py) and the sidecar's frame handling."""

from __future__ import annotations

import subprocess

import pytest

from swarm.sidecar_frames import FrameDecoder, FrameError, encode_frame
from swarm.sidecar_options import SIDECAR_DIR

from .conftest import loopback_env, needs_sidecar, node_command


def test_roundtrip_in_pieces():
    frames = [
        ["join", bytes(range(32))],
        ["write", 7, bytes(range(256)) * 100],
        ["start", {"network": "local", "bootstrap": ["127.0.0.1:1"], "localPort": 49736}],
        ["shutdown"],
    ]
    stream = b"".join(encode_frame(*f) for f in frames)
    decoder = FrameDecoder()
    got = []
    for i in range(0, len(stream), 7):
        got += decoder.feed(stream[i : i + 7])
    assert got == frames


def test_header_is_big_endian_length():
    frame = encode_frame("shutdown")
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4


def test_oversized_frame_refused_before_buffering():
    decoder = FrameDecoder(max_frame=1024)
    with pytest.raises(FrameError):
        decoder.feed((1025).to_bytes(4, "big"))


def test_frame_must_be_a_typed_array():
    decoder = FrameDecoder()
    body = b"\x81\xa1a\x01"  # msgpack {"a": 1}
    with pytest.raises(FrameError):
        decoder.feed(len(body).to_bytes(4, "big") + body)


@needs_sidecar
def test_sidecar_exits_when_stdin_closes_and_rejects_garbage():
    proc = subprocess.run(
        node_command("sidecar.js"),
        input=(0xFFFFFFFF).to_bytes(4, "big"),
        capture_output=True,
        cwd=SIDECAR_DIR,
        env=loopback_env(),
        timeout=30,  # hang guard
    )
    frames = FrameDecoder().feed(proc.stdout)
    assert frames[0][0] == "fatal" and frames[0][1] == "ERR_FRAME"
    assert proc.returncode != 0

    quiet = subprocess.run(
        node_command("sidecar.js"),
        input=b"",
        capture_output=True,
        cwd=SIDECAR_DIR,
        env=loopback_env(),
        timeout=30,
    )
    assert quiet.returncode == 0 and quiet.stdout == b""
