"""A real SMTP server (aiosmtpd) for the notification tests and benchmark.

Usage: /usr/bin/python3 smtp_sink.py OUT_FILE [--count-only]

Prints "READY <port>" once listening. Each accepted message is appended to OUT_FILE as one JSON
line, parsed by Python's email package (an independent MIME parser): the raw headers, the decoded
subject, and each text part decoded. Recipients decide the answer to RCPT:
  reject550@...  -> 550 (permanent), tempfail@... -> 451 (retryable), anything else -> 250.
"""
import asyncio, json, socket, sys, threading
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

out_path = sys.argv[1]
count_only = "--count-only" in sys.argv
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
        with lock:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        return "250 Message accepted for delivery"


sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
controller = Controller(Handler(), hostname="127.0.0.1", port=port, decode_data=False,
                        server_kwargs={"data_size_limit": 10 * 1024 * 1024})
controller.start()
print("READY %d" % port, flush=True)
try:
    threading.Event().wait()
except KeyboardInterrupt:
    pass
