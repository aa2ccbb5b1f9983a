/* w2w explorable embedding plot: any word of a vocabulary, offline.

   The build embedded the commonest words of the model's own vocabulary with the plot's encoder and
   projected them on the plot's two PCA axes (w2w_generators/embedding_plot/vocab.py); the page loads them
   with a <script src> (window.w2wVocab, works from file://). A reader types a word: it is placed on
   those axes with its nearest words, and compared with a second word, by the cosine similarity of
   the full vectors (int8 in the file; the cosine does not depend on a vector's length, so no scale
   is stored). No request is made. Everything typed goes in with textContent. */
(function () {
  "use strict";

  const { el } = window.w2wDom; // dom.js, loaded before this file
  const SVG = "http://www.w3.org/2000/svg";
  const NEAREST = 5;

  // Decode once per vocabulary: int8 vectors and their norms, and a word -> row index.
  function load(vocab) {
    if (vocab.decoded) return vocab.decoded;
    const bytes = atob(vocab.vectors);
    const n = vocab.words.length, d = vocab.dims;
    const vectors = new Int8Array(n * d);
    for (let i = 0; i < vectors.length; i++) vectors[i] = bytes.charCodeAt(i) << 24 >> 24;
    const norms = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = i * d; k < (i + 1) * d; k++) s += vectors[k] * vectors[k];
      norms[i] = Math.sqrt(s) || 1;
    }
    const index = new Map();
    vocab.words.forEach((w, i) => { if (!index.has(w.toLowerCase())) index.set(w.toLowerCase(), i); });
    vocab.decoded = { vectors, norms, index, n, d };
    return vocab.decoded;
  }

  function cosines(v, i) {
    const out = new Float64Array(v.n);
    const a = i * v.d;
    for (let j = 0; j < v.n; j++) {
      let s = 0;
      const b = j * v.d;
      for (let k = 0; k < v.d; k++) s += v.vectors[a + k] * v.vectors[b + k];
      out[j] = s / (v.norms[i] * v.norms[j]);
    }
    return out;
  }

  function setup(root, vocab) {
    const form = root.querySelector("form");
    const line = root.querySelector(".w2w-explore-words-line");
    const panel = root.querySelector(".w2w-explore-words-panel");
    const svg = root.querySelector("svg");
    const list = root.querySelector(".w2w-explore-words-near");
    const back = root.querySelector(".w2w-explore-words-back");
    const section = root.closest("section") || root.parentElement;
    const initial = line.textContent;
    const plotted = vocab.plotted;
    // On a slide the looked-up word's plot takes the figure's place, above the forms, which stay put.
    const figure = root.closest(".reveal") && section.querySelector("[data-w2w-live='embedding_plot'] > .w2w-figure");
    if (figure) figure.parentNode.insertBefore(panel, figure);
    const point = (i) => [vocab.points[2 * i], vocab.points[2 * i + 1]];

    function draw(shown) {
      svg.textContent = "";
      const all = [];
      for (let i = 0; i < plotted; i++) all.push(point(i));
      shown.forEach((s) => all.push(point(s.i)));
      const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
      const x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
      const W = 640, H = 400, pad = 30;
      const sx = (W - 2 * pad - 110) / Math.max(1e-6, x1 - x0), sy = (H - 2 * pad) / Math.max(1e-6, y1 - y0);
      const at = (p) => [pad + (p[0] - x0) * sx, H - pad - (p[1] - y0) * sy];
      function dot(i, cls) {
        const xy = at(point(i));
        const g = document.createElementNS(SVG, "g");
        g.setAttribute("class", cls);
        const c = document.createElementNS(SVG, "circle");
        c.setAttribute("cx", xy[0].toFixed(1)); c.setAttribute("cy", xy[1].toFixed(1)); c.setAttribute("r", cls === "w2w-words-typed" ? "8" : "5");
        const t = document.createElementNS(SVG, "text");
        t.setAttribute("x", (xy[0] + 9).toFixed(1)); t.setAttribute("y", (xy[1] - 7).toFixed(1));
        t.textContent = vocab.words[i];
        g.appendChild(c); g.appendChild(t);
        svg.appendChild(g);
        unclash(t);
      }
      // Neighbours sit close together: a label that would overprint one already drawn moves down or
      // up a line at a time (the typed word and its neighbours are drawn first, so they keep their place).
      const boxes = [];
      function unclash(t) {
        const y = Number(t.getAttribute("y"));
        for (let k = 0; k < 8; k++) {
          const b = t.getBBox();
          if (!boxes.some((o) => b.x < o.x + o.width && o.x < b.x + b.width && b.y < o.y + o.height && o.y < b.y + b.height)) break;
          t.setAttribute("y", (y + (k % 2 ? -1 : 1) * Math.ceil((k + 1) / 2) * b.height).toFixed(1));
        }
        boxes.push(t.getBBox());
      }
      const own = new Set(shown.map((s) => s.i));
      shown.slice().reverse().forEach((s) => dot(s.i, s.cls));
      for (let i = 0; i < plotted; i++) if (!own.has(i)) dot(i, "w2w-words-plotted");
    }

    function open(on) {
      panel.hidden = !on;
      back.hidden = !on;
      section.classList.toggle("w2w-words-on", on);
      if (!on) { delete root.dataset.w2wWord; delete root.dataset.w2wSimilarity; }
    }

    function say(text) { line.textContent = text; }

    function lookUp(event) {
      event.preventDefault();
      const v = load(vocab);
      const word = form.elements.word.value.trim().toLowerCase();
      const other = form.elements.other.value.trim().toLowerCase();
      if (!word) { say("Type a word first."); return; }
      const missing = [word, other].filter((w) => w && !v.index.has(w));
      if (missing.length) {
        open(false);
        const live = section.querySelector("form.w2w-live-form");
        const server = window.w2wLive && window.w2wLive.canCallServer() && live;
        say("“" + missing.join("”, “") + "” " + (missing.length > 1 ? "are" : "is") + " not among the " + v.n.toLocaleString("en") + " words precomputed when the talk was built" +
          (server ? "; the live server places it above." : "; with the live server (w2w present), the form above places any word."));
        if (server) { live.querySelector("input").value = missing.join(", "); live.requestSubmit(); }
        return;
      }
      const i = v.index.get(word);
      const sims = cosines(v, i);
      const order = Array.from(sims.keys()).filter((j) => j !== i).sort((a, b) => sims[b] - sims[a]).slice(0, NEAREST);
      const j = other ? v.index.get(other) : -1;
      const shown = order.map((k) => ({ i: k, cls: "w2w-words-near" }));
      if (j >= 0 && j !== i && !order.includes(j)) shown.push({ i: j, cls: "w2w-words-other" });
      shown.push({ i: i, cls: "w2w-words-typed" });
      open(true); // drawn visible: the labels' boxes are measured
      draw(shown);
      list.textContent = "";
      order.forEach((k) => {
        const item = el("li");
        item.appendChild(el("span", "w2w-words-name", vocab.words[k]));
        item.appendChild(el("span", "num", sims[k].toFixed(2)));
        list.appendChild(item);
      });
      root.dataset.w2wWord = vocab.words[i];
      let text = "“" + vocab.words[i] + "” placed on the plot's axes with its " + NEAREST + " nearest words";
      if (j >= 0) {
        root.dataset.w2wSimilarity = sims[j].toFixed(4);
        text += "; with “" + vocab.words[j] + "”: " + sims[j].toFixed(2);
      }
      say(text + ". Cosine similarity of the full vectors: 1 = same direction, 0 = unrelated.");
    }

    form.addEventListener("submit", lookUp);
    // Decoding the vectors takes about 38 ms (BENCHMARKS.md): done as the reader starts typing.
    form.addEventListener("focusin", () => load(vocab), { once: true });
    back.addEventListener("click", () => { open(false); say(initial); form.elements.word.focus(); });
    // A live run or a replay draws its own plot on the slide: the explorer gives it the place.
    const live = section.querySelector("form.w2w-live-form");
    if (live) live.addEventListener("submit", () => { if (!panel.hidden) { open(false); say(initial); } });
    const replay = section.querySelector(".w2w-live-replay");
    if (replay) replay.addEventListener("click", () => { open(false); say(initial); });
  }

  function start() {
    document.querySelectorAll("[data-w2w-explore='embedding']").forEach((root) => {
      const vocab = (window.w2wVocab || {})[root.dataset.w2wVocab];
      if (vocab) setup(root, vocab);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
