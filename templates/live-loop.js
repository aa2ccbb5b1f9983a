/* w2w live demos, the loop slide (loaded after live.js, which drives the runs): a request typed on
   the slide goes through plan -> render -> describe -> refine under `w2w present`
   (w2w_generators/loop/live.py) and shows as it streams: one line per round (the plan, what the
   describer read, the verdict, what the next round changes) and the model's x̂0 at each denoising
   step. Without a server the recording of the talk's first request plays. The precomputed
   explorer (explore-loop.js) steps aside while a run shows and comes back with one button. */
(function () {
  "use strict";

  const { el } = window.w2wDom;
  const safeImage = (src) => window.w2wLive.safeImage(src);
  const CHANGES = { seed: "another seed", guidance: "stronger guidance", plan: "a new plan" };

  function nextText(next) {
    if (!next) return "";
    if (typeof next === "string") return " " + next + ".";
    return " Next: " + CHANGES[next.kind] + " (" + next.from + " → " + next.to + ").";
  }

  function loopView(root) {
    const input = root.querySelector(".w2w-live-input");
    const explorer = root.querySelector(".w2w-loop");
    const panel = root.querySelector(".w2w-loop-live");
    const list = panel.querySelector(".w2w-loop-live-rounds");
    const frame = panel.querySelector(".w2w-loop-live-frame");
    let picture = null; // made at the first picture: an <img> without a picture fails the deck's checks
    const meta = panel.querySelector(".w2w-loop-live-meta");
    const rows = {};

    function row(n) {
      if (!rows[n]) {
        const item = el("li", "w2w-loop-live-round");
        item.append(el("strong", null, "Round " + n + " "), el("span", "w2w-loop-live-plan"), el("span", "w2w-loop-live-read"), el("span", "w2w-loop-live-verdict"));
        list.appendChild(item);
        rows[n] = item;
      }
      return rows[n];
    }
    panel.querySelector(".w2w-loop-live-back").addEventListener("click", () => { panel.hidden = true; explorer.hidden = false; });

    return {
      request(base) {
        const text = input.value.trim();
        if (!text) return "Type a request first, e.g. “a frog under a tree”.";
        if (text.length > 200) return "The request is " + text.length + " characters; the limit is 200.";
        return Object.assign({}, base, { request: text });
      },
      reset(asked, live) {
        explorer.hidden = true;
        panel.hidden = false;
        list.textContent = "";
        Object.keys(rows).forEach((k) => delete rows[k]);
        frame.textContent = "";
        picture = null;
        meta.textContent = (live ? "Running live: “" : "Replaying “") + asked.request + "”…";
      },
      step(event) {
        const item = row(event.round);
        if (event.stage === "plan") {
          item.querySelector(".w2w-loop-live-plan").textContent = "planned “" + event.plan + "”" + (event.guess ? " (a guess)" : "") + "; ";
        } else if (event.stage === "render") {
          const src = safeImage(event.image);
          if (!src) return;
          if (!picture) picture = frame.appendChild(el("img", "w2w-loop-live-picture"));
          picture.src = src;
          picture.alt = "Round " + event.round + ": the model's guess of the finished picture after step " + event.step + " of " + event.steps;
          meta.textContent = "Round " + event.round + " · denoising step " + event.step + " of " + event.steps;
        } else if (event.stage === "describe") {
          item.querySelector(".w2w-loop-live-read").textContent = "read “" + event.description + "” ";
        } else if (event.stage === "verdict") {
          item.querySelector(".w2w-loop-live-verdict").textContent = (event.agree ? "✓ agrees." : "✗ differs.") + nextText(event.next);
        }
      },
      done(done) {
        const used = done.rounds_used + " round" + (done.rounds_used === 1 ? "" : "s");
        let line = done.agreed ? "The description is the plan after " + used + "." : "No agreement in " + used + ".";
        if (done.seconds) line += " Plan " + done.seconds.plan + " s, render " + done.seconds.render + " s, describe " + done.seconds.describe + " s, on " + (done.device || "the server") + ".";
        meta.textContent = line;
      },
    };
  }

  window.w2wLiveViews = Object.assign(window.w2wLiveViews || {}, { loop: loopView });
})();
