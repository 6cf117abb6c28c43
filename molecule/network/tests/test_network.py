"""The network scenario: mx takes mail, relays only for loopback and authenticated users, serves
POP3; client relays everything through mx's submission port with credentials in smtproutes."""
import json
import os
import re
import shlex
import time

import pytest

from conftest import converge_recap, failed_run_output, platform, python_in, requires_qmail, run_playbook, sh

CONTROL = "/var/qmail/control"
FLAVOUR = os.environ.get("MAILOPS_QMAIL_FLAVOUR") or "sagredo"


mx = platform("mx")
client = platform("client")


# --- nothing else takes the MTA's place ----------------------------------------------------------

@pytest.mark.parametrize("name", ["mx", "client"])
def test_no_other_mta_was_pulled_in(hosts, name):
    # A dependency's Recommends (cron -> exim4) once brought an MTA that took 127.0.0.1:25.
    installed = hosts[name].run("dpkg-query -W -f='${Package} ${Status}\\n' 'exim4*' postfix nullmailer ssmtp")
    assert "install ok installed" not in installed.stdout, installed.stdout


# --- files, modes, owners -------------------------------------------------------------------------

@pytest.mark.parametrize("path, owner, group, mode", [
    (CONTROL + "/servercert.pem", "root", "nofiles", 0o640),
    (CONTROL + "/clientcert.pem", "root", "qmail", 0o640),
    ("/etc/ssl/qmail/server.key", "root", "root", 0o600),
    ("/etc/qmail-smtp-auth.passwd", "qmaild", "root", 0o600),
    (CONTROL + "/conf-common", "root", "root", 0o644),
    (CONTROL + "/conf-smtpd", "root", "root", 0o644),
])
def test_mx_file_modes(mx, path, owner, group, mode):
    f = mx.file(path)
    assert (f.exists, f.user, f.group, f.mode) == (True, owner, group, mode)


def test_secret_directory_and_spool_modes(mx):
    assert mx.file("/etc/ssl/qmail").mode == 0o700
    assert mx.file("/var/spool/relay-ctrl").mode == 0o711
    # relay-ctrl-allow runs as the logged-in user: it may add entries but not list or remove others'.
    assert mx.file("/var/spool/relay-ctrl/allow").mode == 0o1733
    assert mx.file("/etc/relay-ctrl/RELAY_CTRL_DIR").content_string == "/var/spool/relay-ctrl/allow\n"
    assert mx.file("/etc/relay-ctrl/RELAY_CTRL_EXPIRY").content_string == "1800\n"


def test_conf_files_give_the_run_script_what_appendix_b1_names(mx):
    out = sh(mx, "cd %s && sh -c '. ./conf-common; . ./conf-smtpd; "
                 "echo \"$MAXCONN|$QMAILDUID|$NOFILESGID|$TCPSERVER_PORT|$TCPSERVER_RULES|$QMAIL_SMTP_POST|$SMTPAUTH|$FORCETLS\"'"
             % CONTROL)
    uid, gid = sh(mx, "id -u qmaild").strip(), sh(mx, "id -g qmaild").strip()
    assert out.strip() == "40|%s|%s|25|/etc/tcp.smtp.cdb|/usr/bin/cvm-checkpassword /usr/bin/cvm-pwfile /bin/true||1" % (uid, gid)
    assert mx.file(CONTROL + "/concurrencyincoming").content_string == "40\n"


def test_tcpserver_names_the_host_as_control_me(mx):
    # TCPLOCALHOST is what qmail-smtpd writes after "by" in its Received line.
    opts = sh(mx, "cd %s && sh -c '. ./conf-common; echo $TCPSERVER_OPTS'" % CONTROL).split()
    assert opts[opts.index("-l") + 1] == "mx.example.test"


def test_submission_requires_auth(mx):
    out = sh(mx, "cd %s && sh -c '. ./conf-common; . ./conf-smtpd-submission; echo \"$TCPSERVER_PORT|$SMTPAUTH\"'" % CONTROL)
    assert out.strip() == "587|!"


def test_pop3_conf_uses_cvm_unix(mx):
    out = sh(mx, "cd %s && sh -c '. ./conf-common; . ./conf-pop3d; echo \"$QMAIL_POP3_CHECKPASSWORD|$QMAIL_POP3_POP3HOST|$QMAIL_POP3_MAILDIR\"'"
             % CONTROL)
    assert out.strip() == "/usr/bin/cvm-checkpassword /usr/bin/cvm-unix|mx.example.test|./Maildir/"


def test_pop3s_runs_stunnel_with_the_pop3_chain(mx):
    out = sh(mx, "cd %s && sh -c '. ./conf-common; . ./conf-pop3ds; echo \"$TCPSERVER_PORT|$TCPSERVER_RULES|$QMAILDUID\"'"
             % CONTROL)
    assert out.strip() == "995|/etc/tcp.pop3.cdb|0"
    assert "/usr/bin/stunnel4 %s/stunnel-pop3ds.conf" % CONTROL in mx.file("/var/qmail/supervise/qmail-pop3ds/run").content_string
    settings = dict(line.split(" = ", 1) for line in mx.file(CONTROL + "/stunnel-pop3ds.conf").content_string.splitlines()
                    if " = " in line and not line.startswith(";"))
    assert settings["cert"] == CONTROL + "/servercert.pem"
    assert settings["execArgs"].split()[:3] == ["/var/qmail/bin/qmail-popup", "mx.example.test", "/usr/bin/cvm-checkpassword"]


def test_stunnel_completes_a_tls_handshake_with_the_servercert(mx):
    """Without qmail: stunnel gets a socket as tcpserver would hand it over; the TLS handshake
    proves its settings and the certificate work, whatever the program behind it does."""
    out = python_in(mx, """
import socket, ssl, subprocess
ours, theirs = socket.socketpair()
proc = subprocess.Popen(["/usr/bin/stunnel4", "%s/stunnel-pop3ds.conf"], stdin=theirs, stdout=theirs,
                        stderr=subprocess.DEVNULL)
theirs.close()
ours.settimeout(20)
tls = ssl._create_unverified_context().wrap_socket(ours, server_hostname="mx.example.test")
print(tls.version(), tls.getpeercert(binary_form=True) is not None)
tls.close()
proc.wait(timeout=20)
""" % CONTROL)
    assert out in ("TLSv1.3 True", "TLSv1.2 True")


def test_pop3_password_checker_starts_as_root_while_smtpd_does_not(mx):
    # cvm-unix reads /etc/shadow and checkpassword programs setuid to the user: they need root.
    pop3 = sh(mx, "cd %s && sh -c '. ./conf-common; . ./conf-pop3d; echo $QMAILDUID:$NOFILESGID'" % CONTROL)
    smtp = sh(mx, "cd %s && sh -c '. ./conf-common; . ./conf-smtpd; echo $QMAILDUID'" % CONTROL)
    assert pop3.strip() == "0:0"
    assert smtp.strip() == sh(mx, "id -u qmaild").strip() != "0"


def test_control_files_of_smtpd(mx):
    assert mx.file(CONTROL + "/databytes").content_string == "10485760\n"
    assert mx.file(CONTROL + "/badmailfrom").content_string == "spammer@example.invalid\n"


# --- access rules, read back with the real tcprulescheck -----------------------------------------

@pytest.mark.parametrize("cdb, ip, relay", [
    ("/etc/tcp.smtp.cdb", "127.0.0.1", True),
    ("/etc/tcp.smtp.cdb", "10.89.0.7", False),
    ("/etc/tcp.smtp.cdb", "192.0.2.1", False),
    ("/etc/tcp.submission.cdb", "127.0.0.1", True),
    ("/etc/tcp.submission.cdb", "10.89.0.7", False),
])
def test_only_loopback_relays_without_auth(mx, cdb, ip, relay):
    out = sh(mx, "TCPREMOTEIP=%s tcprulescheck %s" % (ip, cdb))
    assert "allow connection" in out
    assert ("RELAYCLIENT=" in out) is relay


def test_pop3_rules_let_everyone_connect(mx):
    assert "allow connection" in sh(mx, "TCPREMOTEIP=192.0.2.1 tcprulescheck /etc/tcp.pop3.cdb")


# --- certificate ---------------------------------------------------------------------------------

def test_servercert_is_a_valid_key_and_certificate_pair(mx):
    pem = CONTROL + "/servercert.pem"
    sh(mx, "openssl x509 -in %s -noout -checkend %d" % (pem, 30 * 86400))
    subject = sh(mx, "openssl x509 -in %s -noout -subject" % pem)
    assert "CN = mx.example.test" in subject and "O = mailops.qmail network scenario" in subject
    assert "Private-Key: (2048 bit" in sh(mx, "openssl pkey -in %s -noout -text" % pem)
    cert_key = sh(mx, "openssl x509 -in %s -noout -pubkey" % pem)
    key_pub = sh(mx, "openssl pkey -in %s -pubout" % pem)
    assert cert_key == key_pub
    assert mx.file(CONTROL + "/clientcert.pem").content == mx.file(pem).content


# --- SMTP AUTH backend, exercised as qmail-smtpd's user ------------------------------------------

# cvm-checkpassword exits 100 for rejected credentials; qmail-smtpd answers 535 to any failure.
@pytest.mark.parametrize("user, password, rc", [
    ("client@example.test", "client-auth-secret", 0),
    ("client@example.test", "wrong", 100),
    ("nobody@example.test", "client-auth-secret", 100),
])
def test_cvm_pwfile_checks_passwords_as_qmaild(mx, user, password, rc):
    command = ("printf '%s\\0%s\\0\\0' | su -s /bin/sh qmaild -c "
               "'. %s/conf-smtpd; exec /usr/bin/cvm-checkpassword /usr/bin/cvm-pwfile /bin/true 3<&0'"
               % (user, password, CONTROL))
    assert mx.run(command).rc == rc


def test_passwords_are_stored_hashed(mx):
    content = mx.file("/etc/qmail-smtp-auth.passwd").content_string
    assert "client-auth-secret" not in content and "$6$" in content


# --- services ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["qmail-smtpd", "qmail-smtpd-submission", "qmail-pop3d", "qmail-pop3ds"]
                         + (["qmail-smtpsd"] if FLAVOUR == "sagredo" else []))
def test_services_are_declared(mx, name):
    service = "/var/qmail/supervise/" + name
    assert mx.file("/etc/service/" + name).linked_to == service
    run = mx.file(service + "/run")
    assert run.mode & 0o755 == 0o755
    sh(mx, "sh -n " + service + "/run")
    assert mx.file(service + "/log/run").exists
    # Without qmail the services stay down; with it they run.
    assert mx.file(service + "/down").exists is (not os.environ.get("MAILOPS_QMAIL_IMAGE"))


@pytest.mark.parametrize("name, port", [("qmail-qmtpd", "209"), ("qmail-qmqpd", "628")])
def test_qmtp_and_qmqp_services(mx, name, port):
    conf = "conf-" + name.replace("qmail-", "")
    assert mx.file("/etc/service/" + name).linked_to == "/var/qmail/supervise/" + name
    assert sh(mx, "cd %s && sh -c '. ./conf-common; . ./%s; echo $TCPSERVER_PORT'" % (CONTROL, conf)).strip() == port
    assert "/var/qmail/bin/%s" % name in mx.file("/var/qmail/supervise/%s/run" % name).content_string


def test_qmailctl_cdb_rebuilds_every_services_rules_byte_for_byte(mx):
    # qmailctl cdb runs the real tcprules; the tcprules module wrote the same bytes before.
    cdbs = "/etc/tcp.smtp.cdb /etc/tcp.submission.cdb /etc/tcp.pop3.cdb /etc/tcp.qmtp.cdb /etc/tcp.qmqp.cdb"
    before = sh(mx, "md5sum " + cdbs)
    out = sh(mx, "/var/qmail/bin/qmailctl cdb")
    assert sorted(out.split()) == sorted(["Reloaded", "Reloaded", "Reloaded", "Reloaded", "Reloaded",
                                          "/etc/tcp.smtp.", "/etc/tcp.submission.", "/etc/tcp.pop3.",
                                          "/etc/tcp.qmtp.", "/etc/tcp.qmqp."])
    assert sh(mx, "md5sum " + cdbs) == before


@pytest.mark.parametrize("ip, allowed", [("127.0.0.1", True), ("10.89.0.7", False)])
def test_qmqp_accepts_only_its_listed_clients(mx, ip, allowed):
    out = sh(mx, "TCPREMOTEIP=%s tcprulescheck /etc/tcp.qmqp.cdb" % ip)
    assert ("allow connection" in out) is allowed and ("deny connection" in out) is (not allowed)


def test_client_route_carries_credentials_in_sagredo_syntax(client):
    routes = client.file(CONTROL + "/smtproutes")
    assert (routes.user, routes.group, routes.mode) == ("root", "qmail", 0o640)
    assert routes.content_string == ":mx:587|client@example.test|client-auth-secret\n"


# --- refusal, idempotence, check mode ------------------------------------------------------------

def refused_converge(tags, extra):
    """Converge mx with the extra vars, which must fail; returns the output on one line."""
    return failed_run_output("converge.yml", "--limit", "mx", "--tags", tags, "-e", extra)


# Every file the collection manages on mx: a refused run must leave each byte-identical.
MANAGED = ("find /var/qmail/control /var/qmail/alias /var/qmail/rc /var/qmail/supervise /etc/tcp.* "
           "/etc/qmail-smtp-auth.passwd -xtype f -print0 | sort -z | xargs -0 sha256sum")


# The preflight reports every refusal of a run at once, so two runs cover them all (each setting's
# own message is checked); each stops at site.yml's preflight, a few seconds in.
REFUSED = [
    ({"smtpd_relay_clients": [""], "smtpd_tcprules_rules": [{"match": "=.net", "env": {"RELAYCLIENT": ""}}],
      "smtpd_env": {"RELAYCLIENT": ""}, "send_control_files": {"rcpthosts": None},
      "send_admin_address": "admin@example.test\n|/bin/touch /tmp/owned", "pop3d_port": 25, "smtp_auth_accounts": []},
     ["sets RELAYCLIENT for all addresses", "'=.net'", "RELAYCLIENT is exported", "rcpthosts is null",
      "send_admin_address", "pop3d_port: port 25 is already smtpd_port", "smtp_auth_accounts is empty"]),
    ({"smtp_auth_backend": "program", "smtp_auth_program": ["/bin/true"], "send_control_files": {"rcpthosts": []}},
     ["accepts every password", "rcpthosts is empty"]),
]


@pytest.mark.parametrize("extra, reasons, mode", [
    (REFUSED[0][0], REFUSED[0][1], []),
    (REFUSED[0][0], REFUSED[0][1], ["--check", "--diff"]),
    (REFUSED[1][0], REFUSED[1][1], []),
], ids=["run", "check", "run-2"])
def test_refused_settings_leave_every_managed_file_as_it_was(mx, extra, reasons, mode):
    before = sh(mx, MANAGED)
    output = failed_run_output("converge.yml", "--limit", "mx", "-e", json.dumps(extra), *mode)
    assert "Refusing these settings; nothing was written" in output, output[-3000:]
    for reason in reasons:
        assert reason in output, (reason, output[-3000:])
    assert sh(mx, MANAGED) == before
    assert not mx.file("/tmp/owned").exists


@pytest.mark.parametrize("tags, extra, message", [
    ("smtpd", '{"smtpd_submission_port": 25}', "smtpd_submission_port: port 25 is already smtpd_port"),
    ("smtpd", '{"smtpd_smtps_port": 587}', "smtpd_smtps_port: port 587 is already smtpd_submission_port"),
    ("pop3d", '{"pop3d_tls_port": 0}', "pop3d_tls_port: 0 is not a port number from 1 to 65535"),
    ("qmtpd", '{"qmtpd_qmqp_port": 70000}', "qmtpd_qmqp_port: 70000 is not a port number from 1 to 65535"),
])
def test_bad_ports_are_refused_by_name_and_nothing_changes(mx, tags, extra, message):
    before = sh(mx, MANAGED)
    assert message in refused_converge(tags, extra)
    assert sh(mx, MANAGED) == before


# The two roles that consume other roles' facts; each run takes half a minute.
@pytest.mark.parametrize("tags", ["smtpd", "pop3d"])
def test_one_role_by_tag_changes_nothing_after_a_full_converge(tags):
    # The facts other roles publish (AUTH settings, relay-ctrl hooks, qmail's presence) must be
    # there under --tags too, or conf-smtpd and conf-pop3d would be rewritten without them.
    recap = converge_recap("--limit", "mx", "--tags", tags, "-e", "mailops_qmail_fast_rerun=false")[0]
    assert recap["mx"]["changed"] == 0, recap


def test_check_mode_reports_no_changes():
    recap = converge_recap("--check", "--diff")[0]
    assert all(counts["changed"] == 0 for counts in recap.values()), recap


# --- the fast path: a rerun that has nothing to do ends after one check ----------------------------

FAST = ("-e", "mailops_qmail_fast_rerun=true")


def test_a_rerun_with_nothing_to_do_ends_after_the_check():
    # Only the tasks tagged always, verbosely: each host's check says why it is not converged.
    check = run_playbook("converge.yml", "--tags", "always", "-v", *FAST)
    assert check.returncode == 0, check.stdout[-3000:]
    assert check.stdout.count("converged: true") == 2, check.stdout[-5000:]
    recap, output = converge_recap(*FAST)
    for name, counts in recap.items():
        assert counts["changed"] == 0, (name, counts)
        # issue #13: at most 40 task results for the idempotent rerun of the whole site
        assert counts["ok"] + counts["skipped"] <= 40, (name, counts)
    assert "TASK [mailops.qmail.send" not in output


def test_the_fast_path_sees_a_changed_managed_file_and_names_it(mx):
    path = CONTROL + "/badmailfrom"
    sh(mx, "cp -p %s /root/badmailfrom.kept && echo tampered@example.invalid >> %s" % (path, path))
    try:
        result = run_playbook("converge.yml", "--limit", "mx", "--tags", "always", "-v", *FAST)
        assert result.returncode == 0, result.stdout[-3000:]
        assert "converged: false" in result.stdout and path + " changed" in result.stdout, result.stdout[-3000:]
    finally:
        sh(mx, "cp -p /root/badmailfrom.kept %s && rm /root/badmailfrom.kept" % path)
    # put back byte for byte, with its mode and owner: the host is as recorded again
    recap = converge_recap("--limit", "mx", *FAST)[0]
    assert recap["mx"]["changed"] == 0 and recap["mx"]["ok"] + recap["mx"]["skipped"] <= 40, recap


def test_a_run_limited_by_tags_or_in_check_mode_records_nothing(mx):
    record = "/var/lib/mailops-qmail/converged.json"
    assert mx.file(record).mode == 0o600 and mx.file(record).user == "root"
    before = sh(mx, "sha256sum " + record)
    converge_recap("--limit", "mx", "--tags", "always", "-e", '{"smtpd_databytes": 20000000}')
    converge_recap("--limit", "mx", "--check", "--tags", "always", "-e", '{"smtpd_databytes": 20000000}')
    assert sh(mx, "sha256sum " + record) == before


# --- end to end, with qmail ----------------------------------------------------------------------

SMTP = """
import smtplib, ssl
def session(port, tls=False, user=None, password=None):
    s = smtplib.SMTP("mx", port, timeout=30)
    s.ehlo("client.example.test")
    if tls:
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo("client.example.test")
    if user:
        try:
            s.login(user, password)
        except smtplib.SMTPAuthenticationError as exc:
            return s, exc.smtp_code
    return s, 235 if user else 0
def rcpt(s, to):
    s.mail("someone@client.example.test")
    return s.rcpt(to)[0]
"""


@requires_qmail
def test_mail_from_outside_is_delivered_and_fetched_by_pop3(mx, client):
    python_in(client, SMTP + """
s, _ = session(25)
s.sendmail("someone@client.example.test", ["alice@mx.example.test"], "Subject: e2e-direct\\n\\nhello\\n")
s.quit()
""")
    out = ""
    for _attempt in range(30):
        out = python_in(client, """
import poplib
p = poplib.POP3("mx", 110, timeout=30)
p.user("alice"); p.pass_("alice-pop-secret")
count = len(p.list()[1])
found = any(b"e2e-direct" in b"\\n".join(p.retr(i + 1)[1]) for i in range(count))
p.quit()
print(found)
""")
        if out == "True":
            break
        time.sleep(1)
    assert out == "True"


def forget_pop3_logins(mx):
    """A POP3 login from client lets it relay for a while (POP-before-SMTP): start from none."""
    sh(mx, "find /var/spool/relay-ctrl/allow -type f -delete")


@requires_qmail
def test_pop3s_fetches_mail_over_tls(client):
    out = python_in(client, """
import poplib, ssl
p = poplib.POP3_SSL("mx", 995, context=ssl._create_unverified_context(), timeout=30)
p.user("alice"); p.pass_("alice-pop-secret")
count = len(p.list()[1])
found = any(b"e2e-direct" in b"\\n".join(p.retr(i + 1)[1]) for i in range(count))
p.quit()
print(found)
""")
    assert out == "True"


def fetchmail(client, port, password):
    """fetchmail (USER/PASS: qmail-popup's greeting also offers APOP) fetching alice's mail, kept on mx."""
    # qmail-popup offers no STLS: fetchmail must not insist on it on the plain port.
    ssl = "ssl no sslcertck" if port == 995 else "sslproto ''"
    rc = "poll mx protocol pop3 service %d auth password user alice password %s %s" % (port, password, ssl)
    client.run("rm -f /root/fetched /root/fetchmailrc")
    sh(client, "umask 077 && printf '%%s\\n' %s > /root/fetchmailrc" % shlex.quote(rc))
    return client.run("fetchmail --fetchmailrc /root/fetchmailrc --idfile /root/fetchids --nosyslog --all --keep "
                      "--mda 'tee -a /root/fetched' mx")


@requires_qmail
@pytest.mark.parametrize("port", [110, 995])
def test_fetchmail_retrieves_the_delivered_mail_over_pop3_and_pop3s(client, port):
    out = fetchmail(client, port, "alice-pop-secret")
    assert out.rc == 0, out.stdout + out.stderr
    assert "e2e-direct" in client.file("/root/fetched").content_string


@requires_qmail
def test_fetchmail_with_a_wrong_password_is_refused(client):
    out = fetchmail(client, 110, "wrong-password")
    # fetchmail's exit status 3: the server refused the login.
    assert out.rc == 3, out.stdout + out.stderr
    assert not client.file("/root/fetched").exists


def swaks(client, *args):
    return client.run("swaks --server mx --helo client.example.test --from probe@client.example.test "
                      "--quit-after RCPT " + " ".join(args))


@requires_qmail
def test_swaks_starttls_on_port_25(mx, client):
    forget_pop3_logins(mx)
    out = swaks(client, "--port 25 --tls --to alice@mx.example.test")
    assert out.rc == 0, out.stdout + out.stderr
    assert "<-  220" in out.stdout and "=== TLS started with cipher" in out.stdout, out.stdout


@requires_qmail
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("password, relayed", [("client-auth-secret", True), ("wrong-password", False)])
def test_swaks_auth_on_submission_decides_relaying(mx, client, mechanism, password, relayed):
    forget_pop3_logins(mx)
    out = swaks(client, "--port 587 --tls --auth", mechanism, "--auth-user client@example.test",
                "--auth-password", password, "--to someone@elsewhere.example")
    # swaks marks what it reads inside TLS with ~ and a refusal with *.
    if relayed:
        assert out.rc == 0 and re.search(r"^<~  235 ", out.stdout, re.M), out.stdout + out.stderr
        assert re.search(r"RCPT TO:<someone@elsewhere.example>\n<~  250 ", out.stdout), out.stdout
    else:
        assert out.rc != 0 and re.search(r"^<~\* 535 ", out.stdout, re.M), out.stdout + out.stderr
        assert "RCPT TO" not in out.stdout, out.stdout


@requires_qmail
def test_swaks_finds_no_auth_before_starttls_and_no_cram_md5_with_hashed_passwords(mx, client):
    forget_pop3_logins(mx)
    # smtp_auth_force_tls: no AUTH offered in the clear.
    clear = swaks(client, "--port 587 --auth PLAIN --auth-user client@example.test",
                  "--auth-password client-auth-secret --to someone@elsewhere.example")
    assert clear.rc != 0 and not re.search(r"<-  250[- ]AUTH", clear.stdout), clear.stdout
    # CRAM-MD5 needs clear-text passwords on the server (cmd5checkpw); this scenario stores hashes.
    cram = swaks(client, "--port 587 --tls --auth CRAM-MD5 --auth-user client@example.test",
                 "--auth-password client-auth-secret --to someone@elsewhere.example")
    assert cram.rc != 0 and "-> AUTH" not in cram.stdout, cram.stdout


@requires_qmail
def test_relaying_without_auth_is_refused(mx, client):
    forget_pop3_logins(mx)
    assert python_in(client, SMTP + "s, _ = session(25)\nprint(rcpt(s, 'victim@elsewhere.example'))") == "553"


# --- what outside testers see: relay tricks and unknown recipients ----------------------------------

sagredo_only = pytest.mark.skipif(FLAVOUR != "sagredo", reason="rejectrelaytest and validrcptto are sagredo's")


@sagredo_only
def test_smtpd_control_files_refuse_relay_tricks_and_unknown_recipients(mx):
    assert mx.file(CONTROL + "/rejectrelaytest").content_string == "1\n"
    assert mx.file(CONTROL + "/localiphost").content_string == "localiphost.invalid\n"
    lines = mx.file(CONTROL + "/validrcptto").content_string.splitlines()
    for address in ("alice@mx.example.test", "postmaster@mx.example.test", "root@mx.example.test", "-@mx.example.test"):
        assert address in lines, lines
    assert not [line for line in lines if line.startswith("nosuchuser")]


def rcpt_codes(mx, client, addresses):
    forget_pop3_logins(mx)
    return python_in(client, SMTP + """
import socket
ip = socket.gethostbyname("mx")
s, _ = session(25)
codes = []
for to in %r:
    s.rset()
    codes.append(str(rcpt(s, to.replace("MXIP", ip))))
print(" ".join(codes))
""" % (list(addresses),)).split()


@requires_qmail
@sagredo_only
def test_relay_tricks_and_unknown_users_get_5xx_while_real_users_get_250(mx, client):
    cases = {
        "alice@mx.example.test": "250", '"alice"@mx.example.test': "250", "postmaster@mx.example.test": "250",
        "ALICE@MX.example.test": "250",
        "nosuchuser@mx.example.test": "553",
        "victim%outside.invalid@mx.example.test": "553", "outside.invalid!victim@mx.example.test": "553",
        "victim@outside.invalid@mx.example.test": "553", '"victim@outside.invalid"@mx.example.test': "553",
        "victim@[MXIP]": "553",
    }
    assert dict(zip(cases, rcpt_codes(mx, client, cases))) == cases


@requires_qmail
@sagredo_only
def test_swaks_to_an_unknown_user_is_refused_at_rcpt(mx, client):
    forget_pop3_logins(mx)
    out = client.run("swaks --server mx --port 25 --helo client.example.test --from probe@client.example.test "
                     "--to nosuchuser@mx.example.test --quit-after RCPT")
    assert out.rc != 0 and "<** 553" in out.stdout, out.stdout
    ok = client.run("swaks --server mx --port 25 --helo client.example.test --from probe@client.example.test "
                    "--to alice@mx.example.test --quit-after RCPT")
    assert ok.rc == 0 and "<-  250" in ok.stdout, ok.stdout


@requires_qmail
def test_nmap_smtp_open_relay_finds_no_open_relay(mx, client):
    forget_pop3_logins(mx)
    out = sh(client, "nmap -sT -Pn -p 25 --script +smtp-open-relay --script-args "
                     "smtp-open-relay.domain=outside.invalid,smtp-open-relay.to=victim,smtp-open-relay.from=probe mx")
    assert "smtp-open-relay" in out, out
    assert "is an open relay" not in out and "doesn't seem to be an open relay" in out, out


@requires_qmail
def test_starttls_is_offered_and_works(client):
    out = python_in(client, SMTP + """
s, _ = session(25)
print(s.has_extn("starttls"), s.starttls(context=ssl._create_unverified_context())[0])
""")
    assert out == "True 220"


@requires_qmail
@pytest.mark.parametrize("password, auth_code, rcpt_code", [
    ("client-auth-secret", 235, 250),
    ("wrong-password", 535, None),
])
def test_auth_decides_relaying(mx, client, password, auth_code, rcpt_code):
    forget_pop3_logins(mx)
    out = python_in(client, SMTP + """
s, code = session(587, tls=True, user="client@example.test", password=%r)
print(code, rcpt(s, "someone@elsewhere.example") if code == 235 else None)
""" % password)
    assert out == "%s %s" % (auth_code, rcpt_code)


@requires_qmail
def test_client_mail_reaches_mx_through_the_authenticated_route(mx, client):
    sh(client, "printf 'To: alice@mx.example.test\\nSubject: e2e-routed\\n\\nvia smarthost\\n' | /var/qmail/bin/qmail-inject")
    for _attempt in range(60):
        if mx.run("grep -rl e2e-routed /home/alice/Maildir/new /home/alice/Maildir/cur").rc == 0:
            return
        time.sleep(1)
    pytest.fail("the routed message did not reach alice's Maildir on mx")


@requires_qmail
def test_pop_before_smtp_grants_relaying(mx, client):
    bin_dir = os.environ.get("MAILOPS_RELAY_CTRL_BIN_DIR") or "/usr/bin"
    if not mx.file(bin_dir + "/relay-ctrl-check").exists:
        pytest.skip("relay-ctrl is not in %s of this image (not packaged in Debian 12; "
                    "MAILOPS_RELAY_CTRL_BIN_DIR names another directory)" % bin_dir)
    forget_pop3_logins(mx)
    out = python_in(client, SMTP + """
import poplib
def relay_after_pop3(password):
    if password:
        p = poplib.POP3("mx", 110, timeout=30)
        p.user("alice")
        try:
            p.pass_(password)
            p.quit()
        except poplib.error_proto:
            p.close()  # qmail-popup hangs up after a failed login
    s, _ = session(25)
    return rcpt(s, "someone@elsewhere.example")
print(relay_after_pop3(None), relay_after_pop3("wrong-password"), relay_after_pop3("alice-pop-secret"))
""")
    forget_pop3_logins(mx)
    # No login, a failed login, a good one: only the last may relay.
    assert out == "553 553 250"


# --- IMAP (Dovecot) over the Maildirs qmail delivers to --------------------------------------------

IMAP = """
import imaplib, ssl
ctx = ssl.create_default_context(cadata=%r)
ctx.check_hostname = False  # the certificate names mx.example.test; the tests reach it as mx
m = imaplib.IMAP4_SSL("mx", 993, ssl_context=ctx, timeout=30)
try:
    m.login(%r, %r)
except imaplib.IMAP4.error as exc:
    print("refused", exc)
    raise SystemExit(0)
"""


def imap(mx, client, user, password, script=""):
    """Run script with `m` logged in over IMAPS, the server's certificate verified against tls's own."""
    certificate = mx.file("/var/qmail/control/servercert.pem").content_string
    certificate = certificate[certificate.index("-----BEGIN CERTIFICATE-----"):]
    return python_in(client, IMAP % (certificate, user, password) + script)


def drop_into_maildir(mx, subject):
    """A message put where qmail-local puts one (the test's fixture when there is no qmail)."""
    name = "%d.mailops%d.mx" % (time.time(), os.getpid())
    sh(mx, "printf 'From: probe@client.example.test\\nSubject: %s\\n\\nover imap\\n' > /home/alice/Maildir/tmp/%s"
       " && chown alice: /home/alice/Maildir/tmp/%s && mv /home/alice/Maildir/tmp/%s /home/alice/Maildir/new/"
       % (subject, name, name, name))


FIND = """
m.select("INBOX", readonly=True)
found = m.search(None, "SUBJECT", %r)[1][0].split()
print(b"over imap" in m.fetch(found[-1], "(RFC822)")[1][0][1] if found else "not found")
m.logout()
"""


def test_imap_lists_and_reads_a_message_in_the_maildir(mx, client):
    drop_into_maildir(mx, "imap-fixture")
    assert imap(mx, client, "alice", "alice-pop-secret", FIND % "imap-fixture") == "True"


def test_imap_refuses_a_wrong_password(mx, client):
    assert imap(mx, client, "alice", "wrong-password").startswith("refused")


def test_imap_offers_login_only_after_starttls(client):
    out = python_in(client, """
import imaplib, ssl
m = imaplib.IMAP4("mx", 143, timeout=30)
before = sorted(m.capabilities)
m.starttls(ssl_context=ssl._create_unverified_context())
after = sorted(m.capabilities)
m.login("alice", "alice-pop-secret")
print("LOGINDISABLED" in before, "STARTTLS" in before, "LOGINDISABLED" in after)
m.logout()
""")
    assert out == "True True False"


@requires_qmail
def test_mail_delivered_by_qmail_is_read_over_imap(mx, client):
    python_in(client, SMTP + """
s, _ = session(25)
s.sendmail("someone@client.example.test", ["alice@mx.example.test"], "Subject: e2e-imap\\n\\nover imap\\n")
s.quit()
""")
    out = ""
    for _attempt in range(30):
        out = imap(mx, client, "alice", "alice-pop-secret", FIND % "e2e-imap")
        if out == "True":
            break
        time.sleep(1)
    assert out == "True"


# --- content filter (spamd, clamd) and DKIM signing through QMAILQUEUE -----------------------------

FILTER = "/usr/local/lib/mailops-qmail/qmail-filter-queue"
SIGNER = "/usr/local/lib/mailops-qmail/qmail-dkim-queue"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_spamd_and_clamd_listen_only_where_the_filter_asks(mx):
    assert mx.socket("tcp://127.0.0.1:783").is_listening
    assert not mx.socket("tcp://0.0.0.0:783").is_listening
    assert mx.file("/run/clamav/clamd.ctl").is_socket


def test_the_filter_configuration_is_for_qmail_smtpd_only_and_valid(mx):
    config = mx.file("/etc/mailops-qmail/qmail-filter.json")
    assert (config.user, config.group, config.mode) == ("root", "nofiles", 0o640)
    assert json.loads(config.content_string)["spam_action"] == "reject"
    sh(mx, "python3 -I /usr/local/lib/mailops-qmail/qmail-filter --check /etc/mailops-qmail/qmail-filter.json")


def test_every_smtp_message_goes_through_the_filter_and_only_relayed_mail_to_the_signer(mx):
    assert "export QMAILQUEUE='%s'" % FILTER in mx.file(CONTROL + "/conf-smtpd").content_string
    outside = sh(mx, "TCPREMOTEIP=192.0.2.1 tcprulescheck /etc/tcp.smtp.cdb")
    loopback = sh(mx, "TCPREMOTEIP=127.0.0.1 tcprulescheck /etc/tcp.smtp.cdb")
    submission = sh(mx, "TCPREMOTEIP=192.0.2.1 tcprulescheck /etc/tcp.submission.cdb")
    assert "QMAILQUEUE" not in outside, outside
    assert "QMAILQUEUE=" + SIGNER in loopback and "QMAILQUEUE=" + SIGNER in submission, (loopback, submission)


def filter_exit(mx, body):
    """qmail-filter's exit status for a message, run as qmail-smtpd runs it: as qmaild, the
    message on fd 0, the envelope on fd 1 (qmail-queue's protocol)."""
    message = "From: probe@client.example.test\nSubject: filter test\n\n%s\n" % body
    script = ("import os, subprocess, sys\n"
              "r, w = os.pipe()\n"
              "os.write(w, b'Fprobe@client.example.test\\0Talice@mx.example.test\\0\\0'); os.close(w)\n"
              "p = subprocess.run(['setpriv', '--reuid=qmaild', '--regid=nofiles', '--clear-groups', %r],\n"
              "                   input=%r.encode(), stdout=r, stderr=subprocess.PIPE)\n"
              "print(p.returncode, p.stderr.decode().strip())\n" % (FILTER, message))
    out = python_in(mx, script)
    return int(out.split()[0]), out


@pytest.mark.parametrize("body, reason", [(GTUBE, "spam score"), (EICAR, "Mailops-EICAR-Test")])
def test_spam_and_viruses_are_rejected_before_qmail_queue(mx, body, reason):
    status, out = filter_exit(mx, body)
    assert status == 31 and reason in out, out


def test_a_scanner_that_is_down_defers_the_message(mx):
    sh(mx, "systemctl stop spamd")
    try:
        status, out = filter_exit(mx, "an ordinary message")
    finally:
        sh(mx, "systemctl start spamd")
    assert status == 71 and "spamd" in out, out


def test_dkim_keys_are_the_signers_alone(mx):
    for selector in ("s2026", "e2026"):
        key = mx.file(CONTROL + "/dkim/example.test/%s.private" % selector)
        assert (key.user, key.mode) == ("qmaild", 0o600)


def swaks_data(client, *args):
    return client.run("swaks --server mx --helo client.example.test --from probe@client.example.test "
                      "--to alice@mx.example.test " + " ".join(args))


@requires_qmail
@pytest.mark.parametrize("body", [GTUBE, EICAR])
def test_swaks_spam_and_viruses_get_554(mx, client, body):
    out = swaks_data(client, "--port 25", "--body", shlex.quote(body))
    assert "<** 554" in out.stdout, out.stdout


@requires_qmail
def test_an_ordinary_message_is_delivered_with_the_scanners_headers(mx, client):
    out = swaks_data(client, "--port 25", "--header 'Subject: filter-clean'", "--body 'an ordinary message'")
    assert out.rc == 0, out.stdout + out.stderr
    headers = ""
    for _attempt in range(30):
        headers = sh(mx, "grep -l -r 'filter-clean' /home/alice/Maildir/new | head -n 1 | xargs -r sed -n '1,/^$/p'")
        if headers:
            break
        time.sleep(1)
    assert "X-Spam-Status: No" in headers and "X-Virus-Status: Clean" in headers, headers


@requires_qmail
def test_relayed_mail_is_signed_and_dkimpy_verifies_it(mx, client):
    """Mail a user submits (AUTH on 587) is signed for example.test with both selectors; dkimpy
    verifies the delivered message against the TXT records the role published (its public keys)."""
    out = client.run("swaks --server mx --port 587 --tls --helo client.example.test "
                     "--auth PLAIN --auth-user client@example.test --auth-password client-auth-secret "
                     "--from alice@example.test --to alice@mx.example.test --header 'Subject: dkim-e2e' "
                     "--body 'signed by mx'")
    assert out.rc == 0, out.stdout + out.stderr
    verified = ""
    for _attempt in range(30):
        verified = python_in(mx, """
import glob, subprocess, dkim
def dns(name, timeout=5):
    selector = name.decode().split(".")[0]
    key = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER", "-in",
                          "/var/qmail/control/dkim/example.test/%s.private" % selector], capture_output=True).stdout
    import base64
    if selector == "e2026":
        key = key[-32:]
    return ("v=DKIM1; k=%s; p=%s" % ("ed25519" if selector == "e2026" else "rsa",
                                     base64.b64encode(key).decode())).encode()
for path in glob.glob("/home/alice/Maildir/new/*"):
    message = open(path, "rb").read()
    if b"dkim-e2e" in message:
        signatures = message.count(b"DKIM-Signature:")
        checker = dkim.DKIM(message)
        print(signatures, all(checker.verify(idx=i, dnsfunc=dns) for i in range(signatures)))
""")
        if verified:
            break
        time.sleep(1)
    assert verified == "2 True"


# --- implicit-TLS submission on 465 (RFC 8314) --------------------------------------------------

smtps_only = pytest.mark.skipif(FLAVOUR != "sagredo", reason="implicit TLS is sagredo's SMTPS mode")


@smtps_only
def test_smtps_requires_auth_under_the_submission_rules(mx):
    out = sh(mx, "cd %s && sh -c '. ./conf-common; . ./conf-smtpsd; "
                 "echo \"$TCPSERVER_PORT|$TCPSERVER_RULES|$SMTPAUTH|$FORCETLS|$SMTPS|$QMAIL_SMTP_POST\"'" % CONTROL)
    assert out.strip() == "465|/etc/tcp.submission.cdb|!|1|1|/usr/bin/cvm-checkpassword /usr/bin/cvm-pwfile /bin/true"


@requires_qmail
@smtps_only
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("password, relayed", [("client-auth-secret", True), ("wrong-password", False)])
def test_swaks_auth_on_port_465_decides_relaying(mx, client, mechanism, password, relayed):
    forget_pop3_logins(mx)
    out = swaks(client, "--port 465 --tlsc --auth", mechanism, "--auth-user client@example.test",
                "--auth-password", password, "--to someone@elsewhere.example")
    # TLS comes first: the greeting is already read inside TLS (<~), with the tls role's certificate.
    assert "=== TLS started with cipher" in out.stdout and "CN=mx.example.test" in out.stdout, out.stdout
    assert re.search(r"^<~  220 ", out.stdout, re.M), out.stdout
    if relayed:
        assert out.rc == 0 and re.search(r"^<~  235 ", out.stdout, re.M), out.stdout + out.stderr
        assert re.search(r"RCPT TO:<someone@elsewhere.example>\n<~  250 ", out.stdout), out.stdout
    else:
        assert out.rc != 0 and re.search(r"^<~\* 535 ", out.stdout, re.M), out.stdout + out.stderr
        assert "RCPT TO" not in out.stdout, out.stdout


@requires_qmail
@smtps_only
def test_port_465_without_auth_is_refused_before_any_recipient(mx, client):
    forget_pop3_logins(mx)
    out = swaks(client, "--port 465 --tlsc --to someone@elsewhere.example")
    # SMTPAUTH="!" as on 587: MAIL without AUTH gets 530, so no recipient is ever considered.
    assert out.rc != 0 and re.search(r"^<~\* 530 ", out.stdout, re.M), out.stdout
    assert "RCPT TO" not in out.stdout, out.stdout


@requires_qmail
@smtps_only
def test_port_465_says_nothing_in_clear_text(client):
    out = swaks(client, "--port 465 --timeout 15 --to someone@elsewhere.example")
    assert out.rc != 0 and not re.search(r"^<-  220 ", out.stdout, re.M), out.stdout


# --- POP3 logins from a password file (cvm-pwfile), last: it reconfigures pop3d for a while -------

PWFILE_VARS = ('{"pop3d_checkpassword": "cvm-pwfile", "pop3d_accounts": [{"name": "roamer@example.test", '
               '"password": "roamer-pop-secret", "system_user": "alice"}]}')


@pytest.fixture(scope="module")
def pop3d_with_pwfile(mx):
    # imapd follows pop3d's password checker (imapd_auth auto): one login for POP3 and IMAP.
    runs = [converge_recap("--limit", "mx", "--tags", "pop3d,imapd", "-e", PWFILE_VARS)[0]["mx"]["changed"]
            for _run in range(2)]
    yield runs
    converge_recap("--limit", "mx", "--tags", "pop3d,imapd")  # back to cvm-unix and the system accounts


def test_pop3_accounts_are_written_hashed_with_the_system_users_ids(mx, pop3d_with_pwfile):
    first, second = pop3d_with_pwfile
    assert first > 0 and second == 0, "the second run with the same accounts must change nothing"
    pwfile = mx.file("/etc/pop3d.passwd")
    assert (pwfile.user, pwfile.group, pwfile.mode) == ("root", "root", 0o600)
    name, hashed, uid, gid, _gecos, home, _shell = pwfile.content_string.strip().split(":")
    assert (name, uid, gid, home) == ("roamer@example.test", sh(mx, "id -u alice").strip(),
                                      sh(mx, "id -g alice").strip(), "/home/alice")
    assert hashed.startswith("$6$") and "roamer-pop-secret" not in pwfile.content_string


@pytest.mark.parametrize("password, rc", [("roamer-pop-secret", 0), ("wrong", 100)])
def test_pop3_password_file_login_becomes_the_system_user(mx, pop3d_with_pwfile, password, rc):
    # As qmail-popup runs it: as root with conf-pop3d's environment; after a good login the rest
    # of the chain runs as alice in her home.
    result = mx.run("printf 'roamer@example.test\\0%s\\0\\0' | sh -c '. %s/conf-pop3d; exec $QMAIL_POP3_CHECKPASSWORD "
                    "/bin/sh -c \"id -un; pwd\" 3<&0'" % (password, CONTROL))
    assert result.rc == rc
    if rc == 0:
        assert result.stdout.split() == ["alice", "/home/alice"]


@requires_qmail
def test_pop3_password_file_login_opens_the_users_mailbox(client, pop3d_with_pwfile):
    out = python_in(client, """
import poplib
p = poplib.POP3("mx", 110, timeout=30)
p.user("roamer@example.test"); p.pass_("roamer-pop-secret")
print(len(p.list()[1]) > 0)
p.quit()
""")
    assert out == "True"


def test_imap_login_with_the_pop3_password_file(mx, client, pop3d_with_pwfile):
    assert imap(mx, client, "roamer@example.test", "roamer-pop-secret", "print(len(m.select('INBOX')) > 0)") == "True"
    assert "refused" in imap(mx, client, "roamer@example.test", "wrong")
