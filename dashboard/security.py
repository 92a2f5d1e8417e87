"""Security headers on every response of the dashboard server."""

from __future__ import annotations

from urllib.parse import urlsplit

import flask


def content_security_policy(tile_url: str | None) -> str:
    """CSP allowing only this server (plus the optional online tile host for images).

    Dash's index page needs inline scripts (its config and renderer start-up); no ``eval``
    (the browser tests run under this policy with a clean console). Nothing is loaded from
    another host unless a tile URL is configured, and then only its images.
    """
    img = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.hostname:
            host = parts.hostname.replace("a.", "*.", 1) if "{s}" in tile_url else parts.hostname
            img.append(f"{parts.scheme}://{host}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(img)}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )


def install(server: flask.Flask, tile_url: str | None) -> None:
    """Add the headers to every response."""
    csp = content_security_policy(tile_url)

    @server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
