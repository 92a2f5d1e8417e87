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


def install(server: flask.Flask, tile_url: str | None, hsts_max_age_s: int = 0) -> None:
    """Add the headers to every response; ``Strict-Transport-Security`` (``hsts_max_age_s``
    above 0) to those answering a request that came over HTTPS.

    HTTPS as the request says (``request.is_secure``: behind a TLS proxy, after ``ProxyFix``
    took the scheme from ``X-Forwarded-Proto``, see ``dashboard.app._behind_proxies``). Over
    plain HTTP a browser ignores the header (RFC 6797, 8.1), and ``make run`` on
    http://127.0.0.1 must stay plain. No ``includeSubDomains``: the dashboard cannot know which
    other hosts under its name serve HTTPS (served at an organisation's own domain, it would
    cut off every plain-HTTP host below it for a year); no ``preload`` (a decision for the
    domain's owner, hard to undo).
    """
    csp = content_security_policy(tile_url)
    hsts = f"max-age={hsts_max_age_s}" if hsts_max_age_s > 0 else None

    @server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if hsts and flask.request.is_secure:
            headers.setdefault("Strict-Transport-Security", hsts)
        return response
