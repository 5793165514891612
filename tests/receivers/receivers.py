#!/usr/bin/env python3
"""Real receivers for tests/channels.rs, started by the tests themselves on loopback ports.

    receivers.py smtp --cert C --key K --user U --password PW
        Two aiosmtpd servers: one on STARTTLS (required before AUTH and MAIL), one on implicit TLS ("SMTPS"). Both
        require a login. Each accepted message is printed as a JSON line.
    receivers.py webhook [--port N] [--secret S] [--delay SECONDS]
        An HTTP receiver: each POST is printed as a JSON line, with whether its X-Docktray-Signature-256 is the
        HMAC-SHA256 of the body under S (checked with Python's own hmac), then answered 200 after DELAY seconds.
    receivers.py ntfy [--port N] [--token T]
        A local ntfy stand-in following ntfy's publish protocol (https://docs.ntfy.sh/publish/): JSON publishing
        (POST/PUT / with {"topic", "message", "title", "priority", "tags", ...}) and plain publishing (POST/PUT
        /TOPIC with the message as body and Title / Priority / Tags headers), topic names of 1-64 letters, digits,
        '-' or '_', priorities 1-5 (or min/low/default/high/max/urgent), access tokens as "Authorization: Bearer".
        Errors are answered as ntfy answers them ({"code", "http", "error"}), a publish with the message JSON.

The first line printed is {"kind": "ready", "ports": {...}}; everything else goes to stdout as JSON lines too.
"""

import argparse
import hashlib
import hmac
import json
import re
import secrets
import socket
import ssl
import sys
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRINT_LOCK = threading.Lock()


def emit(record):
    with PRINT_LOCK:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


# ---------------------------------------------------------------------------------------------------------- SMTP


def free_port():
    """A port nothing listens on now (aiosmtpd's controller checks its server by connecting to the port it was
    given, so it cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp(args):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    class Handler:
        def __init__(self, mode):
            self.mode = mode

        async def handle_DATA(self, server, session, envelope):
            mail = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
            body = mail.get_body(preferencelist=("plain",))
            emit(
                {
                    "kind": "email",
                    "mode": self.mode,
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "subject": str(mail["Subject"]),
                    "level": str(mail["X-Docktray-Level"]),
                    "body": body.get_content() if body is not None else "",
                    "login": session.authenticated and getattr(session, "auth_data", None) is not None,
                    "tls": session.ssl is not None,
                }
            )
            return "250 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok, handled=False)

    starttls = Controller(
        Handler("starttls"),
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    implicit = Controller(
        Handler("tls"),
        hostname="127.0.0.1",
        port=free_port(),
        ssl_context=context,
        auth_required=True,
        auth_require_tls=False,
        authenticator=authenticator,
    )
    starttls.start()
    implicit.start()
    emit({"kind": "ready", "ports": {"starttls": starttls.port, "tls": implicit.port}})
    try:
        while True:
            time.sleep(3600)
    finally:
        starttls.stop()
        implicit.stop()


# ------------------------------------------------------------------------------------------------------- webhook


def webhook(args):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            given = self.headers.get("X-Docktray-Signature-256")
            expected = None
            if args.secret:
                expected = "sha256=" + hmac.new(args.secret.encode(), raw, hashlib.sha256).hexdigest()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            emit(
                {
                    "kind": "webhook",
                    "path": self.path,
                    "at": time.monotonic(),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "content_type": self.headers.get("Content-Type"),
                    "body": body,
                    "signature_valid": expected is not None
                    and given is not None
                    and hmac.compare_digest(given, expected),
                }
            )
            if args.delay:
                time.sleep(args.delay)
            try:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *_):
            pass

    serve(Handler, args.port)


def serve(handler, port):
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    emit({"kind": "ready", "ports": {"http": server.server_address[1]}})
    server.serve_forever()


# ---------------------------------------------------------------------------------------------------------- ntfy

TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
PRIORITIES = {"min": 1, "low": 2, "default": 3, "high": 4, "max": 5, "urgent": 5}


def ntfy(args):
    class Handler(BaseHTTPRequestHandler):
        def fail(self, http, code, error):
            self.answer(http, {"code": code, "http": http, "error": error, "link": "https://ntfy.sh/docs/publish/"})

        def answer(self, http, document):
            data = (json.dumps(document) + "\n").encode()
            self.send_response(http)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def header(self, *names):
            for name in names:
                if self.headers.get(name) is not None:
                    return self.headers.get(name)
            return None

        def publish(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if args.token:
                auth = self.headers.get("Authorization") or ""
                if not auth:
                    return self.fail(401, 40101, "unauthorized")
                if auth != "Bearer " + args.token:
                    return self.fail(403, 40301, "forbidden")
            if self.path == "/":
                # JSON publishing.
                try:
                    document = json.loads(raw)
                except ValueError:
                    return self.fail(400, 40017, "invalid request: request body must be message JSON")
                if not isinstance(document, dict):
                    return self.fail(400, 40017, "invalid request: request body must be message JSON")
                topic = document.get("topic")
                message = document.get("message", "")
                title = document.get("title", "")
                priority = document.get("priority", 3)
                tags = document.get("tags", [])
                form = "json"
            else:
                topic = self.path.strip("/").split("?")[0]
                message = raw.decode("utf-8", "replace")
                title = self.header("X-Title", "Title", "ti", "t") or ""
                given = self.header("X-Priority", "Priority", "prio", "p") or "3"
                priority = PRIORITIES.get(given.lower(), int(given) if given.isdigit() else 0)
                given_tags = self.header("X-Tags", "Tags", "tag", "ta") or ""
                tags = [t.strip() for t in given_tags.split(",") if t.strip()]
                form = "plain"
            if not isinstance(topic, str) or not TOPIC.match(topic):
                return self.fail(400, 40009, "invalid request: topic invalid")
            if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 5:
                return self.fail(400, 40007, "invalid priority")
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                return self.fail(400, 40017, "invalid request: tags must be a list of strings")
            if not isinstance(title, str) or not isinstance(message, str):
                return self.fail(400, 40017, "invalid request: title and message must be text")
            now = int(time.time())
            record = {
                "id": secrets.token_urlsafe(9)[:12],
                "time": now,
                "expires": now + 43200,
                "event": "message",
                "topic": topic,
                "message": message or "triggered",
                "title": title,
                "priority": priority,
                "tags": tags,
            }
            emit({"kind": "ntfy", "form": form, "authorized": bool(args.token), **record})
            self.answer(200, record)

        do_POST = publish
        do_PUT = publish

        def log_message(self, *_):
            pass

    serve(Handler, args.port)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("smtp")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    w = sub.add_parser("webhook")
    w.add_argument("--port", type=int, default=0)
    w.add_argument("--secret", default="")
    w.add_argument("--delay", type=float, default=0.0)
    n = sub.add_parser("ntfy")
    n.add_argument("--port", type=int, default=0)
    n.add_argument("--token", default="")
    args = parser.parse_args()
    {"smtp": smtp, "webhook": webhook, "ntfy": ntfy}[args.command](args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
