"""Compressed responses for slow links: zstd, brotli or gzip, whichever the browser accepts.

starlette-compress decides by content type: HTML, CSS, JavaScript, JSON, SVG and CSV are
compressed; PDFs, workbooks (.xlsx is a zip) and other formats that are compressed already
pass through untouched, as do bodies under 500 bytes, where the headers would cost more
than they save. Streamed bodies are compressed message by message, never buffered whole.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette_compress import CompressMiddleware, add_compress_type

MINIMUM_SIZE = 500
# Quality 4 (brotli) and level 4 (zstd, gzip) compress pages to a fifth or less in well
# under a millisecond; the highest levels gain a few per cent for many times the CPU.
LEVEL = 4

# Spreadsheet exports of aggregates are plain text; the middleware's list lacks them.
add_compress_type("text/csv")


def install(app: FastAPI) -> None:
    """Compress what the application sends. Added last, so that it wraps everything else."""
    app.add_middleware(
        CompressMiddleware,
        minimum_size=MINIMUM_SIZE,
        zstd_level=LEVEL,
        brotli_quality=LEVEL,
        gzip_level=LEVEL,
    )
