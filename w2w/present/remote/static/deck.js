/* w2w remote, the deck's side (added by `w2w present --remote` or `--rehearse` to the deck it
   serves; never in the built deck, which opens from file:// with no request). With the presenter
   token (live.js keeps it in sessionStorage):
   - in the top window (the projected deck): reports its state on each slide and fragment change
     (the slide, the next one, their notes as text, the section's share of the pacing timer, the
     live slide's form), which the remote's phone shows and the rehearsal records; and carries out
     the phone's commands with reveal.js's own API (next, prev, nextFragment; run: the text in the
     slide's input, then its Run button, as door.js does for the room).
   - in reveal.js's speaker view (its "current slide" preview, whose parent is the speaker's
     window): the pairing code, its QR code, and the buttons for a new code and to revoke the
     remotes. Only there: the projected deck and the phones never get the code. */
(function () {
  "use strict";
  if (!window.Reveal || window.location.protocol !== "http:") return;
  let token = null;
  try { token = window.sessionStorage.getItem("w2w-live-token"); } catch { token = null; }
  if (!token) return;

  function load(src, then) {
    const script = document.createElement("script");
    script.src = src;
    script.onload = then;
    document.body.appendChild(script);
  }

  const receiver = /[?&]receiver/.test(window.location.search);
  if (window.top !== window) {
    let inCurrent;
    try { inCurrent = receiver && !!window.frameElement && !!window.frameElement.closest("#current-slide"); } catch { inCurrent = false; }
    if (inCurrent) load("/remote/remote-stream.js", () => load("/remote/speaker.js", () => window.w2wSpeakerPanel(token)));
    return;
  }

  const text = (node) => (node ? node.textContent.replace(/\s+/g, " ").trim() : "");
  // The notes as text, a paragraph a line: textContent, not innerText, which lays the page out.
  const notesOf = (slide) => {
    const aside = slide && slide.querySelector("aside.notes");
    if (!aside) return "";
    const blocks = Array.from(aside.children).map(text).filter(Boolean);
    return blocks.length ? blocks.join("\n") : text(aside);
  };
  const titleOf = (slide) => text(slide && slide.querySelector("h1, h2, h3"));

  function sectionOf(slide, all) {
    if (slide.dataset.section) return slide.dataset.section;
    const first = all.find((s) => s.dataset.section); // the title and agenda: the first part's share
    return first ? first.dataset.section : "";
  }

  function formOf(slide) {
    const live = slide.querySelector("[data-w2w-live]");
    const input = live && live.querySelector("form.w2w-live-form input.w2w-live-input");
    if (!input) return null;
    let generator;
    try { generator = JSON.parse(live.querySelector("script.w2w-live-data").textContent).generator || ""; } catch { generator = ""; }
    const label = input.labels && input.labels[0] ? text(input.labels[0]) : input.getAttribute("aria-label") || input.placeholder || "";
    return { generator: generator.slice(0, 40), label: label.slice(0, 200), value: input.value.slice(0, 2000), max_length: input.maxLength > 0 ? Math.min(input.maxLength, 2000) : 400 };
  }

  function state() {
    const slide = window.Reveal.getCurrentSlide();
    const all = window.Reveal.getSlides();
    const at = window.Reveal.getIndices();
    const index = all.indexOf(slide);
    const next = all[index + 1];
    const section = sectionOf(slide, all);
    const budget = all.filter((s) => sectionOf(s, all) === section).reduce((sum, s) => sum + (Number(s.dataset.timing) || 0), 0);
    return {
      h: at.h, v: at.v || 0, f: typeof at.f === "number" ? at.f : -1, index: index + 1, total: all.length,
      title: titleOf(slide).slice(0, 300), notes: notesOf(slide).slice(0, 8000),
      next_title: titleOf(next).slice(0, 300), next_notes: notesOf(next).slice(0, 8000),
      section: section.slice(0, 80), section_title: text(slide.querySelector(".w2w-footer")).slice(0, 300),
      budget_s: Math.round(budget), slot_s: Math.round(Number(window.Reveal.getConfig().totalTime) || 0),
      form: formOf(slide),
    };
  }

  load("/remote/remote-stream.js", () => {
    const remote = window.w2wRemoteStream;
    let last = "";
    function report() {
      const now = state();
      const key = [now.h, now.v, now.f].join(".");
      if (key === last) return;
      last = key;
      remote.post("/remote/api/state", token, now).then((r) => { if (!r.ok) last = ""; });
    }
    // After the next paint: the projected deck moves first, the remote's bookkeeping comes after.
    const soon = () => window.requestAnimationFrame(() => window.setTimeout(report, 0));
    ["slidechanged", "fragmentshown", "fragmenthidden", "ready"].forEach((name) => window.Reveal.on(name, soon));
    if (window.Reveal.isReady()) report();

    function run(order) {
      window.Reveal.slide(order.h, order.v);
      const slide = window.Reveal.getCurrentSlide();
      const form = slide && slide.querySelector("[data-w2w-live] form.w2w-live-form");
      const input = form && form.querySelector("input.w2w-live-input");
      if (!input) return;
      input.value = order.text;
      form.requestSubmit();
    }
    const actions = {
      next: () => window.Reveal.next(),
      prev: () => window.Reveal.prev(),
      fragment: () => window.Reveal.nextFragment(),
      run: run,
    };
    remote.follow("/remote/api/deck", token, (type, data) => {
      if (type !== "command" || !actions[data.action]) return;
      document.documentElement.dataset.w2wRemoteSeq = String(data.seq); // received: what benchmarks/bench_remote.py times
      actions[data.action](data);
    }, () => null, () => null);
  });
})();
