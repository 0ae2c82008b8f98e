"""Security headers on every response, and no caching of anything but static files.

The Content-Security-Policy allows nothing inline: GOV.UK Frontend's script and our own are
files served from this site, and so are the styles. A page that needs another policy (none
does) would have to set its own.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from ..config import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Files that are the same for everyone: the only responses a browser or proxy may keep.
STATIC_ENDPOINTS = {"static", "web.static", "web.govuk_assets"}
# A year, as GOV.UK services send it; only in production, where TLS is guaranteed in front.
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.endpoint not in STATIC_ENDPOINTS:
            # Pages and JSON alike may carry personal data, and people borrow a worker's
            # tablet at the hub: nothing stays in its cache, or in a proxy's.
            headers.setdefault("Cache-Control", "no-store")
        settings: Settings = current_app.config["PASSPORT_SETTINGS"]
        if settings.is_production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
