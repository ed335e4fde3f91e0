"""Reports load nothing but their own assets and show user text as text, whatever it holds."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.reporting.pool import render_pdf
from app.reporting.render import REPORTS_DIR
from tests.reporting.report_helpers import make_worked, outline_titles, read_pdf, squash

PASSWD_LINE = "root:x:0:0"


@pytest.fixture
def listener():
    """A local HTTP server that records every request it receives."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def hostile(port: int) -> str:
    here = f"http://127.0.0.1:{port}"
    return (
        f'<img src="{here}/img.png"><link rel="stylesheet" href="{here}/style.css">'
        f'<style>@import url("{here}/import.css"); body {{ background: url("file:///etc/passwd") }}'
        '</style><iframe src="file:///etc/passwd"></iframe>'
        f'<object data="{here}/object"></object><svg><image href="{here}/svg.png"/></svg>'
        '<img src="data:image/svg+xml;base64,PHN2Zy8+">'
        f'<div style="background: url({here}/inline.png)">x</div>'
        "</td></tr></table><h1>Injected heading</h1>"
    )


def test_hostile_evidence_is_shown_as_text_and_fetches_nothing(
    app_client, api_people, renderer, listener
):
    port, received = listener
    worked = make_worked(app_client, plan=False, people=api_people)
    catalogue = app_client.app.state.catalogue.catalogue
    answers = worked.world.get("coordinator", f"{worked.base}/answers").json()
    for capability in catalogue.capabilities()[:2]:
        indicator = capability.indicators[1]
        current = next(
            a
            for a in answers
            if (a["capability_id"], a["indicator_id"]) == (capability.id, indicator.id)
        )
        saved = worked.world.put(
            "coordinator",
            f"{worked.base}/answers/{capability.id}/{indicator.id}",
            {
                "version": current["version"],
                "response": "level",
                "level": 2,
                "justification": f"<script>alert(1)</script>@import url({here(port)}/j.css);",
                "evidence_notes": hostile(port),
                "evidence_links": [f"{here(port)}/evidence"],
            },
        )
        assert saved.status_code == 200, saved.text

    response = worked.world.get("coordinator", f"{worked.base}/reports/gap.pdf")
    assert response.status_code == 200, response.text
    reader, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    # Long markup wraps at any character, so compare it with the spaces taken out.
    dense = text.replace(" ", "")

    # Nothing was fetched: the server saw no request, the fetcher served only the stylesheet.
    assert received == []
    assert renderer.stats.renders == 1
    assert renderer.stats.last.served == ("report.css",)
    assert renderer.stats.last.refused == ()
    # The markup is printed as the official typed it, and none of it took effect.
    assert f'<imgsrc="http://127.0.0.1:{port}/img.png">' in dense
    assert "<script>alert(1)</script>" in dense
    assert PASSWD_LINE not in text
    assert "Injected heading" not in outline_titles(reader)
    links = [
        annotation.get_object()["/A"].get("/URI")
        for page in reader.pages
        for annotation in page.get("/Annots") or []
        if "/A" in annotation.get_object()
    ]
    external = [link for link in links if link]
    assert f"{here(port)}/evidence" in external
    assert all(link.startswith(("https://", "http://")) for link in external)

    # The HTML preview escapes it all too.
    preview = worked.world.get("coordinator", f"/assessments/{worked.assessment_id}/reports/gap")
    assert preview.status_code == 200
    assert "&lt;img src=" in preview.text and "<img src=" not in preview.text
    assert "<script>" not in preview.text
    assert "default-src 'none'" in preview.headers["content-security-policy"]
    assert received == []


def here(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def test_the_fetcher_refuses_whatever_is_not_a_report_asset(listener):
    port, received = listener
    html = (
        '<html lang="en"><head><title>t</title><link rel="stylesheet" href="report.css">'
        '<link rel="stylesheet" href="../app/core/config.py">'
        '<link rel="stylesheet" href="_layout.html"></head><body><p>Plain text</p>'
        + hostile(port)
        + "</body></html>"
    )
    output = render_pdf(html, assets_root=REPORTS_DIR)
    assert received == []
    assert output.served == ("report.css",)
    refused = set(output.refused)
    for url in (
        f"{here(port)}/img.png",
        f"{here(port)}/style.css",
        f"{here(port)}/import.css",
        "file:///etc/passwd",
        f"{here(port)}/inline.png",
        (REPORTS_DIR.parent / "app" / "core" / "config.py").as_uri(),
        (REPORTS_DIR / "_layout.html").as_uri(),
    ):
        assert url in refused, url
    assert any(url.startswith("data:") for url in refused)
    _, pages = read_pdf(output.pdf)
    assert "Plain text" in pages[0] and PASSWD_LINE not in " ".join(pages)


def test_asset_paths_stay_inside_the_root(tmp_path: Path):
    # Imported here: the fetcher brings in WeasyPrint, seconds of start-up for every run.
    from app.reporting.fetcher import ReportAssetFetcher

    root = tmp_path / "reports"
    (root / "img").mkdir(parents=True)
    (root / "report.css").write_text("p {}")
    (root / "img" / "logo.png").write_bytes(b"png")
    (root / "report.html").write_text("<p>")
    secret = tmp_path / "secret.css"
    secret.write_text("secret")
    (root / "link.css").symlink_to(secret)
    fetcher = ReportAssetFetcher(root)
    base = root.resolve().as_uri()

    assert fetcher.asset_path(f"{base}/report.css") == (root / "report.css").resolve()
    assert fetcher.asset_path(f"{base}/img/logo.png") == (root / "img" / "logo.png").resolve()
    assert fetcher.fetch(f"{base}/report.css").read() == b"p {}"
    refused = [
        f"{base}/../secret.css",
        f"{base}/%2e%2e/secret.css",
        f"{base}/link.css",  # a symbolic link out of the root
        f"{base}/report.html",  # not an asset
        f"{base}/missing.css",
        f"{base}/report.css?x=1",
        f"file://example.org{root.resolve()}/report.css",
        "http://127.0.0.1:9/x.css",
        "https://example.org/report.css",
        "ftp://example.org/report.css",
        "data:text/css,p{}",
        "report.css",
        "file:///etc/passwd",
    ]
    for url in refused:
        assert fetcher.asset_path(url) is None, url
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.refused == refused
    assert fetcher.served == ["report.css"]
