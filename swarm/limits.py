"""Every bound the core enforces, in one place (documented in docs/PROTOCOL.md)."""

from __future__ import annotations

KiB = 1024
MiB = 1024 * KiB

#: Largest message payload (the encoded value) a socket carries.
MAX_MESSAGE = 4 * MiB
#: Largest session data (encoded) a presence may publish per swarm.
MAX_SESSION_DATA = 16 * KiB
#: Largest frame on a link: a message plus its header.
MAX_FRAME = MAX_MESSAGE + 4 * KiB
#: Protocol version 2 (docs/PROTOCOL.md): messages in one MESSAGES frame at most, and
#: the payload bytes a sender puts in one before it starts another (a message over
#: that goes alone, in a MESSAGE frame). A receiver acts on a whole frame at once: the
#: bound keeps that a short piece of work, so other links and pages get their turn.
MAX_MESSAGES_PER_FRAME = 256
MESSAGES_FRAME_BYTES = 32 * KiB
#: Largest open-swarm id, in UTF-8 bytes.
MAX_SWARM_ID = 1 * KiB
#: Per link and per side: topics announced, presences proven, joins.
MAX_TOPICS_PER_LINK = 1024
MAX_PRESENCES_PER_LINK = 1024
MAX_JOINS_PER_LINK = 16384
#: What this device joins at most, so that it never announces more on a link than
#: its peers accept there (above): past these, a join fails with ERR_TOO_MANY and the
#: device's links, and every other page's sockets over them, stay up.
MAX_TOPICS_PER_DEVICE = MAX_TOPICS_PER_LINK
MAX_PRESENCES_PER_DEVICE = MAX_PRESENCES_PER_LINK
MAX_MEMBERSHIPS_PER_DEVICE = MAX_JOINS_PER_LINK
#: What one origin may take of that: swarms joined (by all its presences) and debug
#: identities, so that one site cannot use up the device's share alone.
MAX_SWARMS_PER_ORIGIN = 128
MAX_IDENTITIES_PER_ORIGIN = 64
#: Swarm objects one page (one document) may hold open at once, joined to the same
#: swarm or not: each is a listener every event of its swarm goes to.
MAX_HANDLES_PER_OWNER = 256
#: Close codes and reasons carried on the wire.
MAX_CODE_LEN = 64
MAX_REASON_LEN = 256

#: Flow control, per socket and direction: a writer may have this many payload
#: bytes sent but not yet consumed by the reader (at least one message always fits).
WINDOW = 1 * MiB
#: What a device lets its own writers run ahead of the window at most (tabs of one
#: presence writing at once); past this ``write()`` fails with ERR_BUFFER_FULL.
MAX_INFLIGHT = WINDOW + 4 * MAX_MESSAGE
#: What a reader holds from a remote writer before it calls the link broken.
MAX_HELD = MAX_INFLIGHT + MAX_MESSAGE

# --- budgets: what one remote device may make this one do, per second ---------------
# (docs/PROTOCOL.md, "Budgets"; the logic is in swarm/budget.py)

#: Membership frames (TOPIC, UNTOPIC, PRESENCE, UNPRESENCE, JOIN, LEAVE) share one
#: token bucket per link: this many tokens when the link opens, refilled at
#: MEMBERSHIP_RATE a second. Each frame costs one token, a PRESENCE (a signature to
#: check) PRESENCE_COST. The whole state a side may announce costs 21,504 tokens
#: (16,384 joins, 1,024 presences, 1,024 topics) and withdrawing it at most 17,408:
#: a device can announce its whole state on a new link, withdraw it and still have
#: room left.
MEMBERSHIP_BUDGET = 49_152
MEMBERSHIP_RATE = 64
PRESENCE_COST = 4
#: SESSION frames: a byte bucket per link, each frame counted as at least
#: SESSION_MIN_COST bytes (its whole frame, prefix included).
SESSION_BUDGET = 2 * MiB
SESSION_RATE = 256 * KiB
SESSION_MIN_COST = 1 * KiB
#: A bucket that runs out stops the link's reading until it holds BUDGET_RESUME seconds
#: of its refill again; a bucket of the link that runs out again less than BUDGET_REPEAT
#: seconds after the last time one did closes the link (GOODBYE ERR_RATE_LIMIT).
BUDGET_RESUME = 2.0
#: However much of its budget a peer has left, this side reads its membership frames
#: at most MEMBERSHIP_PACE tokens a second (a burst of MEMBERSHIP_PACE_BURST): each
#: costs the core's thread, which the pages share, tens of microseconds. Faster ones
#: wait in the transport (its flow control holds the peer back) and are read after
#: PACE_RESUME seconds of refill. This is no budget: a peer is never cut for it.
MEMBERSHIP_PACE = 4096
MEMBERSHIP_PACE_BURST = 1024
PACE_RESUME = 0.016
#: All of a core's links together are read at most MEMBERSHIP_PACE_ALL tokens a second
#: (a burst of MEMBERSHIP_PACE_ALL_BURST): an attacker can link under as many device
#: keys as NEW_DEVICE_RATE lets it, and must not multiply the pace by them. Links that
#: find it short take it in turn, the one that waited longest first, PACE_RESUME
#: seconds of its refill per turn; a link that does not come back for its turn within
#: PACE_TURN_KEPT seconds loses its place.
MEMBERSHIP_PACE_ALL = 8192
MEMBERSHIP_PACE_ALL_BURST = 2048
PACE_TURN_KEPT = 0.25
BUDGET_REPEAT = 10.0
#: A device whose link was closed for its rate is refused (ERR_RATE_LIMIT) for
#: REFUSE_FIRST seconds; cut again less than REFUSE_MEMORY seconds after its last
#: refusal ended, twice as long as that one, at most REFUSE_MAX.
REFUSE_FIRST = 30.0
REFUSE_MAX = 600.0
REFUSE_MEMORY = 600.0
#: New links from device keys not seen before (the last SEEN_DEVICES keys that linked):
#: at most NEW_DEVICE_RATE a second, with a burst of NEW_DEVICE_BURST.
NEW_DEVICE_RATE = 10
NEW_DEVICE_BURST = 64
SEEN_DEVICES = 4096
#: What this device's own pages may make it send its peers, so that it stays under
#: every peer's budgets above with room to spare. A link carries this device's state
#: when it opens (at most 21,504 membership tokens), its withdrawal (at most 17,408)
#: and the changes the pages make meanwhile: each new swarm membership costs its frames
#: and its withdrawal's (2, +1 for a swarm new to the device, +5 for a presence new to
#: it), from OWN_MEMBERSHIP_BUDGET refilled at OWN_MEMBERSHIP_RATE a second, and each
#: setSessionData() its frame (at least SESSION_MIN_COST) from OWN_SESSION_BUDGET
#: refilled at OWN_SESSION_RATE. Past them, joinSwarm() and setSessionData() fail with
#: ERR_TOO_MANY (only while some link would carry the change).
OWN_MEMBERSHIP_BUDGET = 8_192
OWN_MEMBERSHIP_RATE = 48
OWN_SESSION_BUDGET = 1 * MiB
OWN_SESSION_RATE = 192 * KiB
#: What one page (a document) is told: at most PAGE_EVENTS_PER_DEVICE_RATE
#: ``connection`` + ``close`` events a second about the presences of one device (a
#: burst of PAGE_EVENTS_PER_DEVICE_BURST), and at most PAGE_EVENTS_PER_SECOND in any
#: one second in all. What has to wait waits in the core, where it coalesces.
PAGE_EVENTS_PER_DEVICE_RATE = 200
PAGE_EVENTS_PER_DEVICE_BURST = 1024
PAGE_EVENTS_PER_SECOND = 1000
#: And at most PAGE_SESSION_BYTES_RATE bytes of ``session-data`` a second about the
#: presences of one device (a burst of PAGE_SESSION_BYTES_BURST, at least one value of
#: MAX_SESSION_DATA), each value counting at least PAGE_SESSION_MIN_COST bytes: a
#: name or a status goes at once, a device that keeps replacing 16 KiB values reaches
#: a page 4 times a second, with the newest value each time (what waits coalesces).
PAGE_SESSION_BYTES_RATE = 64 * KiB
PAGE_SESSION_BYTES_BURST = 64 * KiB
PAGE_SESSION_MIN_COST = 256
