"""Secrets stay out of the logs: with every log at debug level, a
secret's value (set at creation, read, changed), the root password and a
wrong password never appear in any file under log/, nor does a new root
password set with session.change_password. host.conf holds only the
root password's hash."""

import glob
import os

from conftest import failure, ok, own_host


def log_text(h):
    text = b""
    for path in glob.glob(os.path.join(h.state, "log", "*")):
        with open(path, "rb") as f:
            text += f.read()
    return text


def test_secret_values_and_passwords_never_reach_the_logs():
    with own_host("cxapi-secrets-", "log-level=debug\n") as h:
        s = h.proxy()
        sid = h.login()
        first, second = "S3cret-value-first-4711", "S3cret-value-second-0815"
        ref = ok(s.secret.create(sid, {"value": first, "other_config": {}}))
        assert ok(s.secret.get_value(sid, ref)) == first
        ok(s.secret.set_value(sid, ref, second))
        assert ok(s.secret.get_record(sid, ref))["value"] == second
        wrong = "Wr0ng-password-9999"
        failure(s.session.login_with_password("root", wrong, "1.0", "t"))
        new_pw = "N3w-root-password-2222"
        ok(s.session.change_password(sid, h.password, new_pw))
        ok(s.session.login_with_password("root", new_pw, "1.0", "t"))
        ok(s.session.change_password(sid, new_pw, h.password))
        # Something was logged at debug level, and none of these.
        text = log_text(h)
        assert b"secret.create" in text, text[-2000:]
        for needle in (first, second, wrong, new_pw, h.password):
            assert needle.encode() not in text, needle
        with open(os.path.join(h.state, "host.conf")) as f:
            conf = f.read()
        for needle in (new_pw, h.password):
            assert needle not in conf, needle
