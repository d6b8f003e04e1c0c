import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarm.framing import FrameDecoder, FrameError, encode_frame


def test_frames_round_trip_whatever_the_chunking():
    values = [[1, b"x" * 100, "hi"], [2], [3, None, True, 1.5]]
    stream = b"".join(encode_frame(v) for v in values)
    for size in (1, 2, 3, 7, len(stream)):
        dec = FrameDecoder(1024)
        out = []
        for i in range(0, len(stream), size):
            out += dec.feed(stream[i : i + size])
        assert out == values
        assert dec.buffered == 0


def test_oversize_length_prefix_is_refused_before_reading_the_body():
    dec = FrameDecoder(100)
    with pytest.raises(FrameError, match="over the 100-byte limit"):
        dec.feed((101).to_bytes(4, "big"))


def test_garbage_body_is_a_frame_error():
    dec = FrameDecoder(100)
    with pytest.raises(FrameError, match="not valid msgpack"):
        dec.feed((3).to_bytes(4, "big") + b"\xc1\xc1\xc1")


def test_nested_containers_over_the_bound_are_refused():
    body = msgpack.packb(list(range(100)))
    with pytest.raises(FrameError):
        FrameDecoder(1000, max_array=16).feed(len(body).to_bytes(4, "big") + body)


@given(st.binary(max_size=2000))
def test_random_bytes_give_values_or_frame_error_never_anything_else(data):
    dec = FrameDecoder(512)
    try:
        dec.feed(data)
    except FrameError:
        pass
