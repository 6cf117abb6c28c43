# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pure-Python writer and reader for D. J. Bernstein's constant database (CDB) format.

The writer reproduces cdb_make (cdb-0.75, as linked into ucspi-tcp and qmail) byte for byte:

* a 2048-byte header of 256 (position, slot count) pairs, little-endian 32-bit;
* the records in insertion order, each ``klen dlen key data``;
* 256 hash tables, table ``i`` holding the records whose hash ends in byte ``i``, with twice as
  many slots as records; a record's home slot is ``(hash >> 8) % slots``, collisions take the next
  free slot (wrapping), and records are placed in insertion order, so a duplicate key keeps its
  first record in front (a lookup finds the first one, as tcpserver does).

Speed matters (a rules file can hold 100,000 rules), so the per-record work is pushed into C:
``hashes()`` runs the byte-wise hash recurrence on big integers holding one 64-bit lane per key
(keys of one length at a time), lists are built with map() over C functions, probe runs are
scanned with list.index(), the tables are interleaved with array slices, and work proceeds in
blocks of a few thousand records so that it stays in the CPU caches.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import gc
import itertools
import operator
import struct
import sys
from array import array
from collections import deque

HEADER_SIZE = 2048
_MASK32 = 0xFFFFFFFF
_PAIR = struct.Struct("<II")
_LANE_MASK_CACHE = {}
_BLOCK = 8192
_EIGHTS = itertools.repeat(8)
_BYTE_VALUES = [bytes((value,)) for value in range(256)]


class CdbError(ValueError):
    """The bytes are not a well-formed CDB."""


def cdb_hash(key):
    """The CDB hash of one key (bytes): h = 5381; h = (h * 33) ^ c, modulo 2**32."""
    h = 5381
    for c in bytearray(key):
        h = ((h << 5) + h) ^ c
    return h & _MASK32


def _lane_mask(count):
    mask = _LANE_MASK_CACHE.get(count)
    if mask is None:
        mask = int.from_bytes(b"\xff\xff\xff\xff\x00\x00\x00\x00" * count, "little")
        if len(_LANE_MASK_CACHE) > 64:
            _LANE_MASK_CACHE.clear()
        _LANE_MASK_CACHE[count] = mask
    return mask


def _hash_same_length(keys, length):
    """Hashes of keys that all have `length` bytes, computed lane-parallel on one big integer."""
    count = len(keys)
    joined = b"".join(keys)
    lanes = bytearray(8 * count)
    mask = _lane_mask(count)
    state = int.from_bytes(struct.pack("<Q", 5381) * count, "little")
    for position in range(length):
        lanes[0::8] = joined[position::length]
        state = ((state << 5) + state) ^ int.from_bytes(lanes, "little")
        # Reducing modulo 2**32 commutes with *33 and with XOR of a byte, so it can wait: a lane
        # starts below 2**32 and grows by less than 2**5.05 per step, so six steps stay below
        # 2**64 and no lane carries into its neighbour.
        if position % 6 == 5:
            state &= mask
    state &= mask
    words = array("I")
    words.frombytes(state.to_bytes(8 * count, "little"))
    if words.itemsize != 4:  # pragma: no cover - every supported platform has 32-bit "I"
        return [cdb_hash(key) for key in keys]
    if struct.pack("=I", 1) != struct.pack("<I", 1):  # pragma: no cover - big-endian hosts
        words.byteswap()
    return words[0::2].tolist()


def hashes(keys):
    """The CDB hash of every key in the list, in order."""
    if len(keys) <= _BLOCK:
        return _hash_block(keys)
    # Blocks keep each step's working set in the CPU caches.
    result = []
    for start in range(0, len(keys), _BLOCK):
        result += _hash_block(keys[start:start + _BLOCK])
    return result


def _hash_block(keys):
    count = len(keys)
    if count < 64:
        return [cdb_hash(key) for key in keys]
    lengths = list(map(len, keys))
    # Group the keys by length without a Python-level loop: a stable sort of the indexes.
    order = sorted(range(count), key=lengths.__getitem__)
    sorted_lengths = list(map(lengths.__getitem__, order))
    sorted_keys = list(map(keys.__getitem__, order))
    sorted_hashes = []
    start = 0
    while start < count:
        length = sorted_lengths[start]
        end = bisect.bisect_right(sorted_lengths, length, start)
        group = sorted_keys[start:end]
        if end - start < 16:
            sorted_hashes.extend(map(cdb_hash, group))
        else:
            sorted_hashes.extend(_hash_same_length(group, length))
        start = end
    result = [0] * count
    deque(map(result.__setitem__, order, sorted_hashes), maxlen=0)
    return result


def make(keys, values):
    """Return the CDB (bytes) holding the records (keys[i], values[i]) in that order."""
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects, none of them cyclic
    try:
        return _make(keys, values)
    finally:
        if collecting:
            gc.enable()


def _make(keys, values):
    count = len(keys)
    if count != len(values):
        raise ValueError("keys and values differ in number")
    key_hashes = hashes(keys)
    positions = []
    pieces = []
    pos = HEADER_SIZE
    for start in range(0, count, _BLOCK):  # blocks keep the working set in the CPU caches
        block_keys = keys[start:start + _BLOCK]
        block_values = values[start:start + _BLOCK]
        key_lengths = list(map(len, block_keys))
        value_lengths = list(map(len, block_values))
        sizes = list(map(operator.add, key_lengths, value_lengths))
        positions += map(operator.add, range(pos, pos + 8 * len(block_keys), 8),
                         itertools.accumulate(itertools.chain((0,), sizes)))
        pieces.append(b"".join(itertools.chain.from_iterable(
            zip(map(_PAIR.pack, key_lengths, value_lengths), block_keys, block_values))))
        pos += 8 * len(block_keys) + sum(sizes)
    if pos > _MASK32:
        raise CdbError("the database would exceed 4 GiB")
    body = b"".join(pieces)

    # Group by the hash's low byte: a stable sort keeps each table's records in insertion order.
    low_bytes = bytes(map((255).__and__, key_hashes))
    order = sorted(range(count), key=low_bytes.__getitem__)
    bucket_sizes = list(map(low_bytes.count, _BYTE_VALUES))
    sorted_hashes = list(map(key_hashes.__getitem__, order))
    sorted_positions = list(map(positions.__getitem__, order))

    # All 256 tables side by side in two flat lists (hash, position), interleaved at the end.
    slot_hashes = [0] * (2 * count)
    slot_positions = [0] * (2 * count)
    header = []
    start = 0
    base = 0
    for size in bucket_sizes:
        slots = 2 * size
        header.append(pos + 8 * base)
        header.append(slots)
        if not size:
            continue
        end = start + size
        limit = base + slots
        hashes_here = sorted_hashes[start:end]
        homes = map(operator.add, map(operator.mod, map(operator.rshift, hashes_here, _EIGHTS),
                                      itertools.repeat(slots)), itertools.repeat(base))
        for where, h, p in zip(homes, hashes_here, sorted_positions[start:end]):
            if slot_positions[where]:
                # Linear probing: the first free slot from `where` on, wrapping around. DJB's hash
                # clusters similar keys, so probe runs get long: list.index() scans them in C.
                try:
                    where = slot_positions.index(0, where, limit)
                except ValueError:
                    where = slot_positions.index(0, base, limit)
            slot_hashes[where] = h
            slot_positions[where] = p
        start = end
        base = limit
    end_of_file = pos + 8 * base
    if end_of_file > _MASK32:
        raise CdbError("the database would exceed 4 GiB")
    tables = array("I", bytes(8 * base))
    tables[0::2] = array("I", slot_hashes)
    tables[1::2] = array("I", slot_positions)
    head = array("I", header)
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        tables.byteswap()
        head.byteswap()
    return head.tobytes() + body + tables.tobytes()


def records_section(keys, values):
    """The bytes between the header and the hash tables for these records."""
    return b"".join(itertools.chain.from_iterable(
        zip(map(_PAIR.pack, map(len, keys), map(len, values)), keys, values)))


def read(data):
    """Parse a whole CDB (bytes) and return its records as a list of (key, value) pairs.

    Raises CdbError when the header, the records or the hash tables are inconsistent, so a
    truncated or hand-edited database is recognised as such.
    """
    data = bytes(data)
    size = len(data)
    if size < HEADER_SIZE:
        raise CdbError("shorter than the %d-byte header" % HEADER_SIZE)
    header = struct.unpack_from("<512I", data, 0)
    tables_start = header[0]
    if tables_start < HEADER_SIZE or tables_start > size:
        raise CdbError("the first hash table starts outside the file")
    records = []
    positions = []
    pos = HEADER_SIZE
    unpack_pair = _PAIR.unpack_from
    while pos < tables_start:
        if pos + 8 > tables_start:
            raise CdbError("a record header at %d runs into the hash tables" % pos)
        klen, dlen = unpack_pair(data, pos)
        end = pos + 8 + klen + dlen
        if end > tables_start:
            raise CdbError("the record at %d runs into the hash tables" % pos)
        positions.append(pos)
        records.append((data[pos + 8:pos + 8 + klen], data[pos + 8 + klen:end]))
        pos = end
    expected = tables_start
    total_slots = 0
    for i in range(256):
        tpos, slots = header[2 * i], header[2 * i + 1]
        if tpos != expected:
            raise CdbError("hash table %d is not where the previous one ends" % i)
        expected += 8 * slots
        total_slots += slots
    if expected != size:
        raise CdbError("the hash tables do not end at the end of the file")
    if total_slots != 2 * len(records):
        raise CdbError("the hash tables hold %d slots for %d records" % (total_slots, len(records)))
    return records


def verify(data, keys, values):
    """Tell whether `data` is exactly the CDB that make(keys, values) would write.

    The records section is compared first (cheap, and where most differences are); only when it
    matches are the header and hash tables compared with a fresh build. False for anything else,
    including a corrupt file.
    """
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        return False
    header = struct.unpack_from("<512I", data, 0)
    tables_start = header[0]
    records = records_section(keys, values)
    if tables_start != HEADER_SIZE + len(records):
        return False
    if data[HEADER_SIZE:tables_start] != records:
        return False
    return data == make(keys, values)


def get_all(data, key):
    """Every value stored under key, in the order a CDB lookup finds them (the first one first)."""
    data = bytes(data)
    key = bytes(key)
    h = cdb_hash(key)
    tpos, slots = struct.unpack_from("<II", data, (h & 255) * 8)
    found = []
    if not slots:
        return found
    where = (h >> 8) % slots
    for _probe in range(slots):
        sh, sp = struct.unpack_from("<II", data, tpos + 8 * where)
        if not sp:
            break
        if sh == h:
            klen, dlen = struct.unpack_from("<II", data, sp)
            if data[sp + 8:sp + 8 + klen] == key:
                found.append(data[sp + 8 + klen:sp + 8 + klen + dlen])
        where += 1
        if where == slots:
            where = 0
    return found


def get(data, key):
    """The first value stored under key, or None."""
    values = get_all(data, key)
    return values[0] if values else None
