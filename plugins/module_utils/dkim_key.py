# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backend of mailops.qmail.dkim_key: decide, then (unless in check mode) act, on one key file.

It uses of the module only its parameters and whether it runs in check mode, so unit tests reach
it without Ansible. The private key never leaves the host: results and diffs carry the public key
and a one-line summary.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.mailops.qmail.plugins.module_utils import dkim
from ansible_collections.mailops.qmail.plugins.module_utils._io import (
    FileWriteError, attributes_differ, read_bytes, set_attributes, write_atomic)
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


class DkimKeyError(ValueError):
    """The key cannot be brought to the wanted state; the message says why and what to do."""


def summary(facts):
    if facts is None:
        return "(no key)\n"
    key_algorithm, bits, public = facts
    size = "%d-bit " % bits if bits else ""
    return "%s%s key, public key p=%s\n" % (size, key_algorithm, public)


class DkimKey(object):
    def __init__(self, params, check_mode):
        self.domain = dkim.domain(params["domain"], "domain")
        self.selector = dkim.selector(params["selector"], "selector")
        self.algorithm = dkim.algorithm(params["algorithm"], "algorithm")
        if self.algorithm == dkim.RSA:
            self.bits = dkim.rsa_bits(params["bits"], "bits")
        else:
            self.bits = None
        key_dir = params["key_dir"]
        if not key_dir or not key_dir.startswith("/"):
            raise ValidationError("key_dir: %r is not an absolute path" % (key_dir,))
        self.path = dkim.key_file(key_dir, self.domain, self.selector)
        self.owner, self.group, self.mode = params["owner"], params["group"], params["mode"]
        self.force, self.state, self.check_mode = params["force"], params["state"], check_mode

    def _current(self):
        """(facts or None, the reason it cannot be kept or None) of the existing key."""
        pem = read_bytes(self.path)
        if pem is None:
            return None, None
        try:
            facts = dkim.key_facts(pem)
        except ValidationError as exc:
            return False, "%s is %s" % (self.path, exc)
        if facts[0] != self.algorithm or (self.bits and facts[1] != self.bits):
            return facts, "%s holds a %s, not the %s asked for" % (
                self.path, summary(facts).split(",")[0], summary((self.algorithm, self.bits, "")).split(",")[0])
        return facts, None

    def run(self):
        if self.state == "absent":
            return self._remove()
        before, mismatch = self._current()
        result = {"path": self.path, "domain": self.domain, "selector": self.selector,
                  "algorithm": self.algorithm, "bits": self.bits, "changed": False,
                  "txt_name": "%s._domainkey.%s" % (self.selector, self.domain)}
        if mismatch and not self.force:
            raise DkimKeyError("%s. The key is never replaced silently: rotate by adding a new selector, or set "
                               "force: true to replace this one (mail signed with it fails verification until "
                               "the new public key is published)" % mismatch)
        after = before or None
        if before is None or self.force:
            result["changed"] = True
            if self.check_mode:
                after = None
            else:
                pem = dkim.generate_private_key(self.algorithm, self.bits)
                write_atomic(self.path, pem, owner=self.owner, group=self.group, mode=self.mode)
                after = dkim.key_facts(pem)
        elif attributes_differ(self.path, self.owner, self.group, self.mode):
            result["changed"] = True
            if not self.check_mode:
                set_attributes(self.path, self.owner, self.group, self.mode)
        result["public_key"] = after[2] if after else None
        result["txt_value"] = dkim.txt_value(self.algorithm, after[2]) if after else None
        result["diff"] = {"before_header": self.path, "after_header": self.path,
                          "before": summary(before) if before else
                          ("(a file that is no usable key)\n" if before is False else "(no key)\n"),
                          "after": summary(after) if after else "(a new %s key)\n" % summary(
                              (self.algorithm, self.bits, "")).split(",")[0]}
        return result

    def _remove(self):
        exists = os.path.lexists(self.path)
        if exists and not self.check_mode:
            try:
                os.unlink(self.path)
            except OSError as exc:
                raise FileWriteError("cannot remove %s: %s" % (self.path, exc.strerror or exc))
        return {"path": self.path, "domain": self.domain, "selector": self.selector, "changed": exists,
                "diff": {"before_header": self.path, "after_header": self.path,
                         "before": "(a key)\n" if exists else "(no key)\n", "after": "(no key)\n"}}
