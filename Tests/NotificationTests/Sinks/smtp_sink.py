"""A real SMTP server (aiosmtpd) for the notification tests and benchmark.

Usage: /usr/bin/python3 smtp_sink.py OUT_FILE [--count-only]
           [--starttls CERT KEY] [--require-starttls] [--smtps CERT KEY] [--auth USER:PASSWORD]

Prints "READY <port>" once listening. Each accepted message is appended to OUT_FILE as one JSON
line, parsed by Python's email package (an independent MIME parser): the raw headers, the decoded
subject, and each text part decoded, and how the session was protected: "tls" (true once the
session runs over TLS, by STARTTLS or from the first byte), "tlsVersion", and "authUser" (the
user it authenticated as, or null). Recipients decide the answer to RCPT:
  reject550@...  -> 550 (permanent), tempfail@... -> 451 (retryable), anything else -> 250.

  --starttls CERT KEY   offer STARTTLS with this PEM certificate (chain) and key
  --require-starttls    refuse every command but EHLO, NOOP, QUIT and STARTTLS before TLS (530)
  --smtps CERT KEY      implicit TLS (SMTPS): TLS from the first byte, no STARTTLS
  --auth USER:PASSWORD  offer AUTH (PLAIN, LOGIN) and require it before MAIL; wrong credentials
                        get 535. Offered only over TLS, except in a session without TLS at all
                        (no --starttls, no --smtps), where AUTH is offered in clear.
"""
import asyncio, json, socket, ssl, sys, threading
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

out_path = sys.argv[1]
count_only = "--count-only" in sys.argv


def option(name, count):
    """The `count` values after `name` on the command line, or None when absent."""
    if name not in sys.argv:
        return None
    at = sys.argv.index(name)
    return sys.argv[at + 1:at + 1 + count]


def server_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


starttls = option("--starttls", 2)
smtps = option("--smtps", 2)
require_starttls = "--require-starttls" in sys.argv
auth = option("--auth", 1)
credentials = tuple(auth[0].split(":", 1)) if auth else None
lock = threading.Lock()
out = open(out_path, "a", encoding="utf-8")


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject550"):
            return "550 5.1.1 no such mailbox"
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Over TLS (after STARTTLS, or SMTPS) the transport carries an SSL object.
        tls_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        protection = {
            "tls": tls_object is not None,
            "tlsVersion": tls_object.version() if tls_object is not None else None,
            "authUser": session.auth_data.login.decode() if session.authenticated and session.auth_data else None,
        }
        if count_only:
            record = {"rcpt": envelope.rcpt_tos}
        else:
            raw = envelope.original_content or envelope.content
            msg = message_from_bytes(raw, policy=policy.default)
            parts = {}
            for part in msg.walk():
                if part.get_content_maintype() == "text":
                    parts[part.get_content_type()] = part.get_content()
            record = {
                "mailFrom": envelope.mail_from,
                "rcpt": envelope.rcpt_tos,
                "rawHeaders": raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace"),
                "subject": str(make_header(decode_header(msg["Subject"]))) if msg["Subject"] else None,
                "from": str(msg["From"]),
                "replyTo": str(msg["Reply-To"]) if msg["Reply-To"] else None,
                "to": str(msg["To"]),
                "messageId": str(msg["Message-ID"]),
                "date": str(msg["Date"]),
                "contentType": msg.get_content_type(),
                "parts": parts,
                "defects": [str(d) for d in msg.defects],
            }
        record.update(protection)
        with lock:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        return "250 Message accepted for delivery"


sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()


def authenticator(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    given = (auth_data.login.decode(), auth_data.password.decode())
    return AuthResult(success=given == credentials, handled=False, auth_data=auth_data)


server_kwargs = {"data_size_limit": 10 * 1024 * 1024}
if starttls:
    server_kwargs["tls_context"] = server_context(*starttls)
    server_kwargs["require_starttls"] = require_starttls
if credentials:
    server_kwargs["authenticator"] = authenticator
    server_kwargs["auth_required"] = True
    # aiosmtpd counts only STARTTLS as TLS; an SMTPS session is TLS from the start.
    server_kwargs["auth_require_tls"] = bool(starttls)
controller = Controller(Handler(), hostname="127.0.0.1", port=port, decode_data=False,
                        ssl_context=server_context(*smtps) if smtps else None,
                        server_kwargs=server_kwargs)
controller.start()
print("READY %d" % port, flush=True)
try:
    threading.Event().wait()
except KeyboardInterrupt:
    pass
