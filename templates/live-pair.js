/* w2w live demos, the pair's two slides (loaded after live.js, which drives the runs; the events
   are w2w_generators/pair/live.py's):
   - pair_mirror, "One picture, both directions": a caption (or a request, which the planner turns
     into one) is drawn by the shapes model, every step's x̂0 as it comes, then the describer reads
     the finished picture token by token with each token's probability, then the verdict.
   - pair_answers, "Same prompt, two answers": the prompt goes to SmolLM2 and to the shapes model in
     turn, a token and a denoising step at a time, each answer into its own column of the slide.
   Without a server the build's own run of the same code plays. */
(function () {
  "use strict";

  const { el } = window.w2wDom;
  const safeImage = (src) => window.w2wLive.safeImage(src);

  // The typed text, or a message about it. The limit is the input's maxlength, which the template
  // takes from the live request's field: the server, the form and the room read one number.
  function typed(input, example) {
    const text = input.value.trim();
    if (!text) return { message: "Type something first, e.g. “" + example + "”." };
    if (input.maxLength > 0 && text.length > input.maxLength) return { message: "The text is " + text.length + " characters; the limit is " + input.maxLength + "." };
    return { text: text };
  }

  function seconds(value) { return typeof value === "number" ? value.toFixed(1) + " s" : "?"; }

  function mirrorView(root) {
    const input = root.querySelector(".w2w-live-input");
    const recorded = root.querySelector(".w2w-pair-recorded");
    const panel = root.querySelector(".w2w-pair-live");
    const frame = panel.querySelector(".w2w-pair-live-frame");
    const asked = panel.querySelector(".w2w-pair-live-asked");
    const tokens = panel.querySelector(".w2w-pair-live-tokens");
    const verdict = panel.querySelector(".w2w-pair-live-verdict");
    let picture = null; // made at the first picture: an <img> without a picture fails the deck's checks
    panel.querySelector(".w2w-pair-live-back").addEventListener("click", () => { panel.hidden = true; recorded.hidden = false; });

    return {
      request(base) {
        const got = typed(input, "a frog under a tree");
        return got.message || Object.assign({}, base, { text: got.text });
      },
      reset(request, live) {
        recorded.hidden = true;
        panel.hidden = false;
        frame.textContent = "";
        tokens.textContent = "";
        picture = null;
        asked.textContent = "asked: “" + request.text + "”";
        verdict.textContent = live ? "Running live…" : "Replaying the recording…";
      },
      step(event) {
        if (event.stage === "plan") {
          asked.textContent = "asked: “" + event.text + "”" + (event.planned ? " → planned “" + event.caption + "”" + (event.guess ? " (a guess)" : "") : "");
        } else if (event.stage === "render") {
          const src = safeImage(event.image);
          if (!src) return;
          if (!picture) picture = frame.appendChild(el("img", "w2w-pair-live-picture"));
          picture.src = src;
          picture.alt = "The model's guess of the finished picture after denoising step " + event.step + " of " + event.steps;
          verdict.textContent = "Denoising step " + event.step + " of " + event.steps;
        } else if (event.stage === "read") {
          const item = el("li");
          item.append(el("span", "w2w-pair-word", event.token), " ", el("span", "num", Number(event.p).toFixed(2)));
          tokens.appendChild(item);
        } else if (event.stage === "verdict") {
          verdict.textContent = "read: “" + event.read + "” " + (event.agree ? "— the caption drawn ✓" : "— not the caption drawn ✗");
        }
      },
      done(done) {
        if (!done.seconds) return;
        const timing = " First picture after " + seconds(done.first_step_s) + ", all in " + seconds(done.total_s) + (done.device ? " on " + done.device : "") + ".";
        verdict.textContent = verdict.textContent.replace(/ First picture after .*$/, "") + timing;
      },
    };
  }

  function answersView(root, payload) {
    const slide = root.closest("section") || document;
    const input = root.querySelector(".w2w-live-input");
    const answer = root.querySelector(".w2w-pair-answer");
    const how = root.querySelector(".w2w-pair-answer-how");
    const picture = slide.querySelector(".w2w-pair-answer-picture");
    const read = slide.querySelector(".w2w-pair-answer-read");
    const prompt = slide.querySelector(".w2w-pair-prompt");
    const lm = String((payload.recorded.done || {}).lm || "the language model").split("/").pop();
    let text = "";
    let words = [];

    return {
      request(base) {
        const got = typed(input, "a cat sleeping on a sofa");
        return got.message || Object.assign({}, base, { text: got.text });
      },
      reset(request, live) {
        text = "";
        words = [];
        if (prompt) prompt.textContent = "Prompt: “" + request.text + "”";
        answer.textContent = "“”";
        how.textContent = lm + ", greedy · " + (live ? "running live…" : "replaying the recording…");
        if (read) read.textContent = "The diffusion model is drawing…";
      },
      step(event) {
        if (event.stage === "words") {
          text += event.token;
          answer.textContent = "“" + text + "”";
          how.textContent = lm + ", greedy · token " + (event.index + 1) + ", p = " + Number(event.prob).toFixed(2);
        } else if (event.stage === "render" && picture) {
          const src = safeImage(event.image);
          if (!src) return;
          picture.src = src;
          picture.alt = "The shapes diffusion model's guess of its finished picture after step " + event.step + " of " + event.steps;
          if (read) read.textContent = "Denoising step " + event.step + " of " + event.steps;
        } else if (event.stage === "read" && event.token !== "<eos>") {
          words.push(event.token);
          if (read) read.textContent = "Our describer reads: “" + words.join(" ") + "”";
        }
      },
      done(done) {
        answer.textContent = "“" + done.text + (done.ended === "limit" ? "…" : "") + "”";
        const ended = done.ended === "limit" ? "cut at " + done.tokens + " tokens" : done.tokens + " tokens, ended by itself";
        const took = done.seconds ? " · words " + seconds(done.seconds.words) + ", picture " + seconds(done.seconds.render) : "";
        how.textContent = lm + ", greedy, " + ended + took;
        const src = safeImage(done.image);
        if (picture && src) {
          picture.src = src;
          picture.alt = "The shapes diffusion model's picture for the prompt, which the describer reads as " + done.read;
        }
        if (!read) return;
        read.textContent = done.in_world
          ? "Our describer reads its picture as “" + done.read + "”" + (done.agree ? " — the caption asked for ✓" : " — not the caption asked for ✗")
          : "This prompt is outside the shapes model's world (coloured shapes only): the picture is what it makes of words it never saw; our describer reads it as “" + done.read + "”";
      },
    };
  }

  window.w2wLiveViews = Object.assign(window.w2wLiveViews || {}, { pair_mirror: mirrorView, pair_answers: answersView });
})();
