"""A real SMTP server for the tests (aiosmtpd), speaking SMTP to the app's lettre client.

Prints `READY <port>` once it listens, then writes every accepted message to OUT as one JSON
line: envelope, headers, and the plain-text and HTML parts as Python's email package (not the
app's code) reads them. With --refuse N it answers the first N messages' DATA with a temporary
failure (451), as a busy or greylisting server does. Stops on SIGTERM or when stdin closes.

    python3 tests/smtp_sink.py --out /tmp/mail.jsonl [--refuse 1]
"""

import argparse
import asyncio
import email
import email.policy
import json
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out, refuse):
        self.out = out
        self.refuse = refuse
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 Try again later (the test sink refuses this one)"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        with self.lock, open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refuse", type=int, default=0)
    args = parser.parse_args()
    open(args.out, "w").close()
    controller = Controller(Sink(args.out, args.refuse), hostname="127.0.0.1", port=args.port)
    if args.port == 0:
        # aiosmtpd needs a concrete port: ask the OS for a free one.
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        controller.port = s.getsockname()[1]
        s.close()
    controller.start()
    print(f"READY {controller.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
