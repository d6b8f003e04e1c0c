"""The page's batches read, and the bridge's written, as JSON says (bridge/wire.py).

The bridge reads and writes them with orjson, and falls back to the standard library
where orjson is stricter than JSON: these are the inputs where the two differ, and a
page must not lose a batch (the other sockets' writes in it) to that difference.
"""

from __future__ import annotations

import base64
import json

import pytest

from bridge import wire
from swarm import limits
from swarm.errors import PeerSocketError

PEER = "ab" * 32


def test_a_close_reason_with_a_lone_surrogate_is_read_with_the_writes_beside_it() -> None:
    # a JavaScript string may hold a lone surrogate; JSON.stringify writes it as an escape
    batch = json.dumps([["w", 1, PEER, "AAE="], ["close", 7, 1, PEER, "bye \ud800"]])
    ops = wire.parse_batch(batch)
    assert [op.name for op in ops if isinstance(op, wire.Op)] == ["w", "close"]
    close = ops[1]
    assert isinstance(close, wire.Op)
    assert wire.reason(close.args[2]) == "bye \ud800"


def test_a_number_past_a_double_spoils_its_op_only() -> None:
    batch = '[["seen", 1e400], ["w", 1, "' + PEER + '", "AAE="]]'
    ops = wire.parse_batch(batch)
    assert isinstance(ops[0], wire.BadOp) and "seen" in ops[0].error.message
    assert isinstance(ops[1], wire.Op) and ops[1].name == "w"


@pytest.mark.parametrize("value", ["2e64", str(2**70), "-1", "1.5"])
def test_a_request_id_that_is_no_small_integer_is_refused(value: str) -> None:
    (op,) = wire.parse_batch(f'[["leave", {value}, 1]]')
    assert isinstance(op, wire.BadOp)
    assert op.error.code == "ERR_INVALID_ARGUMENT"


def test_nesting_too_deep_for_either_reader_refuses_the_batch_whole() -> None:
    with pytest.raises(PeerSocketError, match="valid JSON"):
        wire.parse_batch("[" * 100_000 + "]" * 100_000)


def test_text_that_is_no_json_refuses_the_batch_whole() -> None:
    for text in ('[["seen", 1]', "[1,]", "\ud800", ""):
        with pytest.raises(PeerSocketError, match="valid JSON"):
            wire.parse_batch(text)


def test_batches_for_the_page_are_compact_json_the_page_reads_back() -> None:
    batch = [
        ["p", 3],
        ["m", 1, PEER, "AAE="],
        ["M", 1, PEER, ["AAE=", "AgM="]],
        ["x", 1, PEER, 1000, "é \u2028 bye", True],
        ["c", 2, {"id": PEER, "host": None, "port": 0, "loopback": False, "session": None}],
    ]
    text = wire.dumps(batch)
    assert text == json.dumps(batch, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(text) == batch


def test_a_lone_surrogate_in_a_batch_for_the_page_is_written_all_the_same() -> None:
    batch = [["x", 1, PEER, 1000, "bye \ud800", True], ["m", 1, PEER, "AAE="]]
    assert json.loads(wire.dumps(batch)) == batch


_too_long = "A" * ((limits.MAX_MESSAGE + 2) // 3 * 4 + 8)  # refused before it is decoded
_decodes_too_large = base64.b64encode(bytes(limits.MAX_MESSAGE + 1)).decode()


@pytest.mark.parametrize(
    "bad",
    [None, 7, ["AAAA"], {"a": 1}, "not base64!", "AAA", "AA==AA", "é", _too_long, _decodes_too_large],
)
def test_an_op_s_messages_read_together_are_read_as_one_by_one_or_left_to_them(bad) -> None:
    """``message_payloads`` (a ``W`` op's messages in one pass) gives what
    ``message_payload`` gives each, or nothing when one of them is refused: then the
    bridge reads them one by one, and each refusal has its place and its own error."""
    good = [base64.b64encode(bytes([i]) * i).decode() for i in range(20)]
    assert wire.message_payloads(good) == [wire.message_payload(m) for m in good]
    assert wire.message_payloads([]) == []
    messages = [*good[:5], bad, *good[5:]]
    assert wire.message_payloads(messages) is None
    with pytest.raises(PeerSocketError):
        wire.message_payload(bad)


def test_a_run_of_messages_is_encoded_for_the_page_as_each_alone() -> None:
    """``b64_all`` (a run of messages in one pass) gives what ``b64`` gives each, which
    is standard base64, no newline, that ``message_payload`` reads back."""
    payloads = [bytes(range(i % 256)) * (i // 256 + 1) for i in range(0, 700, 7)]
    texts = wire.b64_all(payloads)
    assert texts == [wire.b64(p) for p in payloads] == [base64.b64encode(p).decode() for p in payloads]
    assert [wire.message_payload(t) for t in texts] == payloads
    assert wire.b64_all([]) == []


def test_a_documents_first_batch_is_known_by_its_hello_without_parsing_it() -> None:
    """``hello_token`` reads the token peersocket.js's first batch starts with (as
    JSON.stringify writes it) and agrees with ``parse_batch``; any other batch has none."""
    for token in ("k3x9a", "a" * wire.MAX_TOKEN):
        batch = json.dumps([["hello", token], ["join", 1, "room"]], separators=(",", ":"))
        assert wire.hello_token(batch) == token == wire.parse_batch(batch)[0].args[0]
    for batch in ('[["seen",1],["hello","x"]]', '[["hello",""]]', '[["hello","' + "a" * 65 + '"]]', "[]"):
        assert wire.hello_token(batch) is None
