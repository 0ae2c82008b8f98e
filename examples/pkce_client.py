"""Sign in to Passport as an agency application, and print a consented brief.

The OAuth 2.0 authorization code flow with PKCE (S256), as a native or command-line
application does it (RFC 8252): a one-off listener on 127.0.0.1 receives the code.

    python examples/pkce_client.py --server http://127.0.0.1:5000 \\
        --client-id CLIENT_ID --person PERSON_ID

Needs only the standard library and `requests`. See examples/README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import sys
import threading
import webbrowser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

TIMEOUT = 15  # seconds, for each call to Passport


def make_pkce() -> tuple[str, str]:
    """A code verifier (kept here) and its S256 challenge (sent in the sign-in link)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def discover(server: str) -> dict[str, Any]:
    """The server's endpoints, from its RFC 8414 metadata."""
    response = requests.get(f"{server}/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    response.raise_for_status()
    metadata: dict[str, Any] = response.json()
    if "S256" not in metadata.get("code_challenge_methods_supported", []):
        raise SystemExit("this server does not offer PKCE with S256")
    return metadata


def authorize_url(
    metadata: dict[str, Any],
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    challenge: str,
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{metadata['authorization_endpoint']}?{query}"


def wait_for_code(port: int, path: str, timeout: float) -> dict[str, str]:
    """Listen on 127.0.0.1 for the one redirect back from Passport; return its parameters."""
    received: dict[str, str] = {}
    done = threading.Event()

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != path:
                self.send_error(404)
                return
            received.update({k: v[0] for k, v in parse_qs(url.query).items()})
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Signed in. You can close this tab and go back to the terminal.")
            done.set()

        def log_message(self, *_: Any) -> None:  # keep the terminal quiet
            pass

    listener = http.server.HTTPServer(("127.0.0.1", port), Callback)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        if not done.wait(timeout):
            raise SystemExit("no answer from the browser in time; run again to retry")
    finally:
        listener.shutdown()
        listener.server_close()
    return received


def client_auth(client_id: str, secret: str | None) -> dict[str, Any]:
    """A public client names itself; a confidential one authenticates (HTTP Basic)."""
    if secret:
        return {"auth": (client_id, secret), "data": {}}
    return {"auth": None, "data": {"client_id": client_id}}


def exchange(
    metadata: dict[str, Any],
    code: str,
    verifier: str,
    redirect_uri: str,
    client_id: str,
    secret: str | None,
) -> dict[str, Any]:
    auth = client_auth(client_id, secret)
    response = requests.post(
        metadata["token_endpoint"],
        data={
            **auth["data"],
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=auth["auth"],
        timeout=TIMEOUT,
    )
    if response.status_code != 200:
        raise SystemExit(f"the code was refused: {response.text}")
    tokens: dict[str, Any] = response.json()
    return tokens


def print_brief(brief: dict[str, Any]) -> None:
    person = brief["person"]
    print(f"\nBrief for {person.get('preferred_name') or 'this person'} ({person['id']})")
    for alert in brief.get("alerts", []):
        print(f"  ALERT {alert['level'].upper()}: {alert['kind'].replace('_', ' ')}")
    lead = brief.get("lead_worker")
    if lead:
        print(f"  Lead worker: {lead['content'].get('name')}")
    for entry in brief.get("medication", []):
        content = entry["content"]
        print(f"  Medication: {content.get('name')} {content.get('dose', '')}".rstrip())
    if brief.get("withheld"):
        print(f"  Not shared with you: {', '.join(brief['withheld'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", default="http://127.0.0.1:5000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--person", required=True, help="the person's passport id")
    parser.add_argument("--purpose", default="direct_support")
    parser.add_argument("--scope", default="passport.read")
    parser.add_argument("--port", type=int, default=8765, help="the local callback port")
    parser.add_argument("--no-browser", action="store_true", help="only print the link")
    parser.add_argument("--json", action="store_true", help="print the brief as JSON")
    args = parser.parse_args(argv)
    secret = os.environ.get("PASSPORT_CLIENT_SECRET")  # never on the command line
    server = args.server.rstrip("/")

    metadata = discover(server)
    verifier, challenge = make_pkce()
    state = secrets.token_urlsafe(16)
    redirect_uri = f"http://127.0.0.1:{args.port}/callback"
    link = authorize_url(metadata, args.client_id, redirect_uri, args.scope, state, challenge)
    print("Open this link, sign in to Passport and allow the application:\n")
    print(f"  {link}\n")
    if not args.no_browser:
        webbrowser.open(link)

    answer = wait_for_code(args.port, "/callback", timeout=300)
    if answer.get("state") != state:
        raise SystemExit("the answer does not match this sign-in (state); not using it")
    if "error" in answer:
        raise SystemExit(
            f"sign-in refused: {answer['error']} {answer.get('error_description', '')}"
        )
    tokens = exchange(metadata, answer["code"], verifier, redirect_uri, args.client_id, secret)
    print(f"Signed in: scope {tokens['scope']!r}, access token for {tokens['expires_in']} s")

    response = requests.get(
        f"{server}/api/v1/people/{args.person}/brief",
        params={"purpose": args.purpose},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=TIMEOUT,
    )
    if response.status_code != 200:
        problem = response.json()
        print(f"Passport said {response.status_code}: {problem.get('detail')}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(response.json(), indent=2))
    else:
        print_brief(response.json())

    # Done: give the tokens back (RFC 7009). Revoking the refresh token revokes them all.
    auth = client_auth(args.client_id, secret)
    requests.post(
        metadata["revocation_endpoint"],
        data={**auth["data"], "token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=auth["auth"],
        timeout=TIMEOUT,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
