/* w2w live demos, the motion slide ("A blur becomes motion"; loaded after live.js, which drives the
   runs): a caption typed on the slide is denoised by the motion model under `w2w present`
   (w2w_generators/motion_demo/live.py), and every step's x̂0 arrives as a film, the clip's 8 frames
   side by side, which plays at once in the same one-frame window as the build's clips (a CSS
   animation, templates/deck.css.j2). Each step joins a row of buttons: pressing one shows that
   step's clip again. Then the finished clip, with its text alternative: what the caption asked and
   what the tracker saw. One Pause box holds every clip of the panel. Without a server the build's
   own run replays: the strip's steps and the clip. The build's strip steps aside while a run shows
   and comes back with one button. */
(function () {
  "use strict";

  const { el } = window.w2wDom;
  const safeImage = (src) => window.w2wLive.safeImage(src);

  function film(window_, src, alt) {
    let image = window_.querySelector("img");
    if (!image) image = window_.appendChild(el("img", "w2w-clip-film"));
    image.src = src;
    image.alt = alt;
  }

  function motionView(root) {
    const input = root.querySelector(".w2w-live-input");
    const strip = root.querySelector(".w2w-clip-strip");
    const panel = root.querySelector(".w2w-clip-live");
    const stepWindow = panel.querySelector(".w2w-clip-live-step .w2w-clip-window");
    const stepLine = panel.querySelector(".w2w-clip-live-step figcaption");
    const clipBox = panel.querySelector(".w2w-clip-live-clip");
    const buttons = panel.querySelector(".w2w-clip-live-steps");
    const text = panel.querySelector(".w2w-clip-live-text");
    let asked = null;

    function show(step) {
      const src = safeImage(step.image);
      if (!src) return;
      const words = "The model's guess of the finished clip after step " + step.step + " of " + step.steps;
      film(stepWindow, src, words + (step.seen ? ": the tracker saw " + step.seen : ""));
      stepLine.textContent = "Step " + step.step + " of " + step.steps + (step.seen ? ": " + step.seen + "." : ".");
    }

    panel.querySelector(".w2w-clip-live-back").addEventListener("click", () => {
      panel.hidden = true;
      strip.hidden = false;
    });

    return {
      request(base) {
        const prompt = input.value.trim();
        if (!prompt) return "Type a caption first, e.g. “a blue square moving up”.";
        if (prompt.length > input.maxLength) return "The caption is " + prompt.length + " characters; the limit is " + input.maxLength + ".";
        return Object.assign({}, base, { prompt: prompt });
      },
      reset(request, live) {
        asked = request;
        strip.hidden = true;
        panel.hidden = false;
        buttons.textContent = "";
        clipBox.hidden = true;
        stepLine.textContent = "";
        text.textContent = (live ? "Denoising live: “" : "Replaying “") + request.prompt + "”…";
      },
      step(step) {
        const src = safeImage(step.image);
        if (!src) return;
        show(step);
        const button = el("button", "w2w-clip-live-button");
        button.type = "button";
        button.setAttribute("aria-label", "Show the guess after step " + step.step + " of " + step.steps);
        const window_ = button.appendChild(el("span", "w2w-clip-window"));
        const thumb = window_.appendChild(el("img", "w2w-clip-film"));
        thumb.src = src;
        thumb.alt = "";
        button.appendChild(el("span", null, String(step.step)));
        button.addEventListener("click", () => show(step));
        buttons.appendChild(el("li")).appendChild(button);
      },
      done(done) {
        const prompt = done.prompt || (asked && asked.prompt) || "";
        const src = safeImage(done.image);
        clipBox.hidden = false;
        if (src) film(clipBox.querySelector(".w2w-clip-window"), src, "The model's clip, " + (done.frames || 8) + " frames: " + prompt + "; the tracker saw " + (done.seen || "nothing"));
        const verdict = done.matches === true ? " ✓ what the caption asked." : done.matches === false ? " ✗ not what the caption asked." : "";
        let line = "Asked: “" + prompt + "”. The tracker saw: " + (done.seen || "nothing") + "." + verdict;
        if (typeof done.seconds === "number") line += " Made in " + done.seconds.toFixed(2) + " s (" + done.steps + " steps) on " + (done.device || "the server") + ".";
        else if (typeof done.seconds_per_step === "number") line += " " + (done.seconds_per_step * 1000).toFixed(0) + " ms a step when the deck was built.";
        text.textContent = line;
      },
    };
  }

  window.w2wLiveViews = Object.assign(window.w2wLiveViews || {}, { motion: motionView });
})();
