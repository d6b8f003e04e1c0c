"""Property tests: nothing a peer sends can make the parser raise or grow without bound."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swarm.framing import encode_frame
from swarm.protocol import Frame, LinkClosed, LinkProtocol, LinkState
from tests.swarm.protocol_helpers import fresh, hello

settings.register_profile("ci", max_examples=300, suppress_health_check=[HealthCheck.too_slow])
# ./run-fuzz: the long run (PEERBROWSER_FUZZ=N examples per property)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("PEERBROWSER_FUZZ", "0") or 0) or 300,
    suppress_health_check=list(HealthCheck),
    deadline=None,
)
settings.load_profile("fuzz" if os.environ.get("PEERBROWSER_FUZZ") else "ci")

CORPUS = Path(__file__).with_name("corpus")


def check_outcome(p: LinkProtocol) -> None:
    events = p.events_received()
    closes = [e for e in events if isinstance(e, LinkClosed)]
    assert len(closes) <= 1
    if p.state is LinkState.CLOSED:
        assert closes
        assert closes[0].by_peer or closes[0].reason  # our own closes always say why


VERSION = st.sampled_from([1, 2])  # of the link the peer's HELLO opened


@given(opened=st.booleans(), version=VERSION, chunks=st.lists(st.binary(max_size=300), max_size=8))
def test_random_bytes_never_raise(opened, version, chunks):
    p = fresh(opened, version=version)
    for chunk in chunks:
        p.receive_data(chunk)
    check_outcome(p)


field = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=0, max_value=4),
    st.binary(max_size=70),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=64, max_size=64),
    st.text(max_size=80),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(st.integers(min_value=-(2**63), max_value=2**64 - 1), max_size=3),
    st.lists(st.one_of(st.binary(max_size=20), st.none(), st.integers(0, 2**32)), max_size=12),  # MESSAGES
)
frames = st.tuples(st.sampled_from([int(f) for f in Frame] + [11, 255]), st.lists(field, max_size=6))


@given(opened=st.booleans(), version=VERSION, seq=st.lists(frames, max_size=20))
def test_random_well_formed_msgpack_frames_never_raise(opened, version, seq):
    p = fresh(opened, version=version)
    for kind, fields in seq:
        p.receive_data(encode_frame([kind, *fields]))
    check_outcome(p)


@given(cut=st.integers(min_value=0, max_value=200))
def test_any_split_of_a_valid_stream_gives_the_same_result(cut):
    from nacl.signing import SigningKey

    from swarm.topics import open_topic

    sender = LinkProtocol(nonce=b"\x02" * 32)
    sender.receive_data(hello(b"\x01" * 32))
    sk = SigningKey.generate()
    sender.add_topic(open_topic("x"))
    sender.join(open_topic("x"), bytes(sk.verify_key), lambda m: sk.sign(m).signature, b"s")
    stream = sender.data_to_send()
    whole, split = LinkProtocol(nonce=b"\x01" * 32), LinkProtocol(nonce=b"\x01" * 32)
    whole.receive_data(stream)
    cut = min(cut, len(stream))
    split.receive_data(stream[:cut])
    split.receive_data(stream[cut:])
    assert whole.events_received() == split.events_received()
    assert whole.state is split.state is LinkState.OPEN


def corpus_files():
    return sorted(CORPUS.glob("*.bin"))


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_the_kept_corpus_never_raises(path):
    """Byte streams kept in tests/swarm/corpus/: real sessions and the inputs that
    once found bugs. Fed whole and in small pieces, to a fresh and an opened side."""
    data = path.read_bytes()
    for opened in (False, True):
        for step in (len(data) or 1, 7, 1):
            p = fresh(opened)
            for i in range(0, len(data), step):
                p.receive_data(data[i : i + step])
            check_outcome(p)


@given(
    opened=st.booleans(),
    version=VERSION,
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=4000), st.integers(1, 255)), max_size=6),
)
def test_mutated_corpus_streams_never_raise(opened, version, cuts, flips):
    for path in corpus_files():
        data = bytearray(path.read_bytes())
        for pos, bit in flips:
            if data:
                data[pos % len(data)] ^= bit
        for cut in sorted(cuts, reverse=True):
            if data:
                del data[cut % len(data) :]
        p = fresh(opened, version=version)
        p.receive_data(bytes(data))
        check_outcome(p)
