"""The upload page's multipart helpers, pure, in real Chromium: web/app.js is imported as the module it
is (served from web/ by a static server on 127.0.0.1; no local cloud) and its exports are called:
the part plan, which parts to send on resume, the per-file key and the localStorage store, the URL
book (batches, renewal before expiry) and the parallel runner (its limit, stop on first failure)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web_origin() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(WEB)))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def app(page: Any, web_origin: str) -> Any:
    """A blank page of the same origin with app.js imported as `window.app` (the page itself does not start)."""
    page.route(
        f"{web_origin}/blank", lambda route: route.fulfill(status=200, body="<!doctype html><title>t</title>")
    )
    page.goto(f"{web_origin}/blank")
    page.evaluate("async () => { window.app = await import('/app.js'); }")
    return page


def run(page: Any, script: str, arg: Any = None) -> Any:
    return page.evaluate(f"async (arg) => {{ const app = window.app; {script} }}", arg)


MIB = 1024 * 1024


def test_the_plan_and_what_to_resend(app: Any) -> None:
    parts = run(app, "return app.planParts(arg, 5 * 1024 * 1024, 3);", 12 * MIB)
    assert parts == [
        {"number": 1, "start": 0, "end": 5 * MIB},
        {"number": 2, "start": 5 * MIB, "end": 10 * MIB},
        {"number": 3, "start": 10 * MIB, "end": 12 * MIB},
    ]
    refused = run(app, "try { app.planParts(100, 10, 9); } catch (e) { return e.message; }")
    assert refused == "The API's part plan (9 parts of 10 bytes) does not fit the file's 100 bytes."
    chosen = run(
        app,
        """const parts = app.planParts(25, 10, 3);
           const {missing, etags} = app.partsToSend(parts, [
             {part_number: 1, etag: '"a"', size: 10}, {part_number: 2, etag: '"b"', size: 9},
             {part_number: 3, etag: '"c"', size: 5}, {part_number: 7, etag: '"z"', size: 10}]);
           return {missing: missing.map((p) => p.number), etags: [...etags.entries()],
                   note: app.resumedText(etags.size, parts.length)};""",
    )
    assert chosen == {
        "missing": [2],
        "etags": [[1, '"a"'], [3, '"c"']],
        "note": "resumed: 2 of 3 parts already uploaded",
    }


def test_open_uploads_are_kept_per_user_and_file(app: Any) -> None:
    kept = run(
        app,
        """localStorage.clear();
           const store = new app.OpenUploads(localStorage);
           const file = new File(["x".repeat(10)], "big.jpg", {type: "image/jpeg", lastModified: 1000});
           const same = new File(["y".repeat(10)], "big.jpg", {type: "image/jpeg", lastModified: 1000});
           const edited = new File(["x".repeat(10)], "big.jpg", {type: "image/jpeg", lastModified: 2000});
           const key = app.fileKey(file, "a@example.com");
           store.set(key, {uploadId: "u1", partSize: 5, partCount: 2});
           const found = [store.get(app.fileKey(same, "a@example.com"))?.uploadId,
                          store.get(app.fileKey(edited, "a@example.com")),
                          store.get(app.fileKey(file, "b@example.com"))];
           store.set("other", {uploadId: "u2"});
           store.forgetUpload("u2");
           const left = Object.keys(store.all()).map((k) => k === key);
           store.forget(key);
           localStorage.setItem("intake.multipart.v1", "{broken");
           return [...found, left, store.get(key), new app.OpenUploads(localStorage).all()];""",
    )
    assert kept == ["u1", None, None, [True], None, {}]


def test_part_urls_come_in_batches_and_are_renewed_before_expiry(app: Any) -> None:
    asked = run(
        app,
        """let now = Date.parse("2030-01-01T00:00:00Z");
           const asked = [];
           const ask = async (numbers) => {
             asked.push(numbers);
             const expires = new Date(now + 900 * 1000).toISOString();
             return {parts: numbers.map((n) => ({part_number: n, url: `u${n}-${asked.length}`})), expires_at: expires};
           };
           const known = [{part_number: 1, url: "u1-0"}];
           const urls = new app.PartUrls(ask, [1, 2, 3, 4], known, new Date(now + 900 * 1000).toISOString(), () => now);
           const seen = [await urls.url(1)];
           seen.push(...(await Promise.all([urls.url(2), urls.url(3)])));  // one batch for both
           now += 850 * 1000;  // within a minute of the expiry: renewed
           seen.push(await urls.url(1));
           urls.expired(4, "not its url");
           const four = await urls.url(4);
           urls.expired(4, four);
           seen.push(await urls.url(4));
           return {seen, asked};""",
    )
    assert asked == {
        "seen": ["u1-0", "u2-1", "u3-1", "u1-2", "u4-3"],
        "asked": [[2, 3, 4], [1, 2, 3, 4], [4]],
    }


def test_the_runner_keeps_its_limit_and_stops_on_the_first_failure(app: Any) -> None:
    result = run(
        app,
        """const parts = Array.from({length: 10}, (_, i) => ({number: i + 1}));
           let active = 0, most = 0;
           const started = [];
           const send = async (part) => {
             started.push(part.number);
             active += 1; most = Math.max(most, active);
             await new Promise((r) => setTimeout(r, 5));
             active -= 1;
             if (part.number === 3) throw new Error("part 3 failed");
           };
           let stopped = null;
           const failure = await app.runParts(parts, 4, send, (e) => (stopped = e.message)).catch((e) => e.message);
           const all = [];
           await app.runParts(parts, 4, async (p) => { all.push(p.number); });
           return {most, failure, stopped, started: started.length, all: all.length};""",
    )
    assert result["most"] == 4 and result["failure"] == result["stopped"] == "part 3 failed"
    assert result["started"] < 10 and result["all"] == 10
