"""A real SMTP server for Offsite's tests (aiosmtpd), started by crates/testkit/src/smtp.rs.

Listens on 127.0.0.1:PORT in one of three modes: `starttls` (plain greeting, STARTTLS offered and
required before MAIL/AUTH), `tls` (TLS from the first byte) or `plain`. When --user is given,
AUTH PLAIN/LOGIN with that user and password is required; a wrong password gets aiosmtpd's
`535 5.7.8 Authentication credentials invalid`. Each message received is written to --maildir as
`NNNNNN.json` (envelope, headers, decoded parts, raw text, whether the session used TLS and
authenticated), atomically (temp file + rename). --data-reply makes every DATA answer that reply
instead (e.g. `451 4.3.0 Try again later`). Prints `READY` once it accepts connections, then
runs until killed.
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir, data_reply):
        self.maildir = maildir
        self.data_reply = data_reply
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            parts.append({"content_type": part.get_content_type(), "text": part.get_content()})
        transport = server.transport
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "headers": [[k, str(v)] for k, v in msg.items()],
            "content_type": msg.get_content_type(),
            "parts": parts,
            "raw": raw.decode("utf-8", "replace"),
            "tls": transport is not None and transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "login": (session.auth_data.login.decode("utf-8", "replace")
                      if isinstance(session.auth_data, LoginPassword) else None),
        }
        n = next(self.counter)
        path = os.path.join(self.maildir, "%06d.json" % n)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, path)
        return "250 2.0.0 Message accepted"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login == user.encode()
                and auth_data.password == password.encode()):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["starttls", "tls", "plain"], required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--maildir", required=True)
    p.add_argument("--data-reply")
    a = p.parse_args()

    kwargs = {}
    if a.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.mode == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        else:
            kwargs.update(ssl_context=ctx)
    if a.user:
        kwargs.update(
            authenticator=authenticator(a.user, a.password or ""),
            auth_required=True,
            # STARTTLS: AUTH only after the upgrade. Implicit TLS and plain: the
            # connection is what it is (aiosmtpd only counts STARTTLS as TLS).
            auth_require_tls=(a.mode == "starttls"),
        )
    else:
        kwargs.update(auth_require_tls=False)
    controller = Controller(Handler(a.maildir, a.data_reply), hostname="127.0.0.1",
                            port=a.port, **kwargs)
    controller.start()
    print("READY", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
