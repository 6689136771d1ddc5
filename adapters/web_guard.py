"""Safe by default: who may read the bot's web pages.

- The web server binds ``127.0.0.1``. Any other address needs ``IMAGINE_WEB_TOKEN``;
  without one ``check_bind`` refuses to start, with a message that says why.
- With a token set, every route but ``/healthz`` (a liveness probe) and
  ``/slack/events`` (Slack signs its own requests) needs it: the header
  ``Authorization: Bearer <token>``, or ``?token=<token>`` once — which answers
  with a redirect to the same page without it and an ``HttpOnly; SameSite=Strict``
  cookie, so the token leaves the address bar and the browser's history and the
  page's own event stream is let in. The cookie holds an HMAC of the token, not
  the token. Comparisons use ``hmac.compare_digest``.
- The token is never logged: the access log (``RedactedAccessLogger``) writes the
  path without its query string.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler, Middleware

from bot.errors import ConfigError

__all__ = ["COOKIE", "OPEN_PATHS", "RedactedAccessLogger", "check_bind", "token_guard"]

COOKIE = "imagine_web"
OPEN_PATHS = frozenset({"/healthz", "/slack/events"})


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost, or "" (every address)


def check_bind(host: str, token: str | None) -> None:
    """``ConfigError`` if the web server would listen beyond this machine unguarded."""
    if not is_loopback(host) and not token:
        shown = host or "every address"
        raise ConfigError(
            f"IMAGINE_HTTP_HOST={shown} would serve the status page beyond this machine "
            "with no password: set IMAGINE_WEB_TOKEN (a long random string, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or bind "
            "127.0.0.1 and put a reverse proxy in front; see README"
        )


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"imagine-web-cookie", hashlib.sha256).hexdigest()


def _same(given: str, wanted: str) -> bool:
    return hmac.compare_digest(given.encode(), wanted.encode())


def token_guard(token: str) -> Middleware:
    """The middleware for ``token`` (see the module's docstring)."""
    cookie = _cookie_value(token)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), token):
            return await handler(request)
        if _same(request.cookies.get(COOKIE, ""), cookie):
            return await handler(request)
        if "token" in request.query and _same(request.query["token"], token):
            rest = request.url.without_query_params("token")
            answer = web.Response(status=303, headers={"Location": str(rest.relative())})
            answer.set_cookie(
                COOKIE, cookie, httponly=True, samesite="Strict", secure=request.secure, path="/"
            )
            return answer
        return web.Response(
            status=401,
            text="401: this page needs IMAGINE_WEB_TOKEN: open it once with ?token=<token>, "
            "or send Authorization: Bearer <token>.\n",
            headers={"WWW-Authenticate": 'Bearer realm="imagine-bot"'},
        )

    return guard


class RedactedAccessLogger(AbstractAccessLogger):
    """aiohttp's access log, without query strings (a ``?token=`` never reaches a log)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            time,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
