# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The old MTA's queue is read message by message, each with the envelope qmail-inject gets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import mta_queue

# Printed by Debian 12's exim4 4.96 (`exim4 -bp`), with one recipient already delivered added.
EXIM_BP = """\
 0m   314 1xYbZp-00004h-2d <sender@swaptest.example>
          victim1@remote.invalid

 0m   306 1xYbZp-00004o-2p <sender@swaptest.example>
        D alice@swaptest.example
          bob@swaptest.example

 2h   208 1xYbZp-00004w-34 <> *** frozen ***
          alice@swaptest.example
          bob@remote.invalid

"""


def test_exim_listing_gives_each_message_its_undelivered_recipients():
    assert mta_queue.parse_exim_bp(EXIM_BP) == [
        {"id": "1xYbZp-00004h-2d", "sender": "sender@swaptest.example", "recipients": ["victim1@remote.invalid"],
         "frozen": False, "held": False},
        {"id": "1xYbZp-00004o-2p", "sender": "sender@swaptest.example", "recipients": ["bob@swaptest.example"],
         "frozen": False, "held": False},
        {"id": "1xYbZp-00004w-34", "sender": "", "recipients": ["alice@swaptest.example", "bob@remote.invalid"],
         "frozen": True, "held": False},
    ]


def test_an_empty_exim_queue_has_no_messages():
    assert mta_queue.parse_exim_bp("") == []


@pytest.mark.parametrize("text", ["garbage line\n", "          orphan@recipient.example\n"])
def test_an_exim_listing_it_cannot_read_is_an_error_not_a_guess(text):
    with pytest.raises(mta_queue.QueueError, match="exim4 -bp"):
        mta_queue.parse_exim_bp(text)


def test_postfix_listing_marks_held_mail():
    text = ('{"queue_name": "deferred", "queue_id": "4AB12", "sender": "a@x.example", '
            '"recipients": [{"address": "b@y.example"}]}\n'
            '{"queue_name": "hold", "queue_id": "5CD34", "sender": "", "recipients": [{"address": "c@z.example"}]}\n')
    messages = mta_queue.parse_postqueue_json(text)
    assert [(m["id"], m["sender"], m["recipients"], m["held"]) for m in messages] == [
        ("4AB12", "a@x.example", ["b@y.example"], False), ("5CD34", "", ["c@z.example"], True)]
    with pytest.raises(mta_queue.QueueError, match="postqueue -j"):
        mta_queue.parse_postqueue_json("{not json}\n")


def test_a_bounce_keeps_its_empty_sender_as_a_word_of_its_own():
    argv = mta_queue.inject_argv("/var/qmail/bin/qmail-inject", {"sender": "", "recipients": ["-odd@x.example"]})
    assert argv == ["/var/qmail/bin/qmail-inject", "-f", "", "-a", "--", "-odd@x.example"]
    assert mta_queue.command("exim4", "remove", "1xYbZp-00004h-2d") == ["exim4", "-Mrm", "1xYbZp-00004h-2d"]
