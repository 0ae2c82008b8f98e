"""A local stand-in for GOV.UK Notify's v2 API, for the tests: nothing leaves the machine.

It checks what Notify requires of a request — a bearer JWT signed HS256 with the API key's
secret, `iss` the service id, `iat` within 30 seconds; the path; the JSON body's required
fields — and answers 201 with a notification id, or what the test asks for (failures, a
hold that never answers, for a sender to be killed mid-delivery)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

SERVICE_ID = str(uuid.UUID(int=0x1234))
SECRET = str(uuid.uuid4())
API_KEY = f"passport_test-{SERVICE_ID}-{SECRET}"
TEMPLATES = {
    "sms": str(uuid.uuid4()),
    "email": str(uuid.uuid4()),
    "letter": str(uuid.uuid4()),
}
REQUIRED = {
    "/v2/notifications/sms": ("phone_number", "template_id"),
    "/v2/notifications/email": ("email_address", "template_id"),
    "/v2/notifications/letter": ("template_id", "personalisation"),
}


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    claims: dict[str, Any]


@dataclass
class FakeNotify:
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why requests were refused (401/400)
    # Statuses to answer with, in order, before answering 201 again.
    fail_with: list[int] = field(default_factory=list)
    # When set, requests wait here (never answered unless released).
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        return {
            "PASSPORT_NOTIFY_API_KEY": API_KEY,
            "PASSPORT_NOTIFY_BASE_URL": self.url,
            "PASSPORT_NOTIFY_TEMPLATE_SMS": TEMPLATES["sms"],
            "PASSPORT_NOTIFY_TEMPLATE_EMAIL": TEMPLATES["email"],
            "PASSPORT_NOTIFY_TEMPLATE_LETTER": TEMPLATES["letter"],
        }

    def references(self) -> list[str]:
        with self.lock:
            return [r.body.get("reference", "") for r in self.received]


def _check(fake: FakeNotify, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, Any]]:
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return 401, {"errors": [{"error": "AuthError", "message": "no bearer token"}]}
    try:
        claims = jwt.decode(
            auth.removeprefix("Bearer "),
            SECRET,
            algorithms=["HS256"],
            options={"require": ["iss", "iat"], "verify_iat": False},
        )
    except jwt.PyJWTError as error:
        return 403, {"errors": [{"error": "AuthError", "message": f"bad token: {error}"}]}
    if claims["iss"] != SERVICE_ID or abs(time.time() - claims["iat"]) > 30:
        return 403, {"errors": [{"error": "AuthError", "message": "wrong iss or stale iat"}]}
    length = int(handler.headers.get("Content-Length", "0"))
    try:
        body = json.loads(handler.rfile.read(length))
    except ValueError:
        return 400, {"errors": [{"error": "BadRequestError", "message": "not JSON"}]}
    required = REQUIRED.get(handler.path)
    if required is None:
        return 404, {"errors": [{"error": "NotFound", "message": handler.path}]}
    missing = [name for name in required if not body.get(name)]
    if missing or body.get("template_id") not in TEMPLATES.values():
        return 400, {"errors": [{"error": "BadRequestError", "message": f"missing {missing}"}]}
    if handler.path.endswith("/letter"):
        lines = [k for k in body["personalisation"] if k.startswith("address_line_")]
        if len(lines) < 3:
            return 400, {"errors": [{"error": "ValidationError", "message": "address"}]}
    with fake.lock:
        fake.received.append(Received(handler.path, body, claims))
    return 201, {"id": str(uuid.uuid4()), "reference": body.get("reference")}


def start() -> FakeNotify:
    fake = FakeNotify()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status, answer = _check(fake, self)
            if status == 201:
                fake.arrived.set()
                if fake.hold is not None:
                    fake.hold.wait(60)
                with fake.lock:
                    failure = fake.fail_with.pop(0) if fake.fail_with else None
                if failure is not None:
                    status, answer = failure, {"errors": [{"error": "Failure"}]}
            else:
                fake.refused.append(json.dumps(answer))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.server.daemon_threads = True
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    return fake


def stop(fake: FakeNotify) -> None:
    if fake.hold is not None:
        fake.hold.set()
    if fake.server is not None:
        fake.server.shutdown()
        fake.server.server_close()
