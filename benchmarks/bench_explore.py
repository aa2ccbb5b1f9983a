"""The explorables (issue 24): how fast a control answers, and how much they add to the site.

Run after `w2w build-talk`:  python benchmarks/bench_explore.py [site]

1. Response: the built deck and handout opened from file:// with every other request aborted. For
   each control, the time from the event to the page showing the result (the handlers run
   synchronously; for a picture, until the new image has decoded), median and worst of 20 changes.
   Compared with the recorded trace's own fragment step (Reveal.next), the deck's ordinary
   interaction, as a ratio.
2. Size: the bytes the explorables put in the site (inlined JSON, their scripts and styles, the
   tree's share of the trace files, the embedding vocabulary's vocab.js copies) against the whole site.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe  # noqa: E402

from w2w.publish.browser import OfflinePage, browser  # noqa: E402

CHOOSE = """async ([step, rank]) => {
  const s = document.querySelector('.present') || document;
  const t0 = performance.now();
  s.querySelectorAll('.w2w-explore-token')[step].click();
  s.querySelectorAll('.w2w-explore-candidate')[rank].click();
  return performance.now() - t0;
}"""
SELECT = """async ([name, value]) => {
  const s = document.querySelector('.present') || document;
  const select = s.querySelector('.w2w-explore-grid select[name=' + name + ']');
  const img = s.querySelector('.w2w-live-image') || s.querySelector('.w2w-strip img');
  const t0 = performance.now();
  select.value = value;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  await img.decode();
  return performance.now() - t0;
}"""
# A word looked up in the embedding plot's vocabulary (explore-words.js): its cosine with all 2,015 words
# (int8, 384 dims), the nearest five, the SVG redrawn. The first lookup also decodes the base64 vectors.
LOOK_UP = """async (word) => {
  const s = document.querySelector('.present') || document;
  const form = s.querySelector('.w2w-explore-words form');
  form.elements.word.value = word;
  const t0 = performance.now();
  form.requestSubmit();
  return performance.now() - t0;
}"""
WORDS = ["house", "music", "river", "king", "water", "green", "city", "night", "war", "love"]
# The shapes evaluation's sweep: a select changed, until the new strip of 16 pictures has decoded and
# the next frame is drawn (the tiles are a CSS background, so the strip is decoded apart here).
EVAL = """async ([name, value]) => {
  const box = document.querySelector('.present .w2w-eval');
  const select = box.querySelector('select[name=' + name + ']');
  const t0 = performance.now();
  select.value = value;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  const image = new Image();
  image.src = box.style.getPropertyValue('--w2w-eval-tiles').slice(5, -2);
  await image.decode();
  await new Promise((done) => requestAnimationFrame(() => done()));
  return performance.now() - t0;
}"""
FRAGMENT = """async () => { const t0 = performance.now(); Reveal.next(); return performance.now() - t0; }"""


def timings(page, script, args_list):
    return [page.evaluate(script, args) for args in args_list]


def summary(name, values):
    print(f"{name:<38} median {statistics.median(values):6.2f} ms   worst {max(values):6.2f} ms   (n={len(values)})")
    return statistics.median(values)


def main() -> None:
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "site").resolve()
    print("machine:", describe())
    with browser() as chromium:
        view = OfflinePage(chromium, 1280, 720)
        page = view.page
        page.goto((site / "slides" / "index.html").as_uri())
        page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=60000)
        index = page.evaluate("() => Reveal.getSlides().findIndex((s) => s.querySelector('.w2w-explore-tokens'))")
        page.evaluate("(i) => Reveal.slide(i)", index)
        fragment = timings(page, FRAGMENT, [None] * 5)
        page.evaluate("(i) => Reveal.slide(i)", index)
        page.click(".present .w2w-explore-toggle")
        steps = page.evaluate("() => document.querySelectorAll('.present .w2w-explore-token').length")
        choose = timings(page, CHOOSE, [[i % min(steps, 4), 1 + i % 3] for i in range(20)])
        demo = page.evaluate(
            "() => Reveal.getSlides().findIndex((s) => s.querySelector('.w2w-demo .w2w-explore-grid'))"
        )
        page.evaluate("(i) => Reveal.slide(i)", demo)
        grid = timings(
            page,
            SELECT,
            [["seed", str(i % 4)] if i % 2 else ["guidance", ["0", "1", "4", "8"][i % 4]] for i in range(20)],
        )
        strip = page.evaluate(
            "() => Reveal.getSlides().findIndex((s) => s.querySelector('[data-w2w-live=diffusion_strip] form'))"
        )
        page.evaluate("(i) => Reveal.slide(i)", strip)
        strip_t = timings(page, SELECT, [["steps", ["10", "25", "50"][i % 3]] for i in range(20)])
        evaluation = page.evaluate("() => Reveal.getSlides().findIndex((s) => s.querySelector('.w2w-eval form'))")
        page.evaluate("(i) => Reveal.slide(i)", evaluation)
        eval_t = timings(
            page,
            EVAL,
            [["seed", str(i % 4)] if i % 2 else ["guidance", ["0", "1", "4", "8"][i % 4]] for i in range(20)],
        )
        vectors = page.evaluate("() => Reveal.getSlides().findIndex((s) => s.querySelector('.w2w-explore-words'))")
        page.evaluate("(i) => Reveal.slide(i)", vectors)
        first = timings(page, LOOK_UP, ["cat"])
        words = timings(page, LOOK_UP, WORDS * 2)
        problems = view.problems("deck")
        view.close()
    base = summary("deck: reveal.js fragment step", fragment)
    for name, values in (
        ("deck: choose a token (tree)", choose),
        ("deck: demo seed/guidance", grid),
        ("deck: strip steps", strip_t),
        ("deck: evaluation seed/guidance", eval_t),
        ("deck: look up a word (vocabulary)", words),
    ):
        print(f"{summary(name, values) / max(base, 1e-3):.2f}x the fragment step")
    print(f"deck: first word looked up (decodes the vectors)  {first[0]:6.2f} ms")
    print("problems:", problems or "none")
    inline = 0
    for html in list(site.rglob("*.html")):
        text = html.read_text(encoding="utf-8")
        for match in re.finditer(
            r'<script type="application/json" class="w2w-(?:explore|grid|eval)-data"[^>]*>(.*?)</script>', text, re.S
        ):
            inline += len(match.group(1).encode())
    assets = sum(p.stat().st_size for p in site.rglob("w2w-explore*"))
    assets += sum(p.stat().st_size for p in site.rglob("w2w-live-diffusion.js"))
    vocab = sum(p.stat().st_size for p in site.rglob("artifacts/embedding_plot/vocab.js"))
    tree = 0
    for trace in site.rglob("artifacts/token_trace/trace.json"):
        tree += len(
            json.dumps(json.loads(trace.read_text())["tree"], ensure_ascii=False, separators=(",", ":")).encode()
        )
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(
        f"site: {total / 1e6:.2f} MB; explorables {(inline + assets + tree + vocab) / 1e6:.2f} MB "
        f"(inlined data {inline / 1e6:.2f}, scripts/styles {assets / 1e3:.1f} kB, tree in trace.json {tree / 1e6:.2f}, "
        f"vocabulary files {vocab / 1e6:.2f})"
    )


if __name__ == "__main__":
    main()
