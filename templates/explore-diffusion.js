/* w2w explorable diffusion demo: seed, guidance and steps, offline.

   The build ran the demo's caption at every seed x guidance x step count of the sweep
   (w2w_generators/diffusion/sweep.py) and the page inlines each cell: the final 32x32 picture (a PNG data
   URL, its very pixels) and its x̂0 frames at the strip's steps as one PNG-8 strip. Changing a
   control swaps the picture next to the form (demo slide, handout) or the strip's frames (strip
   slide), and the words that describe them, at once: no request is made.

   The shapes model's evaluation (shapes_eval_grid) has a sweep of its own: at each setting its 16
   pictures as one strip of tiles and which of them are right; a change swaps the strip, the marks
   and the count. */
(function () {
  "use strict";

  const { readJSON, pngData, selectsKeepKeys } = window.w2wDom; // dom.js, loaded before this file

  function grids() {
    const out = {};
    document.querySelectorAll("script.w2w-grid-data").forEach((script) => {
      const grid = readJSON(script);
      if (grid) out[script.dataset.w2wGrid] = grid; // a broken page: no controls
    });
    return out;
  }

  // reveal.js scales the whole slide: a rendered width divided by the scale is a CSS width.
  function scale() {
    const slides = document.querySelector(".reveal .slides");
    return slides && slides.offsetWidth ? slides.getBoundingClientRect().width / slides.offsetWidth : 1;
  }

  function setup(form, grid) {
    const box = form.closest(".w2w-demo, [data-w2w-live='diffusion_strip'], .w2w-explore-strip");
    if (!box) return;
    const line = form.querySelector(".w2w-explore-grid-line");
    const image = box.querySelector("img.w2w-live-image");
    const settings = box.querySelector(".w2w-demo-settings");
    const timing = box.querySelector(".w2w-demo-timing");
    const frames = Array.from(box.querySelectorAll(".w2w-strip figure"));
    const original = {
      image: image && { src: image.getAttribute("src"), alt: image.alt },
      settings: settings && settings.textContent,
      timing: timing && timing.textContent,
      frames: frames.map((f) => ({ src: f.querySelector("img").getAttribute("src"), alt: f.querySelector("img").alt, caption: f.querySelector("figcaption").textContent })),
    };
    const rec = grid.recorded;

    function show() {
      const seed = Number(form.elements.seed.value), guidance = Number(form.elements.guidance.value), steps = Number(form.elements.steps.value);
      const cell = grid.cells[seed + "|" + guidance + "|" + steps];
      if (!cell) return;
      const recorded = seed === rec.seed && guidance === rec.guidance && steps === rec.steps;
      box.classList.toggle("w2w-explore-changed", !recorded);
      box.dataset.w2wGridCell = seed + "|" + guidance + "|" + steps;
      const what = steps + " " + String(grid.scheduler).toUpperCase() + " steps · guidance " + guidance + (guidance === 0 ? " (no text)" : "") + " · seed " + seed;
      if (image) {
        image.src = recorded ? original.image.src : pngData(cell.image);
        image.alt = recorded ? original.image.alt : "Precomputed image for the prompt: " + grid.prompt + ", " + what;
      }
      if (settings) settings.textContent = recorded ? original.settings : what;
      if (timing) timing.textContent = recorded ? original.timing : "Precomputed at build time; not timed.";
      frames.forEach((figure, k) => {
        const img = figure.querySelector("img");
        const caption = figure.querySelector("figcaption");
        if (recorded) {
          img.src = original.frames[k].src; img.alt = original.frames[k].alt; img.style.objectPosition = ""; img.classList.remove("w2w-grid-crop");
          img.style.width = img.style.height = img.style.objectFit = "";
          caption.textContent = original.frames[k].caption;
          return;
        }
        const n = cell.frame_steps.length;
        const j = Math.min(k, n - 1);
        // Keep the frame's square box (its rendered size) so that object-fit crops the wide strip.
        if (!img.classList.contains("w2w-grid-crop")) { const w = img.getBoundingClientRect().width / scale(); img.style.width = img.style.height = w + "px"; img.style.objectFit = "cover"; }
        img.src = pngData(cell.strip);
        img.classList.add("w2w-grid-crop"); // object-fit: cover shows one 32-px frame of the strip
        img.style.objectPosition = (n > 1 ? (100 * j) / (n - 1) : 0) + "% 0";
        img.alt = "The model's prediction of the clean image after step " + cell.frame_steps[j] + " of " + steps + " (" + what + ")";
        caption.textContent = "step " + cell.frame_steps[j] + "/" + steps;
      });
      if (line) line.textContent = recorded ? "the recorded run" : guidance === 0 ? "precomputed: the picture without the caption" : "precomputed";
    }

    form.addEventListener("change", show);
    form.addEventListener("submit", (event) => event.preventDefault());
    selectsKeepKeys(form); // the arrow keys on seed, guidance and steps choose, not turn the slide
    // A live run or a replay on the slide draws its own picture and words (live-diffusion.js): the
    // controls go back to the recorded setting, so that no word on the slide describes another run.
    function recordedControls(why) {
      form.elements.seed.value = String(rec.seed);
      form.elements.guidance.value = String(rec.guidance);
      form.elements.steps.value = String(rec.steps);
      box.classList.remove("w2w-explore-changed");
      delete box.dataset.w2wGridCell;
      if (line) line.textContent = why;
    }
    const live = box.querySelector("form.w2w-live-form");
    if (live) live.addEventListener("submit", () => recordedControls("the run shown is described beside it"));
    const replay = box.querySelector(".w2w-live-replay");
    if (replay) replay.addEventListener("click", () => recordedControls("the recorded run"));
  }

  function setupEval(box) {
    const form = box.querySelector("form[data-w2w-explore='eval']");
    const script = box.querySelector("script.w2w-eval-data");
    if (!form || !script) return;
    const data = readJSON(script);
    if (!data) return;
    const count = box.querySelector(".w2w-eval-count");
    const setting = box.querySelector(".w2w-eval-setting");
    const line = form.querySelector(".w2w-explore-grid-line");
    const tiles = Array.from(box.querySelectorAll(".w2w-eval-tile"));
    const rec = data.recorded;
    selectsKeepKeys(form);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", () => {
      const seed = Number(form.elements.seed.value), guidance = Number(form.elements.guidance.value), steps = Number(form.elements.steps.value);
      const key = seed + "|" + guidance + "|" + steps;
      const cell = data.cells[key];
      const src = cell && cell.tiles;
      if (typeof src !== "string" || !/^data:image\/webp;base64,[A-Za-z0-9+/=]+$/.test(src)) return; // it goes inside url("…")
      box.style.setProperty("--w2w-eval-tiles", 'url("' + src + '")');
      let right = 0;
      tiles.forEach((tile) => {
        const i = Number(tile.dataset.w2wCase), ok = cell.correct[i] === true;
        if (ok) right++;
        tile.classList.toggle("w2w-eval-wrong", !ok);
        tile.querySelector(".w2w-eval-mark").textContent = ok ? "✓" : "✗";
        tile.querySelector(".w2w-eval-picture").setAttribute("aria-label", data.prompts[i] + ": " + (ok ? "the right arrangement" : "not the arrangement the caption says"));
      });
      count.textContent = right + " of " + tiles.length;
      setting.textContent = "seed " + seed + ", guidance " + guidance + (guidance === 0 ? " (no text)" : "") + ", " + steps + " " + String(data.scheduler).toUpperCase() + " steps";
      const recorded = seed === rec.seed && guidance === rec.guidance && steps === rec.steps;
      box.classList.toggle("w2w-explore-changed", !recorded);
      box.dataset.w2wGridCell = key;
      if (line) line.textContent = recorded ? "the measured setting" : guidance === 0 ? "precomputed: pictures drawn without their captions" : "precomputed";
    });
  }

  function start() {
    const data = grids();
    document.querySelectorAll("form[data-w2w-explore='diffusion']").forEach((form) => {
      if (data[form.dataset.w2wGrid]) setup(form, data[form.dataset.w2wGrid]);
    });
    document.querySelectorAll(".w2w-eval").forEach(setupEval);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
