"""Light on slow links: compressed responses, long-cached fingerprinted static files, and
every page of the demo, as each of its users, weighed as a browser receives it."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import zlib
from collections import deque
from urllib.parse import urljoin, urlsplit

import brotli
import pytest
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse
from fastapi.testclient import TestClient

from app.core import compression, migrate, security
from app.core.config import Settings, get_settings
from app.demo import DEMO_PASSWORD, DEMO_USERS, DOMAIN, load_demo
from app.main import create_app
from app.web import assets
from tests.web.test_web_pages import csrf, login, make_user, new_assessment

BUDGET = 100 * 1024  # bytes a page may weigh compressed
BROWSER = "gzip, deflate, br, zstd"


@pytest.fixture(scope="module")
def web(database):
    application = create_app(Settings(database_url=database.url, demo_mode=False))
    with TestClient(application):
        yield application


def raw_get(client: TestClient, url: str, encoding: str, **headers: str):
    """The response and its body as sent on the wire (still compressed)."""
    with client.stream("GET", url, headers={"Accept-Encoding": encoding, **headers}) as answer:
        body = b"".join(answer.iter_raw())
    return answer, body


def decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    assert encoding is None, encoding
    return body


# ---------------------------------------------------------------- compression


@pytest.mark.parametrize("encoding", ["br", "gzip", "zstd"])
def test_pages_are_sent_compressed_in_what_the_browser_accepts(web, encoding):
    client = login(web, make_user(web, "coordinator"))
    url = f"/assessments/{new_assessment(web, make_user(web, 'coordinator'))}"
    answer, body = raw_get(client, url, encoding)
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == encoding
    assert "accept-encoding" in answer.headers["vary"].lower()
    page = decoded(body, encoding)
    assert page.startswith(b"<!doctype html>") and len(body) * 3 < len(page)
    # The security headers are still there, on the compressed answer.
    assert answer.headers["cache-control"] == "private, no-store"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_without_accept_encoding_nothing_is_compressed(web):
    client = login(web, make_user(web, "coordinator"))
    answer, body = raw_get(client, "/", "identity")
    assert "content-encoding" not in answer.headers
    assert body.startswith(b"<!doctype html>")


def test_json_is_compressed_and_the_workbook_is_not_compressed_again(web):
    email = make_user(web, "coordinator")
    assessment_id = new_assessment(web, email)
    client = login(web, email)
    answer, body = raw_get(client, f"/api/v1/assessments/{assessment_id}/export.json", "br")
    assert answer.headers["content-encoding"] == "br"
    assert decoded(body, "br").startswith(b"{")
    workbook, body = raw_get(client, f"/api/v1/assessments/{assessment_id}/workbook.xlsx", "br")
    assert workbook.status_code == 200
    assert "content-encoding" not in workbook.headers
    assert body[:2] == b"PK" and int(workbook.headers["content-length"]) == len(body)


def _small_app() -> FastAPI:
    """The application's compression, around responses the real routes send."""
    application = FastAPI()
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40

    @application.get("/report.pdf")
    def report() -> Response:
        return Response(pdf, media_type="application/pdf")

    @application.get("/archive.zip")
    def archive() -> Response:
        return Response(zlib.compress(b"x" * 50_000), media_type="application/zip")

    @application.get("/aggregates.csv")
    def aggregates() -> Response:
        return Response("area,score\n" + "policy,42\n" * 500, media_type="text/csv")

    compression.install(application)
    return application


def test_pdfs_and_archives_pass_through_untouched_and_csv_is_compressed():
    client = TestClient(_small_app())
    for path in ("/report.pdf", "/archive.zip"):
        answer, body = raw_get(client, path, BROWSER)
        assert "content-encoding" not in answer.headers, path
        assert int(answer.headers["content-length"]) == len(body)
    answer, body = raw_get(client, "/aggregates.csv", BROWSER)
    assert answer.headers["content-encoding"] == "zstd"
    assert decoded(body, "zstd").startswith(b"area,score\n")


def _stream_through_compression(parts: list[bytes], media_type: str):
    """Send parts as a streamed response through the application's compression; returns
    the start message, the body as sent, and for each body message sent how many parts had
    been produced by then."""
    application = FastAPI()
    produced: list[int] = []
    sent_after: list[int] = []

    async def body():
        for part in parts:
            produced.append(1)
            yield part
            await asyncio.sleep(0)

    @application.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(body(), media_type=media_type)

    compression.install(application)
    messages: list[dict] = []

    async def send(message):
        if message["type"] == "http.response.body" and message.get("body"):
            sent_after.append(len(produced))
        messages.append(message)

    async def receive():
        await asyncio.sleep(3600)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/stream",
        "raw_path": b"/stream",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"accept-encoding", b"br"), (b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    asyncio.run(asyncio.wait_for(application(scope, receive, send), 30))
    sent = b"".join(m.get("body", b"") for m in messages[1:])
    return messages[0], sent, sent_after


def test_events_are_compressed_and_each_one_leaves_before_the_next_is_made():
    events = [f"data: event {n} {'x' * 600}\n\n".encode() for n in range(3)]
    start, sent, sent_after = _stream_through_compression(events, "text/event-stream")
    assert dict(start["headers"])[b"content-encoding"] == b"br"
    assert sent_after[:3] == [1, 2, 3]
    assert brotli.decompress(sent) == b"".join(events)


def test_a_long_streamed_body_is_compressed_as_it_goes_not_held_back_whole():
    parts = [os.urandom(256 * 1024).hex().encode() for _ in range(6)]  # 3 MB of text
    start, sent, sent_after = _stream_through_compression(parts, "text/plain")
    assert dict(start["headers"])[b"content-encoding"] == b"br"
    assert b"content-length" not in dict(start["headers"])
    assert sent_after[0] < len(parts)  # output went out before the last part was made
    assert brotli.decompress(sent) == b"".join(parts)


# ---------------------------------------------------------------- static files


def test_templates_link_fingerprinted_assets_kept_for_a_year(web):
    client = login(web, make_user(web, "coordinator"))
    page = client.get("/").text
    css = re.search(r'<link rel="stylesheet" href="(/static/app\.([0-9a-f]{10})\.css)">', page)
    assert css, page[:800]
    content = (assets.STATIC_DIR / "app.css").read_bytes()
    answer = client.get(css.group(1))
    assert answer.status_code == 200 and answer.content == content
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"].startswith("text/css")
    # The browser asking again with what it holds gets "not modified", with the same promise.
    again = client.get(css.group(1), headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_unhashed_and_outdated_asset_urls_still_work_with_a_short_cache(web):
    client = TestClient(web)
    content = (assets.STATIC_DIR / "app.js").read_bytes()
    for url in ("/static/app.js", "/static/app.0123456789.js", "/static/app.js?v=old"):
        answer = client.get(url)
        assert answer.status_code == 200 and answer.content == content, url
        assert answer.headers["cache-control"] == "public, max-age=300", url
    assert client.get("/static/nothing.0123456789.css").status_code == 404
    assert client.get("/static/../pages/common.py").status_code == 404


def test_a_changed_file_gets_a_new_url(tmp_path):
    first = tmp_path / "site.css"
    first.write_text("body { color: black }")
    before = assets.digest("site.css", tmp_path)
    first.write_text("body { color: navy }")
    after = assets.digest("site.css", tmp_path)
    assert before != after and len(after) == assets.DIGEST_LENGTH
    assert assets.fingerprinted("site.css", after) == f"site.{after}.css"
    assert assets.fingerprinted("LICENSE", after) == f"LICENSE.{after}"


def test_static_files_are_compressed_too(web):
    answer, body = raw_get(TestClient(web), assets.static_url("app.css"), "br")
    assert answer.headers["content-encoding"] == "br"
    assert decoded(body, "br") == (assets.STATIC_DIR / "app.css").read_bytes()


# ---------------------------------------------------------------- BREACH


def test_the_csrf_token_differs_on_every_page_and_each_one_is_accepted(web):
    client = login(web, make_user(web, "coordinator", name="Masked Token"))
    tokens = {csrf(client) for _ in range(3)}
    assert len(tokens) == 3
    for token in tokens:
        saved = client.post(
            "/account/language", data={"csrf_token": token, "locale": "en"}, follow_redirects=False
        )
        assert saved.status_code == 303, saved.text[:300]
    # A token from another session, masked or not, is refused.
    other = login(web, make_user(web, "coordinator"))
    refused = client.post("/account/language", data={"csrf_token": csrf(other), "locale": "en"})
    assert refused.status_code == 403


def test_masking_round_trips_and_refuses_garbage():
    token = security.new_token()
    masked = {security.mask_token(token) for _ in range(20)}
    assert len(masked) == 20 and token not in masked
    assert {security.unmask_token(m) for m in masked} == {token}
    for garbage in ("", "abc", "!!!!", "a" * 7, "AAEC", "\u00e9t\u00e9", token):
        assert security.unmask_token(garbage) != token


# ---------------------------------------------------------------- page weights


@pytest.fixture(scope="module")
def demo(make_database):
    """The demo installation (every role and workflow state), served by the real app."""
    database = make_database("sqlite")
    migrate.upgrade(database.url)
    monkey = pytest.MonkeyPatch()
    monkey.setenv("GSR_DATABASE_URL", database.url)
    monkey.setenv("GSR_DEMO_MODE", "true")
    get_settings.cache_clear()
    try:
        list(load_demo())
    finally:
        monkey.undo()
        get_settings.cache_clear()
    application = create_app(Settings(database_url=database.url, demo_mode=True))
    with TestClient(application):
        yield application


SKIPPED = re.compile(r"^/(api|static|docs|redoc|logout)\b|\.(pdf|xlsx|json|csv)$")
ASSETS = re.compile(r'<(?:link rel="stylesheet" href|script src)="(/static/[^"]+)"')


def crawl(client: TestClient, assets_weight: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Every page reachable by links from the dashboard: its size uncompressed, and sent
    with brotli together with the style sheet and scripts it loads (each counted once)."""
    seen: dict[str, tuple[int, int]] = {}
    queue = deque(["/"])
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        answer, body = raw_get(client, url, "br")
        if answer.status_code != 200 or not answer.headers["content-type"].startswith("text/html"):
            seen[url] = (0, 0)
            continue
        page = decoded(body, answer.headers.get("content-encoding")).decode()
        weight = len(body)
        for asset in set(ASSETS.findall(page)):
            if asset not in assets_weight:
                assets_weight[asset] = len(raw_get(client, asset, "br")[1])
            weight += assets_weight[asset]
        seen[url] = (len(page), weight)
        for href in re.findall(r'href="([^"#]*)', page):
            target = urlsplit(urljoin(url, href.replace("&amp;", "&")))
            if target.scheme or target.netloc or not target.path:
                continue
            path = target.path + (f"?{target.query}" if target.query else "")
            if not SKIPPED.search(target.path) and path not in seen:
                queue.append(path)
    return seen


def test_every_page_of_the_demo_weighs_under_100_kb_compressed_for_every_role(demo, capsys):
    rows = []
    assets_weight: dict[str, int] = {}
    clients = {}
    for local, _name, role, country in DEMO_USERS:
        who = f"{role}{'/' + country if country else ''}"
        clients[who] = client = login(demo, f"{local}@{DOMAIN}", DEMO_PASSWORD)
        for url, (raw, weight) in crawl(client, assets_weight).items():
            if raw:
                rows.append((weight, raw, who, url))
    rows.sort(reverse=True)
    with capsys.disabled():
        print(f"\n{len(rows)} pages; the heaviest, with their style sheet and scripts")
        print("  (bytes: brotli, gzip, HTML uncompressed):")
        for weight, raw, who, url in rows[:12]:
            # Browsers that only take gzip get a few per cent more.
            zipped = (
                len(raw_get(clients[who], url, "gzip")[1])
                + weight
                - len(raw_get(clients[who], url, "br")[1])
            )
            print(f"  {weight:>7} {zipped:>7} {raw:>8}  {who:<22} {url}")
            assert zipped < BUDGET, (who, url, zipped)
    assert len({url for *_sizes, url in rows}) > 50  # the crawl reached the whole product
    heavy = [row for row in rows if row[0] > BUDGET]
    assert not heavy, heavy
