"""docs/PROTOCOL.md's test vectors, read from the document itself, against this
implementation and against the primitives (hashlib's BLAKE2b, PyNaCl's ed25519).

    python -m tests.swarm.test_vectors    prints the vectors as this implementation makes them

examples/node-peer checks itself against the same document (examples/node-peer/test/).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import msgpack
import pytest
from nacl.signing import SigningKey, VerifyKey

from swarm import limits
from swarm.framing import FrameDecoder, encode_frame
from swarm.protocol import (
    LINK_CONTEXT,
    PROOF_CONTEXT,
    Frame,
    LinkClosed,
    LinkOpened,
    LinkProtocol,
    PeerClosedSocket,
    PeerCredit,
    PeerJoined,
    PeerLeft,
    PeerMessage,
    PeerMessages,
    PeerSessionData,
)
from swarm.topics import open_topic, origin_topic

DOC = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"
#: The other side of the link in the frame vectors (RFC 8032's second test key).
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
#: The frame vectors, one of each type, in the order side A sends them.
FRAMES = ["HELLO", "TOPIC", "PRESENCE", "JOIN", "SESSION", "MESSAGE", "CREDIT", "CLOSE"]
FRAMES += ["LEAVE", "UNPRESENCE", "UNTOPIC", "GOODBYE"]


def read_vectors(text: str) -> dict[str, bytes | str]:
    """Every ``name: value`` line of the document's ```vectors blocks: hex as bytes, a
    JSON string as text."""
    found: dict[str, bytes | str] = {}
    for block in re.findall(r"^```vectors\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            assert name not in found, f"vector {name} given twice"
            found[name] = json.loads(value) if value.startswith('"') else bytes.fromhex(value)
    return found


def make_vectors(v: dict[str, bytes | str]) -> dict[str, bytes | str]:
    """The vectors as this implementation makes them, from the document's inputs."""
    out: dict[str, bytes | str] = {}
    for name in ("open", "open-nfc", "open-nfd"):
        out[f"{name}.id"] = v[f"{name}.id"]
        out[f"{name}.topic"] = open_topic(str(v[f"{name}.id"]))
    out["origin.origin"] = v["origin.origin"]
    out["origin.topic"] = origin_topic(str(v["origin.origin"]))
    nonce_a, nonce_b = bytes(v["link.nonce_a"]), bytes(v["link.nonce_b"])
    seed = bytes(v["presence.seed"])
    out |= {"link.nonce_a": nonce_a, "link.nonce_b": nonce_b, "presence.seed": seed}
    topic = open_topic(str(v["open.id"]))
    key_a, key_b = SigningKey(seed), SigningKey(SEED_B)
    id_a, id_b = bytes(key_a.verify_key), bytes(key_b.verify_key)

    # side A (nonce_a, presence from the seed) talks to side B (nonce_b), one step at a
    # time, in version 1 (as every implementation speaks it)
    a, b = LinkProtocol(nonce=nonce_a, versions=(1,)), LinkProtocol(nonce=nonce_b)
    a.add_topic(topic)
    a.join(topic, id_a, lambda m: key_a.sign(m).signature, msgpack.packb({"name": "bot"}))
    b.add_topic(topic)
    b.join(topic, id_b, lambda m: key_b.sign(m).signature, None)
    sent: list[bytes] = []

    def a_sends() -> None:
        data = a.data_to_send()
        sent.extend(encode_frame(f) for f in _decode(data))
        b.receive_data(data)

    a_sends()  # HELLO
    a.receive_data(b.data_to_send())  # B's HELLO
    a_sends()  # TOPIC
    a.receive_data(b.data_to_send())  # B's TOPIC: the topic is shared
    a_sends()  # PRESENCE, JOIN
    a.receive_data(b.data_to_send())  # B's PRESENCE, JOIN
    a.set_session(topic, id_a, None)
    a_sends()
    a.send_message(topic, id_a, id_b, msgpack.packb("hi"))
    a_sends()
    a.credit(topic, id_a, id_b, 4096)
    a_sends()
    a.close_socket(topic, id_a, id_b, 1000, "bye")
    a_sends()
    a.leave(topic, id_a)
    a_sends()
    a.forget_presence(id_a)
    a_sends()
    a.remove_topic(topic)
    a_sends()
    a.close("ERR_DEVICE_CLOSING", "the device is shutting down")
    a_sends()

    assert a.link_key is not None
    out["link.key"] = a.link_key
    out["link.tag"] = a._tag(topic)
    out["presence.id"] = id_a
    out["presence.signed"] = a._proof_message(id_a, nonce_a)
    out["presence.signature"] = key_a.sign(out["presence.signed"]).signature
    assert sorted([*FRAMES, *FRAMES_V2]) == sorted(f.name for f in Frame)
    for name, data in zip(FRAMES, sent, strict=True):
        assert Frame(_decode(data)[0][0]).name == name
        out[f"frame.{name}"] = data

    # the same in version 2, up to the presence joined: then two messages at once
    a, b = LinkProtocol(nonce=nonce_a), LinkProtocol(nonce=nonce_b)
    a.add_topic(topic)
    a.join(topic, id_a, lambda m: key_a.sign(m).signature, msgpack.packb({"name": "bot"}))
    b.add_topic(topic)
    b.join(topic, id_b, lambda m: key_b.sign(m).signature, None)
    hello = a.data_to_send()
    b.receive_data(hello)
    a.receive_data(b.data_to_send())
    for _ in range(2):  # TOPIC; then PRESENCE and JOIN
        b.receive_data(a.data_to_send())
        a.receive_data(b.data_to_send())
    a.send_message(topic, id_a, id_b, msgpack.packb("hi"))
    a.send_message(topic, id_a, id_b, msgpack.packb("ho"))
    out["frame.HELLO-1-2"] = hello
    out["frame.MESSAGES"] = a.data_to_send()
    return out


def _decode(data: bytes) -> list[list]:
    return FrameDecoder(limits.MAX_FRAME, max_array=8, max_str=limits.MAX_REASON_LEN).feed(data)


#: Frames of version 2 only, with their own vectors.
FRAMES_V2 = ["MESSAGES"]


@pytest.fixture(scope="module")
def doc() -> dict[str, bytes | str]:
    return read_vectors(DOC.read_text())


def test_the_document_gives_every_vector(doc):
    names = {f"frame.{f}" for f in FRAMES + FRAMES_V2}
    names |= {"frame.HELLO-1-2", "link.key", "link.tag", "presence.signature"}
    names |= {"open.topic", "open-nfc.topic", "open-nfd.topic", "origin.topic"}
    assert names <= set(doc)


def test_this_implementation_makes_exactly_the_documents_vectors(doc):
    made = make_vectors(doc)
    assert {k: _show(v) for k, v in made.items()} == {k: _show(doc[k]) for k in made}


def test_topic_vectors_are_plain_blake2b_of_the_name_as_given(doc):
    for name in ("open", "open-nfc", "open-nfd"):
        data = f"peersocket-open-{doc[f'{name}.id']}".encode()
        assert doc[f"{name}.topic"] == hashlib.blake2b(data, digest_size=32).digest()
    data = f"peersocket-origin-{doc['origin.origin']}".encode()
    assert doc["origin.topic"] == hashlib.blake2b(data, digest_size=32).digest()
    assert doc["open-nfc.topic"] != doc["open-nfd.topic"]  # not normalised


def test_link_key_tag_and_proof_vectors_follow_from_the_primitives(doc):
    lo, hi = sorted((doc["link.nonce_a"], doc["link.nonce_b"]))
    key = hashlib.blake2b(LINK_CONTEXT + lo + hi, digest_size=32).digest()
    assert doc["link.key"] == key
    assert doc["link.tag"] == hashlib.blake2b(doc["open.topic"], key=key, digest_size=32).digest()
    signing = SigningKey(doc["presence.seed"])
    assert doc["presence.id"] == bytes(signing.verify_key)
    assert doc["presence.signed"] == PROOF_CONTEXT + key + doc["link.nonce_a"] + doc["presence.id"]
    assert doc["presence.signature"] == signing.sign(doc["presence.signed"]).signature
    VerifyKey(doc["presence.id"]).verify(doc["presence.signed"], doc["presence.signature"])


def side_b(doc) -> LinkProtocol:
    """Side B of the vectors' link: its nonce, and its presence (from SEED_B) joined in
    the open topic."""
    topic, key_b = doc["open.topic"], SigningKey(SEED_B)
    b = LinkProtocol(nonce=doc["link.nonce_b"])
    b.add_topic(topic)
    b.join(topic, bytes(key_b.verify_key), lambda m: key_b.sign(m).signature, None)
    return b


def test_the_frame_vectors_read_as_the_frames_they_are(doc):
    topic, id_a, id_b = doc["open.topic"], doc["presence.id"], bytes(SigningKey(SEED_B).verify_key)
    b = side_b(doc)
    events = []
    for name in FRAMES:
        b.receive_data(doc[f"frame.{name}"])
        events += b.events_received()
    assert events == [
        LinkOpened(),
        PeerJoined(topic, id_a, msgpack.packb({"name": "bot"})),
        PeerSessionData(topic, id_a, None),
        PeerMessage(topic, id_a, id_b, msgpack.packb("hi")),
        PeerCredit(topic, id_a, id_b, 4096),
        PeerClosedSocket(topic, id_a, id_b, 1000, "bye"),
        PeerLeft(topic, id_a),
        LinkClosed("ERR_DEVICE_CLOSING", "the device is shutting down", by_peer=True),
    ]
    other = LinkProtocol(nonce=doc["link.nonce_b"], versions=(1,))
    other.receive_data(doc["frame.HELLO-1-2"])
    assert other.events_received() == [LinkOpened()] and other.version == 1


def test_the_version_2_vectors_read_as_the_frames_they_are(doc):
    """HELLO-1-2 opens a version-2 link with a side that speaks 2; the version-1 TOPIC,
    PRESENCE and JOIN read the same in it; MESSAGES carries two messages in order."""
    topic, id_a, id_b = doc["open.topic"], doc["presence.id"], bytes(SigningKey(SEED_B).verify_key)
    b = side_b(doc)
    events = []
    for name in ("HELLO-1-2", "TOPIC", "PRESENCE", "JOIN", "MESSAGES"):
        b.receive_data(doc[f"frame.{name}"])
        events += b.events_received()
    assert b.version == 2
    assert events == [
        LinkOpened(),
        PeerJoined(topic, id_a, msgpack.packb({"name": "bot"})),
        PeerMessages(topic, id_a, id_b, [msgpack.packb("hi"), msgpack.packb("ho")]),
    ]


def _show(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else json.dumps(value)


if __name__ == "__main__":
    for name, value in make_vectors(read_vectors(DOC.read_text())).items():
        print(f"{name}: {_show(value)}")
