"""The only URL fetcher WeasyPrint gets: it serves the report assets under reports/ and
refuses everything else (other files, http, data: URLs), counting and logging each refusal.

It runs inside the render worker processes; the lists of served and refused requests go back
to the caller with the PDF so they can be counted there.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger("gsr.reports")

# What a report may load: its own stylesheets, images and fonts. Never templates or code.
ASSET_SUFFIXES = frozenset({".css", ".svg", ".png", ".jpg", ".jpeg", ".ttf", ".otf", ".woff2"})


class AssetRefused(ValueError):
    """A report asked for something other than one of its own assets."""


class ReportAssetFetcher(URLFetcher):
    """Serve files under root by file:// URL; refuse every other URL without opening it."""

    def __init__(self, root: Path):
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = root.resolve()
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        path = self.asset_path(url)
        if path is None:
            self.refused.append(url)
            # The URL itself may come from user text: log only its scheme and a digest.
            logger.warning(
                "report asset request refused: scheme=%s digest=%s",
                urlsplit(url).scheme or "-",
                hashlib.sha256(url.encode("utf-8", "replace")).hexdigest()[:12],
            )
            raise AssetRefused("only the report's own assets can be loaded")
        self.served.append(path.relative_to(self.root).as_posix())
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def open(self, url, data=None, timeout=None):
        # urllib's opener would go to the network; everything goes through fetch instead.
        return self.fetch(url if isinstance(url, str) else url.full_url)

    def asset_path(self, url: str) -> Path | None:
        """The file under root that url names, or None when url is anything else."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            return None
        if parts.query or "\x00" in url:
            return None
        try:
            path = Path(url2pathname(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return None
        # Resolved first, so neither "../" nor a symbolic link can lead outside root.
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        if path.suffix.lower() not in ASSET_SUFFIXES:
            return None
        return path
