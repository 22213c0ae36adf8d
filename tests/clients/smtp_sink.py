"""A real SMTP server for Plaza's email tests (aiosmtpd).

    python smtp_sink.py MAIL_LOG

Listens on a free loopback port, prints `PORT <n>` once ready, and appends every mail
it receives to MAIL_LOG as one JSON line: {to, from, subject, text, html, headers}.
Bodies are decoded (quoted-printable, base64), so tests can read links as written.
Runs until stdin closes (the test that started it ends).
"""

import json
import socket
import sys
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        text = mail.get_body(preferencelist=("plain",))
        html = mail.get_body(preferencelist=("html",))
        record = {
            "to": list(envelope.rcpt_tos),
            "from": envelope.mail_from,
            "subject": str(mail["subject"] or ""),
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
            "headers": {k: str(v) for k, v in mail.items()},
        }
        with self.lock, open(self.path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    controller = Controller(Sink(sys.argv[1]), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
