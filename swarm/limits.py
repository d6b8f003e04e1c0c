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
