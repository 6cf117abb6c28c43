#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dkim_key
short_description: Create the DKIM private key of a domain and selector, and return its DNS record
version_added: 0.1.0
description:
  - Creates the private key C(KEY_DIR/DOMAIN/SELECTOR.private) on the host when it is missing - RSA
    (PKCS#1 PEM, 2048 bits by default) or ed25519 (PKCS#8 PEM) - with the C(cryptography) library
    (Debian python3-cryptography), written atomically (temporary file in the same directory, then rename)
    with the owner, group and mode asked for.
  - Returns the public key and the TXT record to publish at C(SELECTOR._domainkey.DOMAIN)
    (C(v=DKIM1; k=rsa|ed25519; p=...)) - base64 DER SubjectPublicKeyInfo for RSA (RFC 6376), the raw
    32-byte key for ed25519 (RFC 8463). The private key is never returned, logged or diffed.
  - An existing key is kept. One of another algorithm or size, or a file that is no usable key, fails the
    task unless O(force=true). Rotation is a new selector, not a new key under an old one.
  - The directory C(KEY_DIR/DOMAIN) must exist (in check mode it may be missing).
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: Decides every change without making it; a key it would create has no public key yet.
    support: full
  diff_mode:
    description: A one-line summary of the key before and after (algorithm, size, public key), never the key.
    support: full
  idempotent:
    description: A second run with the same options changes nothing.
    support: partial
    details:
      - O(force=true) replaces the key on every run.
options:
  domain:
    description: The signing domain (C(d=)).
    type: str
    required: true
  selector:
    description: The selector (C(s=)), one DNS label without a dot.
    type: str
    required: true
  algorithm:
    description: Signing algorithm the key is for.
    type: str
    choices: [rsa-sha256, ed25519-sha256]
    default: rsa-sha256
  bits:
    description: RSA key size, a multiple of 8 from 2048 to 4096; ignored for ed25519.
    type: int
    default: 2048
  key_dir:
    description: Directory holding one directory per domain.
    type: path
    required: true
  owner:
    description: Owner of the key file, the user that signs. Null keeps an existing file's owner (root for a new one).
    type: str
  group:
    description: Group of the key file. Null keeps an existing file's group.
    type: str
  mode:
    description: Mode of the key file, C(0600) or C(0640) (then readable by O(group)).
    type: str
    choices: ["0600", "0640", "0400", "0440"]
    default: "0600"
  force:
    description: Replace the key even when one exists (every run while set).
    type: bool
    default: false
  state:
    description: C(absent) removes the key file (a selector no longer published).
    type: str
    choices: [present, absent]
    default: present
requirements:
  - python3-cryptography on the host (O(state=present))
"""

EXAMPLES = r"""
- name: Ensure example.org has a DKIM key for selector mail2026
  mailops.qmail.dkim_key:
    domain: example.org
    selector: mail2026
    key_dir: /var/qmail/control/dkim
    owner: qmaild
  register: key

- name: Show the record to publish
  ansible.builtin.debug:
    msg: "{{ key.txt_name }} IN TXT {{ key.txt_value }}"
"""

RETURN = r"""
path:
  description: The key file.
  returned: always
  type: str
  sample: /var/qmail/control/dkim/example.org/mail2026.private
public_key:
  description: The C(p=) value; null when check mode would create the key.
  returned: state is present
  type: str
txt_name:
  description: Where the TXT record goes.
  returned: state is present
  type: str
  sample: mail2026._domainkey.example.org
txt_value:
  description: The TXT record's text; null when check mode would create the key.
  returned: state is present
  type: str
  sample: "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA..."
"""

import os

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.mailops.qmail.plugins.module_utils import dkim
from ansible_collections.mailops.qmail.plugins.module_utils._io import FileWriteError
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.module_utils.dkim_key import DkimKey, DkimKeyError
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


def main():
    module = QmailModule(
        argument_spec=dict(
            domain=dict(type="str", required=True),
            selector=dict(type="str", required=True),
            algorithm=dict(type="str", default="rsa-sha256", choices=list(dkim.ALGORITHMS)),
            bits=dict(type="int", default=dkim.DEFAULT_RSA_BITS),
            key_dir=dict(type="path", required=True),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="str", default="0600", choices=["0600", "0640", "0400", "0440"]),
            force=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    try:
        key = DkimKey(module.params, module.check_mode)
        # A check run before the role installs the library can still say a missing key would be made.
        if module.params["state"] == "present" and not dkim.HAS_CRYPTOGRAPHY and (
                not module.check_mode or os.path.lexists(key.path)):
            module.fail_json(msg=missing_required_lib("cryptography (Debian python3-cryptography)"))
        result = key.run()
    except (ValidationError, DkimKeyError, FileWriteError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        # Whatever the library raises must come out as a task failure, not a traceback.
        module.fail_json(msg="%s: %s" % (type(exc).__name__, exc))
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
