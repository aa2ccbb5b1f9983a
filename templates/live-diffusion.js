/* w2w live demos, the diffusion slides (loaded after live.js, which drives the runs): how the demo's
   picture and the strip's frames show a run as it streams, live or replayed.

   The words beside an output follow the run that is shown: a live run's caption, steps, guidance,
   seed and its own timing replace the recorded ones while it shows, and a replay of the recording
   puts the recorded words back (issue 25: the slide once showed a live green triangle under the
   recorded prompt and timing). The running line stays on one line, so it never pushes the slide's
   text into the footer. */
(function () {
  "use strict";

  const safeImage = (src) => window.w2wLive.safeImage(src);

  // The words of the demo slide (macros.j2 demo_image), remembered as recorded.
  function words(root) {
    const parts = {
      prompt: root.querySelector(".w2w-demo-prompt-text"),
      settings: root.querySelector(".w2w-demo-settings"),
      timing: root.querySelector(".w2w-demo-timing"),
    };
    const recorded = {};
    Object.keys(parts).forEach((k) => { recorded[k] = parts[k] ? parts[k].textContent : ""; });
    return {
      recorded() { Object.keys(parts).forEach((k) => { if (parts[k]) parts[k].textContent = recorded[k]; }); },
      set(values) { Object.keys(values).forEach((k) => { if (parts[k]) parts[k].textContent = values[k]; }); },
    };
  }

  function settingsText(request, guidance) {
    const g = guidance !== undefined && guidance !== null ? guidance : request.guidance_scale;
    return request.steps + " " + String(request.scheduler || "ddim").toUpperCase() + " steps" + (g !== undefined && g !== null ? " · guidance " + g : "") + " · seed " + (request.seed || 0);
  }

  // The caption box of both diffusion slides: the request it makes, and the line while it runs.
  function captionControls(root, meta, text) {
    const input = root.querySelector(".w2w-live-input");
    let request = null;
    return {
      request(base) {
        const prompt = input.value.trim();
        if (!prompt) return "Type a caption first.";
        if (prompt.length > 200) return "The caption is " + prompt.length + " characters; the limit is 200.";
        return Object.assign({}, base, { prompt: prompt });
      },
      reset(asked, live) {
        request = asked;
        root.classList.add("w2w-live-on");
        root.classList.remove("w2w-explore-changed");
        meta.textContent = (live ? "Denoising live: “" : "Replaying “") + asked.prompt + "”…";
        if (!text) return;
        if (live) text.set({ prompt: asked.prompt, settings: settingsText(asked), timing: "Running live…" });
        else text.recorded();
      },
      live() { return request; },
    };
  }

  // Diffusion demo: the picture is x̂0 of each step as it streams, then the final image.
  function diffusionView(root) {
    const img = root.querySelector(".w2w-live-image");
    const meta = root.querySelector(".w2w-live-meta");
    const text = words(root);
    const caption = captionControls(root, meta, text);
    let live = false;
    return {
      ...caption,
      reset(request, isLive) { live = isLive; caption.reset(request, isLive); },
      step(step) {
        const src = safeImage(step.image);
        if (src) { img.src = src; img.alt = "Predicted clean image x̂0 after step " + step.step + " of " + step.steps; }
        meta.textContent = "Step " + step.step + " of " + step.steps + " · x̂0, the model's guess";
      },
      done(done) {
        const src = safeImage(done.image);
        if (src) { img.src = src; img.alt = "Final image for the prompt: " + (done.prompt || ""); }
        const perStep = Number(done.seconds_per_step);
        meta.textContent = "Final image · " + perStep.toFixed(3) + " s per step" + (done.steps ? " × " + done.steps + " steps" : "");
        if (live && Number.isFinite(perStep)) {
          const request = caption.live() || {};
          text.set({
            prompt: done.prompt || request.prompt || "",
            settings: settingsText({ steps: done.steps || request.steps, scheduler: request.scheduler, seed: request.seed }, done.guidance_scale),
            timing: (perStep * (done.steps || request.steps || 0)).toFixed(1) + " s for the image: this live run on " + (done.device || "the server") + ", wall clock",
          });
        }
      },
    };
  }

  // Denoising strip: each frame of the strip is filled with x̂0 of its own step as it streams.
  function stripView(root) {
    const frames = Array.from(root.querySelectorAll(".w2w-strip figure"));
    const meta = root.querySelector(".w2w-live-meta");
    let total = 0;
    function slot(step, steps) {
      // The strip's frames sit at evenly spaced steps (1 ... N): the frame whose step is nearest.
      const n = frames.length;
      return Math.round(((step - 1) * (n - 1)) / Math.max(1, steps - 1));
    }
    return {
      ...captionControls(root, meta, null),
      step(step) {
        total = step.steps;
        const i = slot(step.step, step.steps);
        const figure = frames[i];
        const src = safeImage(step.image);
        if (!figure || !src) return;
        const img = figure.querySelector("img");
        img.src = src;
        img.classList.remove("w2w-grid-crop");
        img.style.objectPosition = img.style.objectFit = img.style.width = img.style.height = "";
        img.alt = "Predicted clean image x̂0 after step " + step.step + " of " + step.steps;
        figure.querySelector("figcaption").textContent = "step " + step.step + "/" + step.steps + (step.timestep !== undefined ? " · t=" + step.timestep : "");
        figure.classList.add("w2w-live-filled");
        meta.textContent = "Step " + step.step + " of " + step.steps;
      },
      done(done) {
        meta.textContent = "Done · " + Number(done.seconds_per_step).toFixed(3) + " s per step" + (total ? " × " + total + " steps" : "");
      },
    };
  }

  window.w2wLiveViews = Object.assign(window.w2wLiveViews || {}, { diffusion_demo: diffusionView, diffusion_strip: stripView });
})();
