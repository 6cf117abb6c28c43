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

* the hashes are computed lane-parallel on big integers, one 40-bit lane per key, the keys padded
  on the left to a common width so that every byte position is one strided slice;
* the record section and the hash tables are assembled with slice assignments, ``bytes.join`` and
  ``array``, never one small ``bytes`` per slot;
* the one loop in Python places the records; it probes a ``bytearray`` of occupied slots, small
  enough to stay in the CPU caches, with ``find()``, because DJB's hash clusters similar keys and
  probe runs get long.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import gc
import itertools
import operator
import struct
import sys
from array import array

HEADER_SIZE = 2048
_MASK32 = 0xFFFFFFFF
_PAIR = struct.Struct("<II")
_BIG_ENDIAN = sys.byteorder != "little"
# 33 * _INVERSE_OF_33 == 1 modulo 2**32: runs the hash backwards over the padding.
_INVERSE_OF_33 = 0x3E0F83E1
# A lane holds 40 bits: a hash below 2**32, times 33, XOR a byte, stays below 2**40.
_LANE = 5
_BLOCK = 8192
# Keys up to this length share the lanes; a block's rare longer ones are hashed one by one.
_WIDE_KEY = 64
# Record headers come from a table of (distinct values x key lengths) headers up to this size.
_HEADER_TABLE_LIMIT = 4096
_MASK_CACHE = {}
_START_CACHE = {}


class CdbError(ValueError):
    """The bytes are not a well-formed CDB."""


def cdb_hash(key):
    """The CDB hash of one key (bytes): h = 5381; h = (h * 33) ^ c, modulo 2**32."""
    h = 5381
    for c in bytearray(key):
        h = ((h << 5) + h) ^ c
    return h & _MASK32


def _masks(count):
    """(the low byte of every lane, the low 32 bits of every lane) for `count` lanes."""
    masks = _MASK_CACHE.get(count)
    if masks is None:
        if len(_MASK_CACHE) > 8:
            _MASK_CACHE.clear()
        masks = _MASK_CACHE[count] = (
            int.from_bytes(b"\xff\x00\x00\x00\x00" * count, "little"),
            int.from_bytes(b"\xff\xff\xff\xff\x00" * count, "little"))
    return masks


def _start_tables(width):
    """_new_start_tables(width), remembered: every block of keys of one width needs them."""
    tables = _START_CACHE.get(width)
    if tables is None:
        if len(_START_CACHE) > 64:
            _START_CACHE.clear()
        tables = _START_CACHE[width] = _new_start_tables(width)
    return tables


def _new_start_tables(width):
    """Byte tables for bytes.translate(): key length -> byte i of the lane's starting state.

    A key of length n is padded on the left with width - n spaces, and its lane starts from the
    state that those steps (h = h * 33 ^ 32) take to 5381, where the key begins.
    """
    starts = []
    state = 5381
    for _padding in range(width + 1):
        starts.append(state.to_bytes(_LANE, "little"))
        state = (state ^ 32) * _INVERSE_OF_33 & _MASK32
    starts.reverse()
    starts += [bytes(_LANE)] * (256 - len(starts))
    return [bytes(start[i] for start in starts) for i in range(_LANE)]


def _hash_lanes(keys, lengths):
    """The hashes of keys (at most _BLOCK) as 5-byte little-endian lanes, in order (bytes)."""
    width = max(lengths)
    if width <= _WIDE_KEY:
        return _lanes(keys, lengths, width)
    # Every lane is as wide as the longest key: the longest hundredth is hashed one by one.
    width = min(255, max(_WIDE_KEY, sorted(lengths)[len(lengths) * 99 // 100]))
    wide = [index for index, length in enumerate(lengths) if length > width]
    narrow = list(keys)
    narrow_lengths = list(lengths)
    for index in wide:
        narrow[index] = b""
        narrow_lengths[index] = 0
    lanes = bytearray(_lanes(narrow, narrow_lengths, width))
    for index in wide:
        lanes[_LANE * index:_LANE * index + _LANE] = cdb_hash(keys[index]).to_bytes(_LANE, "little")
    return bytes(lanes)


def _lanes(keys, lengths, width):
    """_hash_lanes() for keys of at most `width` (< 256) bytes."""
    count = len(keys)
    # "%Nb" pads on the left with spaces; formatting all the keys at once beats bytes.rjust().
    padded = (b"%" + str(width).encode("ascii") + b"b") * count % tuple(keys)
    lanes = bytearray(_LANE * count)
    length_bytes = bytes(lengths)
    for offset, table in enumerate(_start_tables(width)):
        lanes[offset::_LANE] = length_bytes.translate(table)
    state = int.from_bytes(lanes, "little")
    column, low32 = _masks(count)
    position = 0
    while position < width:
        # Five key bytes per lane and per conversion: int.from_bytes() is the costly step.
        take = min(_LANE, width - position) if position else (width % _LANE or _LANE)
        lanes = bytearray(_LANE * count)
        for offset in range(take):
            lanes[offset::_LANE] = padded[position + offset::width]
        chunk = int.from_bytes(lanes, "little")
        for _step in range(take):
            state = (state * 33 ^ (chunk & column)) & low32
            chunk >>= 8
        position += take
    return state.to_bytes(_LANE * count, "little")


def _all_lanes(keys, lengths):
    """The hashes of all the keys as 5-byte little-endian lanes, in order (bytes)."""
    if len(keys) <= _BLOCK:
        return _hash_lanes(keys, lengths) if keys else b""
    # Blocks keep the big integers in the CPU caches.
    return b"".join(_hash_lanes(keys[start:start + _BLOCK], lengths[start:start + _BLOCK])
                    for start in range(0, len(keys), _BLOCK))


def _words(lanes, first):
    """The 32-bit numbers made of bytes first.. of each little-endian lane, as array("I")."""
    count = len(lanes) // _LANE
    buffer = bytearray(4 * count)
    for offset in range(min(4, _LANE - first)):
        buffer[offset::4] = lanes[first + offset::_LANE]
    words = array("I")
    words.frombytes(bytes(buffer))
    if _BIG_ENDIAN:  # pragma: no cover - every platform this runs on is little-endian
        words.byteswap()
    return words


def hashes(keys):
    """The CDB hash of every key in the list, in order."""
    keys = list(keys)
    return _words(_all_lanes(keys, list(map(len, keys))), 0).tolist()


def make(keys, values):
    """Return the CDB (bytes) holding the records (keys[i], values[i]) in that order."""
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects, none of them cyclic
    try:
        return _make(keys, values)
    finally:
        if collecting:
            gc.enable()


def _records(keys, values, key_lengths):
    """The record section (bytes) and each record's position in the file (array("I"), and the end).

    Record headers are looked up, as are the records' sizes (by header): a rules file has few
    distinct values and key lengths.
    """
    distinct_values = set(values)
    longest = max(key_lengths)
    pieces = [None] * (3 * len(keys))
    if len(distinct_values) * (longest + 1) > _HEADER_TABLE_LIMIT:
        pieces[0::3] = map(_PAIR.pack, key_lengths, map(len, values))
        sizes = [8 + key_length + len(value) for key_length, value in zip(key_lengths, values)]
    else:
        by_value = dict((value, [_PAIR.pack(length, len(value)) for length in range(longest + 1)])
                        for value in distinct_values)
        size_by_header = dict((header, 8 + length + len(value))
                              for value, headers in by_value.items() for length, header in enumerate(headers))
        pieces[0::3] = map(operator.getitem, map(by_value.__getitem__, values), key_lengths)
        sizes = map(size_by_header.__getitem__, itertools.islice(pieces, 0, None, 3))
    try:
        positions = array("I", itertools.accumulate(itertools.chain((HEADER_SIZE,), sizes)))
    except OverflowError:
        raise CdbError("the database would exceed 4 GiB")
    pieces[1::3] = keys
    pieces[2::3] = values
    return b"".join(pieces), positions


def _make(keys, values):
    count = len(keys)
    if count != len(values):
        raise ValueError("keys and values differ in number")
    if not count:
        return _PAIR.pack(HEADER_SIZE, 0) * 256
    key_lengths = list(map(len, keys))
    body, positions = _records(keys, values, key_lengths)
    tables_start = positions[-1]
    if tables_start + 16 * count > _MASK32:
        raise CdbError("the database would exceed 4 GiB")
    lanes = _all_lanes(keys, key_lengths)
    sizes, bases, slots = _place(lanes[0::_LANE], _words(lanes, 1).tolist(), _entries(lanes, positions))
    header = array("I", bytes(8 * 256))
    header[0::2] = array("I", [tables_start + 8 * base for base in bases[:256]])
    header[1::2] = array("I", sizes)
    if _BIG_ENDIAN:  # pragma: no cover
        header.byteswap()
    return header.tobytes() + body + slots.tobytes()


def _entries(lanes, positions):
    """Each record's slot entry (hash, position) as one 64-bit item, moved into its slot whole."""
    count = len(positions) - 1
    if _BIG_ENDIAN:  # pragma: no cover
        positions.byteswap()
    position_bytes = positions.tobytes()
    entries = bytearray(8 * count)
    for offset in range(4):
        entries[offset::8] = lanes[offset::_LANE]
        entries[4 + offset::8] = position_bytes[offset:4 * count:4]
    return array("Q", bytes(entries))


def _place(tables, homes, entries):
    """Put each record's entry into its hash table, in insertion order, as cdb_make does.

    tables: each record's table (its hash's low byte); homes: hash >> 8. Returns the slot counts,
    the first slot of each table (and the end) and all the slots.
    """
    counts = collections.Counter(tables)
    sizes = [2 * counts[table] for table in range(256)]
    bases = list(itertools.accumulate(itertools.chain((0,), sizes)))
    slots = array("Q", bytes(8 * bases[256]))
    occupied = bytearray(bases[256] + 1)  # the last byte stays 0, so find() always succeeds
    find = occupied.find
    for table, home, entry in zip(tables, homes, entries):
        where = bases[table] + home % sizes[table]
        if occupied[where]:
            where = find(0, where)
            if where >= bases[table + 1]:
                where = find(0, bases[table])
        occupied[where] = 1
        slots[where] = entry
    return sizes, bases, slots


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
