"""Static files under fingerprinted URLs: `/static/app.3f2a9c10d4.css` names app.css by a
digest of its content, so browsers keep it for a year and fetch it again only when it changes.

Templates get every asset URL from `static_url()`. The plain name (`/static/app.css`) keeps
working with a short cache, for bookmarks and anything outside the templates; a fingerprint
that does not match today's content (a page from before a deployment, or from a worker not yet
restarted) gets today's file with the short cache too, never stored for a year under a name
that promises other content.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
DIGEST_LENGTH = 10
LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
# name.<digest>.ext, the digest being DIGEST_LENGTH lower-case hex characters.
_FINGERPRINTED = re.compile(
    rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<ext>\.[^./\\]+)$"
)


@lru_cache(maxsize=256)
def _digest_of(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by modification time and size as well, so an edited file gets a new URL
    # without a restart; the content is read once per version.
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:DIGEST_LENGTH]


def digest(name: str, directory: Path = STATIC_DIR) -> str:
    """The fingerprint of the static file `name` as it is now."""
    path = directory / name
    info = path.stat()
    return _digest_of(str(path), info.st_mtime_ns, info.st_size)


def fingerprinted(name: str, file_digest: str) -> str:
    """`app.css` with digest d becomes `app.d.css` (`app` becomes `app.d`)."""
    head, sep, ext = name.rpartition(".")
    if not sep or "/" in ext:
        return f"{name}.{file_digest}"
    return f"{head}.{file_digest}.{ext}"


def static_url(name: str) -> str:
    """The URL of a static file, changing whenever its content changes."""
    return f"/static/{fingerprinted(name, digest(name))}"


class FingerprintedStaticFiles(StaticFiles):
    """StaticFiles that also answers fingerprinted names, with the cache each one deserves."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        match = _FINGERPRINTED.match(path.replace(os.sep, "/"))
        if match is not None:
            plain = match["stem"] + match["ext"]
            full_path, stat_result = self.lookup_path(plain)
            if stat_result is not None:
                response = await super().get_response(plain, scope)
                current = _digest_of(full_path, stat_result.st_mtime_ns, stat_result.st_size)
                cache = LONG_CACHE if current == match["digest"] else SHORT_CACHE
                response.headers["Cache-Control"] = cache
                return response
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = SHORT_CACHE
        return response
