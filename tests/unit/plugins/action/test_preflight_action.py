"""The preflight action's view of the play: which collection roles the play's `roles:` applies."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.playbook.role import Role

from ansible_collections.mailops.qmail.plugins.action.preflight import ActionModule


class _Play:
    def __init__(self, roles):
        self._roles = roles

    def get_roles(self):
        return self._roles


class _Task:
    def __init__(self, play):
        self._play = play

    def get_play(self):
        return self._play


def role(name, from_include):
    loaded = Role(from_include=from_include)
    loaded._role_name = "mailops.qmail." + name  # pylint: disable=protected-access
    return loaded


def play_roles(roles):
    action = ActionModule.__new__(ActionModule)
    action._task = _Task(_Play(roles))  # pylint: disable=protected-access
    return action._play_roles()  # pylint: disable=protected-access


def test_the_plays_roles_keep_their_order():
    assert play_roles([role("tls", False), role("smtp_auth", False), role("smtpd", False)]) == ["tls", "smtp_auth", "smtpd"]


def test_roles_that_include_role_appended_for_any_host_are_not_the_plays():
    # site.yml includes each host's services: mx1's smtpd is loaded before mx2's smtp_auth, which
    # must not read as "smtpd before smtp_auth" on either host.
    included = [role("tls", True), role("dkim", True), role("smtpd", True), role("smtp_auth", True)]
    assert play_roles(included) == []
    assert play_roles([role("send", False)] + included) == ["send"]
