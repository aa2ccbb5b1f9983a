/* w2w explorable token trace: "choose the next token", offline.

   The build computed a tree of greedy continuations (w2w_generators/token_trace/tree.py): at each step of the
   recorded trace, what the model writes after each of the top candidates. This script lets a reader
   pick a step and another candidate and shows that continuation, from the data inlined in the page
   (no request at all: it works from file:// and in the handout alike). Everything from the model
   goes in with textContent.

   Tree node: {steps: [[token_id, token, prob, entropy, [[id, token, prob], ...]], ...], stopped,
   branches: {"<local step>:<token_id>": node}}; a branch's step 0 is the candidate chosen at its
   parent's step, so its own branches start at local step 1. */
(function () {
  "use strict";

  const { el, readJSON, visible, pct } = window.w2wDom; // dom.js, loaded before this file

  const STOPPED = { eos: "stopped at the end of sequence", sentence: "stopped at the end of the sentence", length: "stopped at the token limit" };

  function setup(root) {
    const data = readJSON(root.querySelector("script.w2w-explore-data"));
    if (!data) return;
    const tree = data.tree;
    if (!tree || !tree.steps || !tree.steps.length) return;
    const sentence = root.querySelector(".w2w-explore-sentence");
    const legend = root.querySelector(".w2w-explore-candidates legend");
    const choices = root.querySelector(".w2w-explore-choices");
    const status = root.querySelector(".w2w-explore-status");
    const reset = root.querySelector(".w2w-explore-reset");
    // The path shown: a chain of tree nodes, each with the position (in the shown sentence) of its step 0.
    let chain = [{ node: tree, offset: 0 }];
    let selected = 0;

    function shown() {
      const steps = [];
      chain.forEach((link, k) => {
        const end = k + 1 < chain.length ? chain[k + 1].offset - link.offset : link.node.steps.length;
        for (let i = 0; i < end; i++) steps.push({ step: link.node.steps[i], changed: k > 0 && i === 0 });
      });
      return steps;
    }

    function render() {
      const steps = shown();
      selected = Math.min(selected, steps.length - 1);
      sentence.textContent = "";
      sentence.appendChild(el("span", "w2w-prompt", data.prompt));
      steps.forEach((entry, i) => {
        const button = el("button", "w2w-explore-token" + (entry.changed ? " w2w-explore-changed" : ""), String(entry.step[1]).replace(/\n/g, "⏎") || "…");
        button.type = "button";
        button.dataset.tokenId = entry.step[0];
        button.setAttribute("aria-pressed", i === selected ? "true" : "false");
        button.setAttribute("aria-label", "Step " + (i + 1) + ": " + visible(entry.step[1]) + (entry.changed ? " (your choice)" : ""));
        button.addEventListener("click", () => { selected = i; render(); focusToken(i); });
        sentence.appendChild(button);
      });
      const step = steps[selected].step;
      legend.textContent = "Step " + (selected + 1) + " of " + steps.length + ": the model's top " + step[4].length + " candidates (probability) · entropy " + Number(step[3]).toFixed(2) + " nats";
      choices.textContent = "";
      step[4].forEach((candidate) => {
        const button = el("button", "w2w-explore-candidate");
        button.type = "button";
        button.dataset.tokenId = candidate[0];
        const chosen = candidate[0] === step[0];
        button.setAttribute("aria-pressed", chosen ? "true" : "false");
        button.appendChild(el("span", "w2w-explore-candidate-token", visible(candidate[1]) || "…"));
        button.appendChild(el("span", "w2w-explore-bar")).style.width = Math.max(2, Math.min(100, 100 * candidate[2])).toFixed(1) + "%";
        button.appendChild(el("span", "num", pct(candidate[2])));
        button.addEventListener("click", () => choose(selected, candidate[0], candidate[1]));
        choices.appendChild(button);
      });
      reset.disabled = chain.length === 1;
      root.dataset.w2wExploreTokens = steps.map((entry) => entry.step[0]).join(",");
    }

    function focusToken(i) {
      const button = sentence.querySelectorAll(".w2w-explore-token")[i];
      if (button) button.focus();
    }

    function describe() {
      const last = chain[chain.length - 1];
      if (chain.length === 1) return "The greedy path: the recorded trace.";
      const steps = shown();
      const mine = chain.slice(1).map((link) => "“" + visible(link.node.steps[0][1]) + "” at step " + (link.offset + 1)).join(", then ");
      return "You chose " + mine + "; the model continues greedily: " + steps.length + " tokens, " + (STOPPED[last.node.stopped] || "stopped") + ".";
    }

    // Pick candidate `id` at shown step `d`: find the node that owns the step, then its branch.
    function choose(d, id, text) {
      let k = chain.length - 1;
      while (k > 0 && chain[k].offset > d) k--;
      let owner = chain[k];
      let local = d - owner.offset;
      let kept = k + 1;
      if (local === 0 && k > 0) { // the step is a choice already: its siblings are in the parent
        kept = k;
        owner = chain[k - 1];
        local = d - owner.offset;
      }
      if (owner.node.steps[local][0] === id) {
        chain = chain.slice(0, kept);
      } else {
        const branch = (owner.node.branches || {})[local + ":" + id];
        if (!branch) {
          const why = "“" + visible(text) + "” at step " + (d + 1) + " was not computed at build time (the build follows candidates with p ≥ " + pct(data.minProb) + ", " + data.depth + " choice" + (data.depth === 1 ? "" : "s") + " deep)";
          // With `w2w present` running, the model writes that branch now (live.js's window.w2wLive):
          // the same computation as the build's branches (a forced token, then greedy), by token id.
          if (window.w2wLive && window.w2wLive.ready() && data.request) return chooseLive(d, id, owner, local, kept, why);
          status.textContent = why + ".";
          return;
        }
        chain = chain.slice(0, kept).concat([{ node: branch, offset: d }]);
      }
      render();
      status.textContent = describe();
      const pressed = choices.querySelector('[aria-pressed="true"]');
      if (pressed) pressed.focus();
    }

    function chooseLive(d, id, owner, local, kept, why) {
      const before = shown().slice(0, d).map((entry) => entry.step[0]);
      const request = Object.assign({}, data.request, { sampling: "greedy", prefix_ids: before.concat([id]) });
      const steps = [];
      status.textContent = why + ": the live model is writing it…";
      root.dataset.w2wExploreLive = "running";
      window.w2wLive.run("token_trace", request, (step) => {
        steps.push([step.token_id, step.token, step.prob, step.entropy, (step.top || []).map((c) => [c.token_id, c.token, c.prob])]);
      }, (done) => {
        const node = { steps: steps, stopped: done.stopped, live: true };
        owner.node.branches = owner.node.branches || {};
        owner.node.branches[local + ":" + id] = node; // kept: choosing it again needs no second run
        chain = chain.slice(0, kept).concat([{ node: node, offset: d }]);
      }).then(() => {
        root.dataset.w2wExploreLive = "done";
        render();
        status.textContent = describe() + " Written live by the model, beyond the build's tree.";
      }, (error) => {
        root.dataset.w2wExploreLive = "error";
        status.textContent = why + "; the live model could not write it: " + error.message + ".";
      });
    }

    reset.addEventListener("click", () => {
      chain = [{ node: tree, offset: 0 }];
      selected = 0;
      render();
      status.textContent = describe();
    });
    // In the deck the explorer opens from the live form's button and takes the recorded fragments'
    // place; a live run or a replay closes it, so that what runs is what shows.
    const slide = root.parentElement;
    const toggle = slide && slide.querySelector(".w2w-explore-toggle");
    function open(on) {
      toggle.setAttribute("aria-expanded", on ? "true" : "false");
      toggle.textContent = on ? "Back to the trace" : "Choose a token";
      root.hidden = !on;
      slide.classList.toggle("w2w-explore-on", on);
    }
    if (toggle) {
      toggle.addEventListener("click", () => open(toggle.getAttribute("aria-expanded") !== "true"));
      const form = slide.querySelector("form.w2w-live-form");
      if (form) form.addEventListener("submit", () => open(false));
      const replay = slide.querySelector(".w2w-live-replay");
      if (replay) replay.addEventListener("click", () => open(false));
    }
    render();
    status.textContent = describe();
  }

  function start() { document.querySelectorAll("[data-w2w-explore='token_trace']").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
