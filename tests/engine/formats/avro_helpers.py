"""The Avro binary encoding written out by hand from the specification (avro.apache.org,
"Binary Encoding"), so tests can check the codec's bytes without trusting fastavro; and the
base-128 varint that Protobuf's wire format shares with it."""

from __future__ import annotations


def varint(n: int) -> bytes:
    """A non-negative int as a little-endian base-128 varint (Avro longs, Protobuf fields)."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def long_(n: int) -> bytes:
    """An Avro int/long: zig-zag, then a little-endian base-128 varint."""
    return varint((n << 1) ^ (n >> 63))


def bytes_(b: bytes) -> bytes:
    """Avro bytes: the length as a long, then the bytes."""
    return long_(len(b)) + b


def string(s: str) -> bytes:
    """An Avro string: its UTF-8 bytes as bytes."""
    return bytes_(s.encode())


def twos_complement(n: int) -> bytes:
    """The shortest big-endian two's-complement bytes of `n` (a decimal's unscaled value)."""
    size = 1
    while not -(1 << (8 * size - 1)) <= n < (1 << (8 * size - 1)):
        size += 1
    return n.to_bytes(size, "big", signed=True)
