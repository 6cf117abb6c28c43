# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CDB writer and reader: format, hashing, lookups, corruption detection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import struct

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import cdb


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
