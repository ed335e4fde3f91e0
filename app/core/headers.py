"""Response headers that keep confidential pages out of caches, frames and referrers."""

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


class SecurityHeaders:
    """Adds the headers to every HTTP answer, errors and the 500 page included.

    A plain ASGI middleware: it only edits the response's start message, where
    `@app.middleware("http")` would wrap every request in a task and a streamed body.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = list(_ALWAYS)
        # The OpenAPI explorer loads its own scripts; everything else is ours alone.
        if not path.startswith(("/docs", "/redoc")):
            extra.append(_CSP)
        if not path.startswith("/static/"):
            extra.append(_NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # As setdefault: a header the response set itself is kept.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Raw ASGI headers: lower-case names, bytes.
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_NO_STORE = (b"cache-control", b"private, no-store")


def install(app: FastAPI) -> None:
    # Added after CatchUnexpected, so it wraps it: a 500 carries the headers too.
    app.add_middleware(SecurityHeaders)
