"""Load every page of the built book in headless Chromium and check what a reader sees.

Usage (from the repository root, after ``jupyter-book build .``)::

    python tools/browser_check.py                      # _build/html -> _build/screenshots
    python tools/browser_check.py --html _build/html --out _build/screenshots --width 1400

The HTML folder is served on 127.0.0.1 (a random free port); Chromium is driven over the
Chrome DevTools Protocol through a pipe (``--remote-debugging-pipe``), so nothing but the
standard library and the ``chromium`` binary is needed. Each page is loaded at the given
width, MathJax is awaited, and the check fails on

- raw TeX in the rendered text: a ``$`` or a TeX command (``\\frac``, ``\\cite``...) in a text
  node outside code blocks and typeset maths, a MathJax error box, or TeX in a link's tooltip;
- missing images (not loaded, zero size, or answered 404);
- console errors and uncaught exceptions;
- internal links to a missing page or anchor, and any request the server answered 404;
- figure text smaller than ``--min-text-px`` on screen, for figures whose PNG records the
  size of its smallest text (``dof:min_text_px``, written by ``dof_helpers.plotting``).

It also counts, per page, the code lines a reader sees without opening a toggle, how many
visible code blocks need horizontal scrolling, and the smallest figure text on screen;
``report.json`` and ``report.md`` in the output folder hold these numbers, and every page
is saved as screenshots (``<page>_NN.png``, one per screen height, top to bottom).
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
                  "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe"]

# Runs in the page after load: waits for MathJax, then measures everything the check needs.
PAGE_PROBE = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) {}
  }
  // wait until the layout has settled (the theme slides its sidebars in after load)
  const main = document.querySelector('article') || document.body;
  let last = null, stable = 0;
  for (let i = 0; i < 40 && stable < 3; i++) {
    await sleep(100);
    const r = main.getBoundingClientRect();
    const now = `${Math.round(r.left)},${Math.round(r.width)},${document.documentElement.scrollHeight}`;
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  const skip = el => el.closest('pre, code, script, style, noscript, textarea, mjx-container, .MathJax, .highlight, svg');
  const texRe = /\$|\\(?:[A-Za-z]{2,}|[\[\]\(\)])/;
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.nodeValue;
    if (!text || !texRe.test(text)) continue;
    const el = node.parentElement;
    if (!el || skip(el)) continue;
    raw.push(text.trim().slice(0, 160));
  }
  for (const err of document.querySelectorAll('mjx-merror')) raw.push('MathJax error: ' + err.textContent.slice(0, 160));
  for (const a of document.querySelectorAll('a[title]')) {
    if (texRe.test(a.title)) raw.push('tooltip: ' + a.title.slice(0, 160));
  }
  const images = [...document.querySelectorAll('img')].map(img => {
    const r = img.getBoundingClientRect();
    const fig = img.closest('figure');
    const cap = fig ? fig.querySelector('figcaption') : null;
    return {src: img.currentSrc || img.src, alt: img.getAttribute('alt') || '', complete: img.complete,
            natural_width: img.naturalWidth, natural_height: img.naturalHeight,
            shown_width: r.width, caption: cap ? cap.textContent.trim().slice(0, 120) : ''};
  });
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id)
      .concat([...document.querySelectorAll('a[name]')].map(e => e.name));
  // Code a reader sees without opening a toggle: input areas of notebook cells and literal blocks.
  const visible = el => {
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility === 'hidden') return false;
      if (e.tagName === 'DETAILS' && !e.open && !(el.closest('summary'))) return false;
    }
    return true;
  };
  let code_lines = 0, code_blocks = 0, scrolling = 0;
  for (const pre of document.querySelectorAll('article .cell_input pre, article div.highlight:not(.cell_output div.highlight) pre')) {
    if (pre.closest('.cell_output, .output')) continue;
    if (!visible(pre)) continue;
    code_blocks += 1;
    code_lines += pre.textContent.replace(/\n+$/, '').split('\n').length;
    if (pre.scrollWidth > pre.clientWidth + 2) scrolling += 1;
  }
  const article = document.querySelector('article') || document.body;
  return {title: document.title, raw_tex: raw, images, links, ids, code_blocks, code_lines,
          scrolling_code_blocks: scrolling, height: Math.ceil(document.documentElement.scrollHeight),
          article_width: Math.round(article.getBoundingClientRect().width)};
})()
"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    """Static file handler that records every request and its status, and prints nothing."""

    requests: list = []

    def log_message(self, *args):
        pass

    def send_response(self, code, message=None):
        self.requests.append((self.path, code))
        super().send_response(code, message)


class Chromium:
    """A headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, binary: str, width: int, height: int):
        self.profile = tempfile.mkdtemp(prefix="dof_chromium_")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        args = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, name: str, timeout: float = 60):
        deadline = time.time() + timeout
        for i, ev in enumerate(self.events):
            if ev.get("method") == name:
                return self.events.pop(i)
        while True:
            ev = self._read(deadline)
            if ev.get("method") == name:
                return ev
            self.events.append(ev)

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe (did it crash?)")
                self._buffer += chunk
        msg, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(msg)

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def png_text_chunks(path: Path) -> dict:
    """tEXt/iTXt/zTXt chunks of a PNG file (empty dict when it is not a PNG)."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return {}
    out, pos = {}, 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt" and b"\0" in body:
            k, v = body.split(b"\0", 1)
            out[k.decode("latin-1")] = v.decode("latin-1")
        elif kind == b"zTXt" and b"\0" in body:
            k, v = body.split(b"\0", 1)
            out[k.decode("latin-1")] = zlib.decompress(v[1:]).decode("latin-1")
        elif kind == b"iTXt" and b"\0" in body:
            k, rest = body.split(b"\0", 1)
            flag = rest[0]
            rest = rest[2:].split(b"\0", 2)[-1]
            out[k.decode("latin-1")] = (zlib.decompress(rest) if flag else rest).decode("utf-8")
        elif kind == b"IEND":
            break
        pos += 12 + length
    return out


def pages_of(html: Path) -> list[Path]:
    skip = {"_static", "_sources", "_images", "_sphinx_design_static"}
    return sorted(p for p in html.rglob("*.html") if not (set(p.relative_to(html).parts) & skip))


REFRESH = re.compile(r'<meta[^>]+http-equiv="refresh"[^>]+content="\d+;\s*url=([^"]+)"', re.I)


def redirect_page(rel: str, html: Path) -> dict | None:
    """A page that only redirects (jupyter-book's index.html): its target must exist; nothing to show."""
    m = REFRESH.search((html / rel).read_text(errors="replace"))
    if not m:
        return None
    target = (html / rel).parent / urllib.parse.unquote(m.group(1).split("#")[0])
    problems = [] if target.exists() else [f"redirect to a missing page: {m.group(1)}"]
    return {"page": rel, "title": f"redirect to {m.group(1)}", "problems": problems, "raw_tex_nodes": 0,
            "code_blocks_shown": 0, "code_lines_shown": 0, "code_blocks_scrolling": 0, "figures": [],
            "figures_without_alt": 0, "figures_without_caption": 0, "min_figure_text_px": None, "links": [],
            "ids": [], "screens": 0, "article_width": 0}


def check_page(browser: Chromium, session: str, url: str, rel: str, html: Path, out: Path, width: int,
               height: int, shot_height: int, min_text_px: float) -> dict:
    redirect = redirect_page(rel, html)
    if redirect is not None:
        return redirect
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session)
    browser.wait_event("Page.loadEventFired", timeout=60)
    for attempt in range(3):  # a redirect page (index.html) navigates away while it is probed
        try:
            probe = browser.send("Runtime.evaluate", {"expression": PAGE_PROBE, "awaitPromise": True,
                                                      "returnByValue": True}, session, timeout=60)
            break
        except RuntimeError as err:
            if "navigated" not in str(err) or attempt == 2:
                raise
            browser.wait_event("Page.loadEventFired", timeout=60)
    if "exceptionDetails" in probe:
        raise RuntimeError(f"{rel}: page probe failed: {probe['exceptionDetails']}")
    info = probe["result"]["value"]
    problems = []
    # console errors and uncaught exceptions (events that arrived while the page loaded)
    for ev in browser.events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            problems.append(f"console error: {text[:200]}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            problems.append(f"uncaught exception: {d.get('exception', {}).get('description', d.get('text'))}"[:240])
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            if not e.get("url", "").endswith("/favicon.ico"):
                problems.append(f"console error: {e.get('text', '')[:200]} {e.get('url', '')}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            problems.append(f"request failed: {p.get('errorText')} (request {p.get('requestId')})")
    problems += [f"raw TeX: {t!r}" for t in info["raw_tex"]]
    # images
    figures = []
    for img in info["images"]:
        src = urllib.parse.urlparse(img["src"])
        name = urllib.parse.unquote(src.path).lstrip("/")
        if src.scheme == "data":
            continue
        if not img["complete"] or img["natural_width"] == 0:
            problems.append(f"missing image: {name}")
            continue
        if img["shown_width"] == 0:  # inside a closed toggle
            continue
        scale = img["shown_width"] / img["natural_width"]
        f = html / name
        meta = png_text_chunks(f) if f.suffix == ".png" and f.exists() else {}
        text_px = float(meta["dof:min_text_px"]) * scale if "dof:min_text_px" in meta else None
        figures.append({"src": name, "scale": round(scale, 3), "natural_width": img["natural_width"],
                        "shown_width": round(img["shown_width"]), "min_text_px_on_screen":
                        None if text_px is None else round(text_px, 1), "alt": img["alt"][:80],
                        "caption": img["caption"][:80]})
        if text_px is not None and text_px < min_text_px:
            problems.append(f"figure text {text_px:.1f} px on screen < {min_text_px:g} px: {name} "
                            f"(shown at {scale:.0%} of its size)")
    # screenshots: the page as a reader scrolls through it, one window of shot_height at a time
    stem = rel[:-5].replace("/", "__")
    browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": shot_height,
                                                        "deviceScaleFactor": 1, "mobile": False}, session)
    full_h = max(info["height"], shot_height)
    tops = list(range(0, max(full_h - shot_height, 0) + 1, shot_height))
    if tops[-1] + shot_height < full_h:
        tops.append(full_h - shot_height)
    for k, top in enumerate(tops):
        browser.send("Runtime.evaluate", {"expression": f"window.scrollTo(0, {top}); "
                                          "new Promise(r => setTimeout(r, 120))", "awaitPromise": True}, session)
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session, timeout=120)
        (out / f"{stem}_{k + 1:02d}.png").write_bytes(base64.b64decode(shot["data"]))
    browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                        "deviceScaleFactor": 1, "mobile": False}, session)
    shown = [f["min_text_px_on_screen"] for f in figures if f["min_text_px_on_screen"] is not None]
    return {"page": rel, "title": info["title"], "problems": problems, "raw_tex_nodes": len(info["raw_tex"]),
            "code_blocks_shown": info["code_blocks"], "code_lines_shown": info["code_lines"],
            "code_blocks_scrolling": info["scrolling_code_blocks"], "figures": figures,
            "figures_without_alt": sum(1 for f in figures if not f["alt"] or re.fullmatch(r"[0-9a-f]{16,}(\.png)?", f["alt"])),
            "figures_without_caption": sum(1 for f in figures if not f["caption"]),
            "min_figure_text_px": min(shown) if shown else None, "links": info["links"], "ids": info["ids"],
            "screens": len(tops), "article_width": info["article_width"]}


def check_links(results: list[dict], html: Path, base: str) -> None:
    """Internal links must point at an existing file and, with a fragment, an existing id."""
    ids = {r["page"]: set(r["ids"]) for r in results}
    for r in results:
        bad = set()
        for href in r["links"]:
            if not href.startswith(base):
                continue
            u = urllib.parse.urlparse(href)
            path = urllib.parse.unquote(u.path).lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            target = html / path
            if not target.exists():
                bad.add(f"broken link: {path}")
            elif u.fragment and path in ids and urllib.parse.unquote(u.fragment) not in ids[path]:
                bad.add(f"missing anchor: {path}#{u.fragment}")
        r["problems"] += sorted(bad)


def write_report(results: list[dict], out: Path, server_404: list) -> None:
    slim = [{k: v for k, v in r.items() if k not in ("links", "ids")} for r in results]
    (out / "report.json").write_text(json.dumps({"pages": slim, "server_404": server_404}, indent=1))
    lines = ["| page | raw TeX nodes | code blocks shown | code lines shown | blocks scrolling | figures | "
             "smallest figure text (px) | smallest scale | problems |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        scales = [f["scale"] for f in r["figures"]]
        lines.append(f"| {r['page']} | {r['raw_tex_nodes']} | {r['code_blocks_shown']} | {r['code_lines_shown']} | "
                     f"{r['code_blocks_scrolling']} | {len(r['figures'])} | {r['min_figure_text_px'] or '-'} | "
                     f"{min(scales) if scales else '-'} | {len(r['problems'])} |")
    tot = lambda key: sum(r[key] for r in results)  # noqa: E731
    lines.append(f"| **all** | {tot('raw_tex_nodes')} | {tot('code_blocks_shown')} | {tot('code_lines_shown')} | "
                 f"{tot('code_blocks_scrolling')} | {sum(len(r['figures']) for r in results)} | "
                 f"{min((r['min_figure_text_px'] for r in results if r['min_figure_text_px']), default='-')} | | "
                 f"{sum(len(r['problems']) for r in results)} |")
    (out / "report.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--html", default="_build/html", help="built HTML folder")
    ap.add_argument("--out", default="_build/screenshots", help="screenshots and report folder")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--width", type=int, default=1400, help="window width in CSS pixels")
    ap.add_argument("--height", type=int, default=900, help="window height in CSS pixels")
    ap.add_argument("--shot-height", type=int, default=1800, help="height of one screenshot piece")
    ap.add_argument("--min-text-px", type=float, default=9.0, help="smallest figure text allowed on screen")
    ap.add_argument("--pages", nargs="*", help="only these pages (paths relative to --html)")
    ap.add_argument("--no-fail", action="store_true", help="report problems but exit 0 (for before/after counts)")
    args = ap.parse_args(argv)
    html, out = Path(args.html).resolve(), Path(args.out)
    if not (html / "index.html").exists():
        print(f"{html}/index.html not found: build the book first (make html-only)", file=sys.stderr)
        return 2
    if not Path(args.chromium).exists():
        print(f"chromium not found at {args.chromium}: apt-get install chromium", file=sys.stderr)
        return 2
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    pages = [html / p for p in args.pages] if args.pages else pages_of(html)
    browser = Chromium(args.chromium, args.width, args.height)
    results = []
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", {}, session)
        browser.send("Emulation.setDeviceMetricsOverride", {"width": args.width, "height": args.height,
                                                            "deviceScaleFactor": 1, "mobile": False}, session)
        for page in pages:
            rel = page.relative_to(html).as_posix()
            t0 = time.time()
            r = check_page(browser, session, base + rel, rel, html, out, args.width, args.height,
                           args.shot_height, args.min_text_px)
            results.append(r)
            print(f"{rel}: {len(r['problems'])} problem(s), {r['raw_tex_nodes']} raw TeX, "
                  f"{r['code_lines_shown']} code lines shown, smallest figure text {r['min_figure_text_px']} px, "
                  f"{r['screens']} screenshot(s), {time.time() - t0:.1f} s", flush=True)
    finally:
        browser.close()
        server.shutdown()
    check_links(results, html, base)
    server_404 = sorted({p for p, code in Quiet.requests if code == 404 and not p.endswith("/favicon.ico")})
    for r in results:
        pass
    write_report(results, out, server_404)
    failed = [(r["page"], p) for r in results for p in r["problems"]] + [("server", f"404: {p}") for p in server_404]
    for page, p in failed:
        print(f"FAIL {page}: {p}")
    print(f"{len(results)} pages, {len(failed)} problem(s); screenshots and report in {out}")
    return 1 if failed and not args.no_fail else 0


if __name__ == "__main__":
    raise SystemExit(main())
