# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CDB writer and reader: format, hashing, lookups, corruption detection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import cdb


def reference_make(keys, values):
    """cdb_make's algorithm written out record by record, as a yardstick for the fast writer."""
    records = b""
    tables = [[] for _i in range(256)]
    for key, value in zip(keys, values):
        h = cdb.cdb_hash(key)
        tables[h & 255].append((h, cdb.HEADER_SIZE + len(records)))
        records += struct.pack("<II", len(key), len(value)) + key + value
    header = b""
    slots_bytes = b""
    position = cdb.HEADER_SIZE + len(records)
    for entries in tables:
        slots = [(0, 0)] * (2 * len(entries))
        for h, where in entries:
            slot = (h >> 8) % len(slots)
            while slots[slot][1]:
                slot = (slot + 1) % len(slots)
            slots[slot] = (h, where)
        header += struct.pack("<II", position + len(slots_bytes), len(slots))
        slots_bytes += b"".join(struct.pack("<II", h, where) for h, where in slots)
    return header + records + slots_bytes


def test_hash_known_values():
    assert cdb.cdb_hash(b"") == 5381
    assert cdb.cdb_hash(b"a") == (5381 * 33) ^ 97


def test_bulk_hashes_equal_the_scalar_hash():
    rng = random.Random(1)
    keys = [bytes(rng.randint(0, 255) for _i in range(rng.choice([0, 1, 7, 12, 40])))
            for _j in range(3000)]
    assert cdb.hashes(keys) == [cdb.cdb_hash(key) for key in keys]


def test_empty_database_is_header_only():
    data = cdb.make([], [])
    assert len(data) == 2048
    assert struct.unpack("<512I", data) == tuple([2048, 0] * 256)
    assert cdb.read(data) == []


def test_round_trip_and_lookups_with_duplicates():
    keys = [b"a", b"b", b"a", b""] + [b"k%d" % i for i in range(500)]
    values = [b"1", b"2", b"3", b"empty"] + [b"v%d" % i for i in range(500)]
    data = cdb.make(keys, values)
    assert cdb.read(data) == list(zip(keys, values))
    assert cdb.get(data, b"a") == b"1"
    assert cdb.get_all(data, b"a") == [b"1", b"3"]
    assert cdb.get(data, b"") == b"empty"
    assert cdb.get(data, b"k499") == b"v499"
    assert cdb.get(data, b"missing") is None
    assert cdb.verify(data, keys, values)
    assert not cdb.verify(data, keys, values[:-1] + [b"other"])


@pytest.mark.parametrize("damage", ["truncate", "header", "record", "table", "short"])
def test_damaged_databases_fail_verification(damage):
    keys = [b"k%d" % i for i in range(50)]
    values = [b"v"] * 50
    data = bytearray(cdb.make(keys, values))
    if damage == "truncate":
        data = data[:-1]
    elif damage == "header":
        data[4] ^= 1
    elif damage == "record":
        data[2048 + 9] ^= 1
    elif damage == "table":
        data[-3] ^= 1
    else:
        data = data[:100]
    assert not cdb.verify(bytes(data), keys, values)
    if damage in ("truncate", "short"):
        with pytest.raises(cdb.CdbError):
            cdb.read(bytes(data))


def test_mismatched_lists_are_refused():
    with pytest.raises(ValueError):
        cdb.make([b"a"], [])


# Keys are drawn from a small alphabet with shared prefixes so that hashes collide and probe runs
# wrap around a table's end; lengths reach past the 64 bytes that share the hashing lanes.
KEYS = st.one_of(
    st.binary(max_size=20),
    st.builds(lambda prefix, tail: prefix + tail, st.sampled_from([b"10.0.", b"=host", b"", b"\x00"]),
              st.binary(max_size=4)),
    st.binary(min_size=60, max_size=300))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEYS, st.sampled_from([b"", b"D\x00", b"+A=x\x00", b"v" * 300])), max_size=120))
def test_fast_writer_matches_the_reference_writer(records):
    keys = [key for key, _value in records]
    values = [value for _key, value in records]
    data = cdb.make(keys, values)
    assert data == reference_make(keys, values)
    assert cdb.read(data) == records
    assert cdb.hashes(keys) == [cdb.cdb_hash(key) for key in keys]
    for key, value in records[:5]:
        assert cdb.get(data, key) == dict(reversed(records))[key]


def test_large_database_spans_hash_blocks_and_keeps_duplicates_in_front():
    rng = random.Random(7)
    keys = [b"10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(20000)]
    keys += [bytes(rng.randint(0, 255) for _i in range(rng.randint(0, 300))) for _j in range(300)]
    keys += keys[:50]
    values = [b"v%d" % i for i in range(len(keys))]
    data = cdb.make(keys, values)
    assert data == reference_make(keys, values)
    assert cdb.get_all(data, keys[0]) == [b"v0", b"v%d" % (len(keys) - 50)]


def test_hashes_of_long_and_empty_keys():
    keys = [b"", b"x" * 65, b"y" * 255, b"z" * 256, b"a" * 1000] + [b"k"] * 200
    assert cdb.hashes(keys) == [cdb.cdb_hash(key) for key in keys]
