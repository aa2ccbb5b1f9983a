/* w2w explorable loop: plan -> render -> describe -> compare -> refine, offline.

   The build ran the real models on a few requests (w2w_generators/loop/) and inlined every round:
   the planner's tokens (each with its probability among what the grammar allowed, and the rivals),
   the seed, guidance and steps, the x̂0 strip (one sprite per round: a step is a crop of it), the
   describer's tokens (each with its probability and top rivals), the verdict and what the next
   round changed. This script builds the controls: a request, a round, a token, a step (in divs:
   a <section> inside a slide would become a vertical slide of reveal.js). No request
   leaves the page (file:// and the handout alike); everything from a model goes in as textContent. */
(function () {
  "use strict";

  const { el, readJSON, pct, selectsKeepKeys } = window.w2wDom; // dom.js, loaded before this file

  const CHANGES = { seed: "another seed", guidance: "stronger guidance", plan: "a new plan" };

  function word(token) { return String(token).trim() || "·"; }

  function nextLine(round) {
    const next = round.next;
    if (!next) return round.agree ? "The loop stops: the description is the plan." : "The loop stops: no round left.";
    if (typeof next === "string") return next;
    return "Next round: " + CHANGES[next.kind] + " (" + next.kind + " " + next.from + " → " + next.to + ").";
  }

  function heading(text) { return el("h3", null, text); }

  // The controls and the three stages, built once per explorer; returns the elements it updates.
  function build(root, data) {
    const ui = { select: el("select"), rounds: el("div", "w2w-loop-rounds"), planTokens: el("p", "w2w-loop-tokens"),
      planAlts: el("p", "w2w-loop-alts"), frame: el("img", "w2w-loop-frame"), slider: el("input"), stepText: el("span", "num"),
      settings: el("p", "w2w-loop-settings"), sayTokens: el("p", "w2w-loop-tokens"), sayAlts: el("p", "w2w-loop-alts"),
      verdict: el("p", "w2w-loop-verdict") };
    data.requests.forEach((r, i) => {
      const option = el("option", null, r.request + (r.guess ? " (a guess)" : ""));
      option.value = String(i);
      ui.select.appendChild(option);
    });
    const pick = el("label", "w2w-loop-pick", "Request ");
    pick.appendChild(ui.select);
    ui.rounds.setAttribute("role", "group");
    ui.rounds.setAttribute("aria-label", "Rounds");
    const bar = el("div", "w2w-loop-bar");
    bar.append(pick, ui.rounds);
    ui.slider.type = "range";
    ui.slider.min = "1";
    const step = el("label", "w2w-loop-step");
    step.append("Step ", ui.slider, " ", ui.stepText);
    const stages = el("div", "w2w-loop-stages");
    const plan = el("div", "w2w-loop-stage w2w-loop-plan");
    plan.append(heading("1 · Plan (SmolLM2 + LoRA)"), ui.planTokens, ui.planAlts);
    const render = el("div", "w2w-loop-stage w2w-loop-render");
    render.append(heading("2 · Render (diffusion)"), ui.frame, step, ui.settings);
    const describe = el("div", "w2w-loop-stage w2w-loop-describe");
    describe.append(heading("3 · Describe (our VLM)"), ui.sayTokens, ui.sayAlts);
    stages.append(plan, render, describe);
    ui.verdict.setAttribute("role", "status");
    ui.verdict.setAttribute("aria-live", "polite");
    root.textContent = "";
    root.append(bar, stages, ui.verdict);
    root.classList.add("w2w-loop-on");
    return ui;
  }

  // One button per token (a word of the plan or of the description), the chosen one pressed.
  function tokenButtons(box, tokens, pressed, label, onPick) {
    box.textContent = "";
    tokens.forEach((t, i) => {
      const button = el("button", "w2w-loop-token" + (t.forced ? " w2w-loop-forced" : ""), word(t.token));
      button.type = "button";
      button.setAttribute("aria-pressed", i === pressed ? "true" : "false");
      button.setAttribute("aria-label", label + " token " + (i + 1) + ": " + word(t.token) + ", " + pct(t.prob !== undefined ? t.prob : t.p));
      button.addEventListener("click", () => { onPick(i); box.querySelectorAll("button")[i].focus(); });
      box.appendChild(button);
    });
  }

  function planLine(t) {
    if (t.forced) return "“" + word(t.token) + "”: forced by the grammar (the only token allowed here)";
    return "“" + word(t.token) + "” " + pct(t.prob) + " of what the grammar allowed; rivals: " +
      t.allowed.slice(1).map((a) => "“" + word(a.token) + "” " + pct(a.prob)).join(", ");
  }

  function sayLine(t) {
    return "“" + word(t.token) + "” " + pct(t.p) + "; rivals: " +
      t.top.filter((a) => a.token !== t.token).map((a) => "“" + word(a.token) + "” " + pct(a.p)).join(", ");
  }

  // The slider's step: a crop of the round's x̂0 sprite; the last step is the exact picture the
  // describer read (the sprite's colours are a palette).
  function showStep(ui, data, r) {
    const step = Number(ui.slider.value);
    const frames = r.frames;
    const src = data.urls[step === frames ? r.picture : r.strip];
    if (ui.frame.getAttribute("src") !== src) ui.frame.setAttribute("src", src);
    ui.frame.style.objectPosition = (frames > 1 ? (100 * (step - 1)) / (frames - 1) : 0).toFixed(3) + "% 0";
    ui.stepText.textContent = step + "/" + frames + (step === frames ? " (the picture)" : "");
    ui.frame.alt = "The diffusion model's guess of the finished picture (x̂0) after step " + step + " of " + frames +
      ", drawing “" + r.plan + "”";
  }

  function setup(root) {
    const data = readJSON(root.querySelector("script.w2w-loop-data"));
    if (!data || !data.requests || !data.requests.length) return;
    const ui = build(root, data);
    const at = { request: Math.min(Number(root.dataset.w2wLoopStart) || 0, data.requests.length - 1), round: 0, plan: 0, say: 0 };
    const current = () => data.requests[at.request].rounds[at.round];

    function showTokens() {
      const r = current();
      tokenButtons(ui.planTokens, r.plan_tokens, at.plan, "Plan", (i) => { at.plan = i; showTokens(); });
      ui.planAlts.textContent = planLine(r.plan_tokens[at.plan]);
      tokenButtons(ui.sayTokens, r.description_tokens, at.say, "Description", (i) => { at.say = i; showTokens(); });
      ui.sayAlts.textContent = sayLine(r.description_tokens[at.say]);
    }

    function showRound() {
      const req = data.requests[at.request];
      const r = current();
      // A round that kept the plan (another seed, stronger guidance) shares the planning round's tokens.
      for (let k = at.round; !r.plan_tokens && k >= 0; k--) r.plan_tokens = req.rounds[k].plan_tokens;
      ui.rounds.textContent = "";
      req.rounds.forEach((x, i) => {
        const button = el("button", "w2w-loop-round" + (x.agree ? " w2w-loop-agree" : ""), "Round " + x.round + (x.agree ? " ✓" : " ✗"));
        button.type = "button";
        button.setAttribute("aria-pressed", i === at.round ? "true" : "false");
        button.setAttribute("aria-label", "Round " + x.round + ": " + (x.agree ? "agrees" : "differs"));
        button.addEventListener("click", () => { Object.assign(at, { round: i, say: 0 }); showRound(); ui.rounds.querySelectorAll("button")[i].focus(); });
        ui.rounds.appendChild(button);
      });
      at.plan = Math.max(0, r.plan_tokens.findIndex((t) => !t.forced)); // the first choice the model made
      showTokens();
      ui.slider.max = ui.slider.value = String(r.frames);
      ui.slider.setAttribute("aria-label", "Denoising step, 1 to " + r.frames);
      showStep(ui, data, r);
      ui.settings.textContent = "seed " + r.seed + " · guidance " + r.guidance + " · " + r.steps + " DDIM steps";
      ui.verdict.textContent = "";
      ui.verdict.append(el("strong", r.agree ? "w2w-loop-yes" : "w2w-loop-no", r.agree ? "✓ agrees" : "✗ differs"),
        " — planned “" + r.plan + "”, read “" + r.description + "”. " + nextLine(r));
      root.dataset.w2wLoopShown = at.request + ":" + at.round;
    }

    selectsKeepKeys(root); // the arrow keys on the request's select choose a request, not a slide
    ui.select.value = String(at.request);
    ui.select.addEventListener("change", () => { Object.assign(at, { request: Number(ui.select.value), round: 0, say: 0 }); showRound(); });
    ui.slider.addEventListener("input", () => showStep(ui, data, current()));
    showRound();
  }

  function init() { document.querySelectorAll("[data-w2w-loop]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
