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

  const { el, readJSON, pct } = window.w2wDom; // dom.js, loaded before this file

  const CHANGES = { seed: "another seed", guidance: "stronger guidance", plan: "a new plan" };

  function word(token) { return String(token).trim() || "·"; }

  function nextLine(round) {
    const next = round.next;
    if (!next) return round.agree ? "The loop stops: the description is the plan." : "The loop stops: no round left.";
    if (typeof next === "string") return next;
    return "Next round: " + CHANGES[next.kind] + " (" + next.kind + " " + next.from + " → " + next.to + ").";
  }

  function setup(root) {
    const data = readJSON(root.querySelector("script.w2w-loop-data"));
    if (!data || !data.requests || !data.requests.length) return;
    const id = "w2w-loop-" + Math.random().toString(36).slice(2, 8);
    let request = Math.min(Number(root.dataset.w2wLoopStart) || 0, data.requests.length - 1);
    let round = 0;
    let planPick = 0;
    let sayPick = 0;

    const bar = el("div", "w2w-loop-bar");
    const pickLabel = el("label", "w2w-loop-pick", "Request ");
    const select = el("select");
    select.id = id + "-request";
    data.requests.forEach((r, i) => {
      const option = el("option", null, r.request + (r.guess ? " (a guess)" : ""));
      option.value = String(i);
      select.appendChild(option);
    });
    pickLabel.appendChild(select);
    const rounds = el("div", "w2w-loop-rounds");
    rounds.setAttribute("role", "group");
    rounds.setAttribute("aria-label", "Rounds");
    bar.append(pickLabel, rounds);

    const stages = el("div", "w2w-loop-stages");
    const plan = el("div", "w2w-loop-stage w2w-loop-plan");
    const planTokens = el("p", "w2w-loop-tokens");
    const planAlts = el("p", "w2w-loop-alts");
    plan.append(el("h3", null, "1 · Plan (SmolLM2 + LoRA)"), planTokens, planAlts);
    const render = el("div", "w2w-loop-stage w2w-loop-render");
    const frame = el("img", "w2w-loop-frame");
    const stepLabel = el("label", "w2w-loop-step");
    const slider = el("input");
    slider.type = "range";
    slider.min = "1";
    const stepText = el("span", "num");
    stepLabel.append("Step ", slider, " ", stepText);
    const settings = el("p", "w2w-loop-settings");
    render.append(el("h3", null, "2 · Render (diffusion)"), frame, stepLabel, settings);
    const describe = el("div", "w2w-loop-stage w2w-loop-describe");
    const sayTokens = el("p", "w2w-loop-tokens");
    const sayAlts = el("p", "w2w-loop-alts");
    describe.append(el("h3", null, "3 · Describe (our VLM)"), sayTokens, sayAlts);
    stages.append(plan, render, describe);

    const verdict = el("p", "w2w-loop-verdict");
    verdict.setAttribute("role", "status");
    verdict.setAttribute("aria-live", "polite");

    root.textContent = "";
    root.append(bar, stages, verdict);
    root.classList.add("w2w-loop-on");

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

    function showPlanToken(r) {
      const t = r.plan_tokens[planPick];
      planAlts.textContent = t.forced
        ? "“" + word(t.token) + "”: forced by the grammar (the only token allowed here)"
        : "“" + word(t.token) + "” " + pct(t.prob) + " of what the grammar allowed; rivals: " +
          t.allowed.slice(1).map((a) => "“" + word(a.token) + "” " + pct(a.prob)).join(", ");
    }

    function showSayToken(r) {
      const t = r.description_tokens[sayPick];
      sayAlts.textContent = "“" + word(t.token) + "” " + pct(t.p) + "; rivals: " +
        t.top.filter((a) => a.token !== t.token).map((a) => "“" + word(a.token) + "” " + pct(a.p)).join(", ");
    }

    function showStep(r) {
      const step = Number(slider.value);
      const frames = r.frames;
      // The last step shows the exact picture the describer read (the strip's colours are a palette).
      const src = data.urls[step === frames ? r.picture : r.strip];
      if (frame.getAttribute("src") !== src) frame.setAttribute("src", src);
      frame.style.objectPosition = (frames > 1 ? (100 * (step - 1)) / (frames - 1) : 0).toFixed(3) + "% 0";
      stepText.textContent = step + "/" + frames + (step === frames ? " (the picture)" : "");
      frame.alt = "The diffusion model's guess of the finished picture (x̂0) after step " + step + " of " + frames +
        ", drawing “" + r.plan + "”";
    }

    function show() {
      const req = data.requests[request];
      round = Math.min(round, req.rounds.length - 1);
      const r = req.rounds[round];
      // A round that kept the plan (another seed, stronger guidance) shares the planning round's tokens.
      for (let k = round; !r.plan_tokens && k >= 0; k--) r.plan_tokens = req.rounds[k].plan_tokens;
      rounds.textContent = "";
      req.rounds.forEach((x, i) => {
        const button = el("button", "w2w-loop-round" + (x.agree ? " w2w-loop-agree" : ""), "Round " + x.round + (x.agree ? " ✓" : " ✗"));
        button.type = "button";
        button.setAttribute("aria-pressed", i === round ? "true" : "false");
        button.setAttribute("aria-label", "Round " + x.round + ": " + (x.agree ? "agrees" : "differs"));
        button.addEventListener("click", () => { round = i; planPick = 0; sayPick = 0; show(); rounds.querySelectorAll("button")[i].focus(); });
        rounds.appendChild(button);
      });
      const choices = r.plan_tokens.map((t, i) => (t.forced ? -1 : i)).filter((i) => i >= 0);
      if (!r.plan_tokens[planPick] || r.plan_tokens[planPick].forced) planPick = choices.length ? choices[0] : 0;
      tokenButtons(planTokens, r.plan_tokens, planPick, "Plan", (i) => { planPick = i; show(); });
      showPlanToken(r);
      slider.max = String(r.frames);
      slider.value = String(r.frames);
      slider.setAttribute("aria-label", "Denoising step, 1 to " + r.frames);
      showStep(r);
      settings.textContent = "seed " + r.seed + " · guidance " + r.guidance + " · " + r.steps + " DDIM steps";
      const said = r.description_tokens;
      if (sayPick >= said.length) sayPick = 0;
      tokenButtons(sayTokens, said, sayPick, "Description", (i) => { sayPick = i; show(); });
      showSayToken(r);
      verdict.textContent = "";
      verdict.append(el("strong", r.agree ? "w2w-loop-yes" : "w2w-loop-no", r.agree ? "✓ agrees" : "✗ differs"),
        " — planned “" + r.plan + "”, read “" + r.description + "”. " + nextLine(r));
      root.dataset.w2wLoopShown = request + ":" + round;
    }

    // reveal.js takes arrow keys from the document unless an input or textarea has the focus: on the
    // select they would change the slide instead of the request.
    root.addEventListener("keydown", (event) => { if (event.target === select) event.stopPropagation(); });
    select.value = String(request);
    select.addEventListener("change", () => { request = Number(select.value); round = 0; planPick = 0; sayPick = 0; show(); });
    slider.addEventListener("input", () => showStep(data.requests[request].rounds[round]));
    show();
  }

  function init() { document.querySelectorAll("[data-w2w-loop]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
