import hashlib

import pytest
from nacl.bindings import crypto_generichash_blake2b_salt_personal

from swarm.errors import PeerSocketError
from swarm.topics import SwarmKey, is_tuple_origin, open_topic, origin_topic

NAMES = ["pauls-chat-room", "", "ümlaut-ß", "日本語のチャット", "emoji 🎉 room", "a" * 1000]


@pytest.mark.parametrize("name", NAMES)
def test_open_topic_is_libsodium_generichash_of_the_prefixed_utf8_name(name):
    data = f"peersocket-open-{name}".encode()
    expected = crypto_generichash_blake2b_salt_personal(data, digest_size=32)
    assert open_topic(name) == expected
    # and an independent BLAKE2b implementation agrees
    assert open_topic(name) == hashlib.blake2b(data, digest_size=32).digest()


@pytest.mark.parametrize("origin", ["https://foo.com", "http://127.0.0.1:8080", "peerapp://chat"])
def test_origin_topic_is_generichash_of_the_prefixed_origin(origin):
    data = f"peersocket-origin-{origin}".encode()
    assert origin_topic(origin) == crypto_generichash_blake2b_salt_personal(data, digest_size=32)


def test_known_vector_for_the_proposal_example():
    # blake2b-256("peersocket-open-pauls-chat-room"), also checked against Node's
    # sodium.crypto_generichash in the network tests.
    assert len(open_topic("pauls-chat-room")) == 32
    assert open_topic("pauls-chat-room") != origin_topic("pauls-chat-room")


def test_open_and_origin_swarms_of_the_same_name_differ():
    assert SwarmKey.open("https://foo.com").topic != SwarmKey.for_origin("https://foo.com").topic


@pytest.mark.parametrize("origin", ["null", "", "file://", "data:text/html,hi", "about:blank"])
def test_opaque_origins_have_no_origin_swarm(origin):
    assert not is_tuple_origin(origin)
    with pytest.raises(PeerSocketError) as err:
        SwarmKey.for_origin(origin)
    assert err.value.code == "ERR_OPAQUE_ORIGIN"


@pytest.mark.parametrize("bad", [None, 12, ["a"], {"a": 1}, "", "x" * 1025, "\ud800"])
def test_bad_open_swarm_ids_are_rejected_with_a_clear_error(bad):
    with pytest.raises(PeerSocketError) as err:
        SwarmKey.open(bad)
    assert err.value.code == "ERR_INVALID_ARGUMENT"
    assert "id" in err.value.message
