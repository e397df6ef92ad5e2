"""AMI framing, as pure functions: bytes in, messages out, and messages back to bytes.

A message is a block of `Key: Value` lines ended by an empty line. Values are decoded as UTF-8,
falling back to cp1252 for bytes that are not UTF-8, so nothing a PBX sends is silently dropped.
Repeated keys (`Variable`, `ChanVariable`, `Output`) keep every value: in a ``Message`` their
values are joined with ``REPEAT_SEPARATOR`` in wire order, which is lossless because a value can
never hold a line break on the wire (``values_of`` splits them again).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

Message = dict[str, str]
REPEAT_SEPARATOR = "\n"
TERMINATOR = b"\r\n\r\n"
MAX_MESSAGE_BYTES = 256 * 1024
# Most of what Asterisk sends: variables set, dialplan steps, device, peer and media state. The
# tracker reads VarSet; none of them says which channels make up a call or how it ended.
NOISE_EVENTS = frozenset({
    "VarSet", "Newexten", "DeviceStateChange", "RTCPSent", "RTCPReceived", "ChannelTalkingStart",
    "ChannelTalkingStop", "DTMFBegin", "DTMFEnd", "ExtensionStatus", "PeerStatus",
    "ContactStatus", "Registry"})


class FrameError(ValueError):
    """A block that cannot be an AMI message."""


def decode_value(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def parse_block(block: bytes) -> tuple[Message, dict[str, list[str]]]:
    """One block (without its terminator) → (headers with the first value of each key,
    every value of keys that occur more than once). Lines without `:` are skipped; a header with
    an empty value is kept as ''."""
    headers: Message = {}
    repeated: dict[str, list[str]] = {}
    for line in block.split(b"\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(b":")
        if not sep:
            continue
        name = decode_value(key.strip())
        text = decode_value(value[1:] if value.startswith(b" ") else value).rstrip("\r\n")
        if name in headers:
            repeated.setdefault(name, [headers[name]]).append(text)
        else:
            headers[name] = text
    return headers, repeated


def join_repeated(headers: Message, repeated: dict[str, list[str]]) -> Message:
    """parse_block's two halves → one Message, every value of a repeated key kept."""
    if not repeated:
        return headers
    merged = dict(headers)
    for key, values in repeated.items():
        merged[key] = REPEAT_SEPARATOR.join(values)
    return merged


def values_of(message: Mapping[str, str], key: str) -> list[str]:
    """Every value of a header in wire order ([] when absent)."""
    raw = message.get(key)
    return [] if raw is None else raw.split(REPEAT_SEPARATOR)


def channel_variables(message: Mapping[str, str], prefix: str = "") -> list[tuple[str, str]]:
    """The non-empty `NAME=value` pairs of one snapshot's ChanVariable headers (manager.conf
    `channelvars`; `prefix` "Dest" for the second channel of an event)."""
    pairs = []
    for item in values_of(message, prefix + "ChanVariable"):
        name, sep, value = item.partition("=")
        if sep and name and value:
            pairs.append((name, value))
    return pairs


class FrameReader:
    """Incremental splitter: feed bytes as they arrive, get whole blocks back. A block larger
    than `max_bytes` without a terminator is discarded (counted in `oversized`) instead of
    growing the buffer without bound."""

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_bytes
        self._skipping = False
        self.oversized = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        while True:
            end = self._buffer.find(TERMINATOR)
            if end < 0:
                if len(self._buffer) > self._max:
                    # keep the tail: it may hold the start of the terminator
                    del self._buffer[:-3]
                    if not self._skipping:
                        self.oversized += 1
                    self._skipping = True
                return
            block = bytes(self._buffer[:end])
            del self._buffer[: end + len(TERMINATOR)]
            if self._skipping:
                self._skipping = False
                continue
            if block.strip():
                yield block


def iter_messages(data: bytes) -> Iterator[Message]:
    """Every message in a whole recorded stream (a banner line glued to the first block is
    ignored as a line without `:`), repeated keys joined as in ``join_repeated``."""
    reader = FrameReader(max_bytes=len(data) + 1)
    for block in reader.feed(data):
        headers, repeated = parse_block(block)
        if headers:
            yield join_repeated(headers, repeated)


def encode(headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialise (key, value) pairs as one AMI block with its terminator."""
    lines = []
    for key, value in headers:
        if "\r" in value or "\n" in value:
            raise FrameError(f"header {key!r} holds a line break")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
