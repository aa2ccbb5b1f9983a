/* w2w live demos: a live slide runs its generator on the `w2w present` server and falls back to
   the recording built into the deck. Plain JS, no framework, nothing loaded from the network.

   - The token comes in the URL fragment (#w2w-token=...); it is kept in sessionStorage and taken
     out of the URL at once, before Reveal.initialize (reveal.js routes slides by the hash).
   - Requests are made only over http: with a token. From file:// this script never calls fetch.
   - Everything a model or the audience made goes in with textContent or img.src (data: URLs or the
     deck's own artifact files), never as HTML.
*/
(function () {
  "use strict";

  const { el, readJSON, pngData, visible, pct } = window.w2wDom; // dom.js, loaded before this file
  const TOKEN_KEY = "w2w-live-token";
  const RETRY_MS = 2000; // the status stream lost: try again this often
  const MIRROR_MS = 1000; // the speaker view's previews read the deck's status this often
  // The server ends a silent run itself after timeout_s with the reason; the deck waits this much
  // longer before it gives up on its own (the server itself stopped, the connection hangs).
  const GRACE_S = 2;
  const PLAY_STEP_MS = 140; // recorded playback: one step per 140 ms (a 16-token trace in ~2 s)

  // --- the token: from the fragment into sessionStorage, out of the URL -----------------------
  function takeToken() {
    const match = /(^#|&)w2w-token=([^&]*)/.exec(window.location.hash);
    if (match) {
      const token = decodeURIComponent(match[2]);
      try { window.sessionStorage.setItem(TOKEN_KEY, token); } catch { /* storage off: keep it in memory */ }
      const rest = window.location.hash.replace(match[0], match[1] === "#" ? "#" : "").replace(/^#&/, "#");
      const hash = rest === "#" ? "" : rest;
      window.history.replaceState(null, "", window.location.pathname + window.location.search + hash);
      return token;
    }
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
  }

  const token = takeToken();
  const settings = Object.assign({ timeoutS: 15 }, readJSON(document.getElementById("w2w-live-settings")) || {});
  const server = { ready: false, generators: {}, timeoutS: settings.timeoutS, reason: "", down: "" };

  function canCallServer() {
    return window.location.protocol === "http:" && !!token;
  }

  // Only images the deck can vouch for: a PNG data URL from the server, or a relative file of the
  // deck's own artifacts (the recording).
  function safeImage(src) {
    if (typeof src !== "string") return null;
    if (pngData(src)) return src;
    if (/^(\.\.\/|\.\/)?artifacts\/[A-Za-z0-9_./-]+$/.test(src) && src.indexOf("..", 3) === -1) return src;
    return null;
  }

  // --- the server: readiness, then one streamed run ----------------------------------------
  function api(path, options) {
    const headers = Object.assign({ "X-W2W-Token": token }, (options && options.headers) || {});
    return fetch(path, Object.assign({}, options || {}, { headers: headers, cache: "no-store", credentials: "omit" }));
  }

  function statusText() {
    if (window.location.protocol === "file:") return "RECORDED · from a file, no live server";
    if (!canCallServer()) return "RECORDED · no live token (use w2w present)";
    if (server.reason) return "RECORDED · " + server.reason;
    if (server.down) return "RECORDED · " + server.down;
    if (!server.ready) return "LIVE · starting: loading the models…";
    const devices = Object.values(server.generators).map((g) => g.device).filter(Boolean);
    return "LIVE · ready" + (devices.length ? " · " + Array.from(new Set(devices)).join(", ") : "");
  }

  function showStatus() {
    const badge = document.getElementById("w2w-live-status");
    if (!badge) return;
    // Words in reveal.js' speaker view (its frames' URLs carry "receiver"), a dot on the deck (layouts.css).
    if (/[?&]receiver/.test(window.location.search)) badge.dataset.view = "speaker";
    badge.textContent = statusText();
    badge.dataset.state = server.ready ? "live" : canCallServer() && !server.reason && !server.down ? "starting" : "recorded";
  }

  const DOWN = ["gave up", "restarting", "not answering", "stopped"];
  function applyStatus(body) {
    server.ready = !!body.ready;
    server.generators = body.generators || {};
    // The model process failed, stopped answering or is being replaced (or was given up on): say
    // why, until it is back.
    server.down = !server.ready && (DOWN.includes(body.state) || body.restarts > 0) ? String(body.reason || body.state) : "";
    if (typeof body.timeout_s === "number" && body.timeout_s > 0) server.timeoutS = body.timeout_s;
    server.reason = "";
    showStatus();
  }

  // The status as the server pushes it (/api/live/watch: now, then at each change), so the badge
  // learns of a death or a hang at once; a lost stream is said and tried again every 2 s.
  function watch() {
    if (!canCallServer()) { showStatus(); return; }
    if (mirror()) return;
    api(baseURL() + "api/live/watch", { headers: { "Accept": "text/event-stream" } })
      .then((response) => {
        if (!response.ok) return response.json().catch(() => ({})).then((body) => { throw new Error(body.message || "HTTP " + response.status); });
        return readEvents(response, (type, data) => { if (type === "status") applyStatus(data); }, () => {})
          .then(() => { throw new Error("the server closed the status stream"); });
      })
      .catch((error) => {
        server.ready = false;
        server.reason = "live server unreachable (" + error.message + ")";
        showStatus();
        window.setTimeout(watch, RETRY_MS);
      });
  }

  // reveal.js's speaker view previews (?receiver, frames of the speaker's window, whose opener is
  // the deck) show the deck's own status, read from it, instead of a stream each: a browser opens
  // at most 6 connections to one server, and the deck, its two previews and the room's moderation
  // page held all 6 with streams, so the deck's next request (a live run, its slide's report to
  // the phone remote) waited for ever (test_remote.py). False when there is no deck to read.
  function mirror() {
    if (!/[?&]receiver/.test(window.location.search) || window.parent === window) return false;
    let deck = null;
    try { deck = window.parent.opener && window.parent.opener.w2wLive; } catch { deck = null; }
    if (!deck || !deck.server) return false;
    ["ready", "generators", "timeoutS", "reason", "down"].forEach((key) => { server[key] = deck.server[key]; });
    showStatus();
    window.setTimeout(() => { if (!mirror()) watch(); }, MIRROR_MS);
    return true;
  }

  // The deck lives at /slides/index.html; the API at /api/... on the same origin.
  function baseURL() { return window.location.origin + "/"; }

  // Read a text/event-stream body: calls onEvent(type, data) per event. Resolves at the end.
  function readEvents(response, onEvent, touch) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    function dispatch(block) {
      let type = "message";
      const data = [];
      block.split(/\r?\n/).forEach((line) => {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return; // a comment / keep-alive ping
      let parsed;
      try { parsed = JSON.parse(data.join("\n")); } catch (error) { throw new Error("the server sent an unreadable event", { cause: error }); }
      onEvent(type, parsed);
    }
    function pump() {
      return reader.read().then((chunk) => {
        if (chunk.done) return;
        touch();
        buffer += decoder.decode(chunk.value, { stream: true });
        const blocks = buffer.split(/\r?\n\r?\n/);
        buffer = blocks.pop();
        blocks.forEach(dispatch);
        return pump();
      });
    }
    return pump();
  }

  // One live run: resolves with "done", rejects with an Error whose message the slide shows.
  function runLive(generator, request, onStep, onDone) {
    const controller = new AbortController();
    const timeoutS = (server.timeoutS || settings.timeoutS) + GRACE_S;
    let timer = null;
    let timedOut = false;
    function touch() {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => { timedOut = true; controller.abort(); }, timeoutS * 1000);
    }
    touch();
    let finished = false;
    return api(baseURL() + "api/live/" + encodeURIComponent(generator), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify(request),
      signal: controller.signal,
    }).then((response) => {
      if (!response.ok) {
        return response.json().catch(() => ({})).then((body) => { throw new Error(body.message || "HTTP " + response.status); });
      }
      return readEvents(response, (type, data) => {
        if (type === "step") onStep(data);
        else if (type === "done") { finished = true; onDone(data); }
        else if (type === "error") throw new Error(data.message || "the model failed");
      }, touch);
    }).then(() => {
      window.clearTimeout(timer);
      if (!finished) throw new Error("the stream ended before the last step");
    }, (error) => {
      window.clearTimeout(timer);
      controller.abort(); // an error event or a bad event: close the stream too
      if (timedOut) throw new Error("no answer from the live server for " + timeoutS + " s");
      if (error && error.name === "TypeError") throw new Error("the live server went away");
      throw error;
    });
  }

  // --- recorded playback: the same events, from the deck's embedded artifact data -----------
  function playRecording(recording, onStep, onDone, run) {
    const steps = recording.steps || [];
    let i = 0;
    return new Promise((resolve) => {
      function next() {
        if (run.cancelled) return resolve();
        if (i < steps.length) { onStep(steps[i++]); window.setTimeout(next, PLAY_STEP_MS); return; }
        onDone(recording.done || {});
        resolve();
      }
      next();
    });
  }

  // --- the slides -------------------------------------------------------------------------
  // The diffusion slides' views come from live-diffusion.js (window.w2wLiveViews, loaded after this file).
  const views = { token_trace: tokenView, embedding_plot: embeddingView };

  function setupSlide(root) {
    const payload = readJSON(root.querySelector("script.w2w-live-data"));
    const kind = root.dataset.w2wLive;
    const make = views[kind] || (window.w2wLiveViews || {})[kind];
    if (!payload || !make) return;
    const view = make(root, payload);
    const form = root.querySelector("form.w2w-live-form");
    const badge = root.querySelector(".w2w-live-badge");
    const message = root.querySelector(".w2w-live-message");
    const replay = root.querySelector(".w2w-live-replay");
    let run = { cancelled: true };

    function say(text) { if (message) message.textContent = text || ""; }
    function setBadge(live, text) {
      if (!badge) return;
      badge.textContent = text;
      badge.dataset.state = live ? "live" : "recorded";
    }
    function recorded(reason) {
      run.cancelled = true;
      run = { cancelled: false };
      setBadge(false, payload.badge);
      say(reason ? reason + " — playing the recording." : "Playing the recording.");
      root.dataset.w2wLiveState = "recorded";
      view.reset(payload.request, false);
      return playRecording(payload.recorded, view.step, view.done, run).then(() => {
        if (run.cancelled) return;
        const broken = Array.from(root.querySelectorAll("img")).find((img) => img.complete && !img.naturalWidth && img.getAttribute("src"));
        if (broken) missing(broken);
        root.dataset.w2wLiveState = "recorded-done";
      });
    }
    // A picture of the recording that does not load (a file the server cannot read or does not
    // have): the slide says so, instead of a broken picture under "Playing the recording."
    function missing(img) {
      say("The recording is missing: its picture " + String(img.getAttribute("src")).split("/").pop() + " could not be loaded.");
      root.dataset.w2wRecordingMissing = "true";
    }
    function start(event) {
      if (event) event.preventDefault();
      const request = view.request(payload.request);
      if (typeof request === "string") { say(request); return; } // a message about the input
      if (!canCallServer()) return recorded(window.location.protocol === "file:" ? "Opened from a file, no live server" : "No live server");
      if (!server.ready) return recorded(server.reason ? server.reason.replace(/^./, (c) => c.toUpperCase()) : "The live server is not ready yet");
      run.cancelled = true;
      const mine = { cancelled: false };
      run = mine;
      const info = server.generators[payload.generator] || {};
      setBadge(true, "LIVE · " + (info.model || payload.model) + " · " + (info.device || "server"));
      say("Running live…");
      root.dataset.w2wLiveState = "live";
      view.reset(request, true);
      return runLive(payload.generator, request, (data) => { if (!mine.cancelled) view.step(data); }, (data) => {
        if (mine.cancelled) return;
        view.done(data);
        setBadge(true, "LIVE · " + (data.model || info.model || payload.model) + " · " + (data.device || info.device || "server"));
      }).then(() => {
        if (mine.cancelled) return;
        say("Live run finished.");
        root.dataset.w2wLiveState = "live-done";
      }, (error) => {
        if (mine.cancelled) return;
        return recorded("Live run failed: " + error.message);
      });
    }
    if (form) form.addEventListener("submit", start);
    if (replay) replay.addEventListener("click", () => recorded(""));
    root.addEventListener("error", (event) => {
      if (event.target && event.target.tagName === "IMG" && !String(event.target.src).startsWith("data:")) missing(event.target);
    }, true);
  }

  // Token trace: the sentence grows token by token; the bars show the newest step's top-k.
  function tokenView(root) {
    const panel = root.querySelector(".w2w-live-panel");
    const sentence = panel.querySelector(".w2w-live-sentence");
    const bars = panel.querySelector(".w2w-live-bars tbody");
    const meta = panel.querySelector(".w2w-live-meta");
    const input = root.querySelector(".w2w-live-input");
    let count = 0;
    return {
      request(base) {
        const prompt = input.value.trim();
        if (!prompt) return "Type a prompt first.";
        if (prompt.length > 400) return "The prompt is " + prompt.length + " characters; the limit is 400.";
        return Object.assign({}, base, { prompt: prompt });
      },
      reset(request) {
        root.classList.add("w2w-live-on");
        panel.hidden = false;
        sentence.textContent = "";
        sentence.appendChild(el("span", "w2w-prompt", request.prompt));
        bars.textContent = "";
        meta.textContent = "Waiting for the first token…";
        count = 0;
      },
      step(step) {
        count += 1;
        sentence.appendChild(el("span", "w2w-token", String(step.token).replace(/\n/g, "⏎")));
        bars.textContent = "";
        (step.top || []).forEach((c) => {
          const row = el("tr", c.token_id === step.token_id ? "w2w-chosen" : "");
          row.appendChild(el("td", "w2w-bar-token", visible(c.token)));
          const cell = el("td");
          const bar = el("div", "w2w-bar");
          bar.style.width = Math.max(0, Math.min(100, 100 * Number(c.prob))).toFixed(1) + "%";
          cell.appendChild(bar);
          row.appendChild(cell);
          row.appendChild(el("td", "num", pct(Number(c.prob))));
          bars.appendChild(row);
        });
        meta.textContent = "Step " + count + " · p = " + pct(Number(step.prob)) + " · entropy " + Number(step.entropy).toFixed(2) + " nats";
      },
      done(done) {
        const speed = typeof done.tokens_per_second === "number" ? done.tokens_per_second.toFixed(1) + " tokens/s" : "";
        const why = done.stopped === "eos" ? "stopped at end of sequence" : done.stopped === "sentence" ? "stopped at the end of the sentence" : done.stopped === "length" ? "stopped at the token limit" : "";
        meta.textContent = [count + " tokens", speed, why].filter(Boolean).join(" · ");
        panel.dataset.text = typeof done.text === "string" ? done.text : "";
      },
    };
  }

  // Embedding plot: the build's points, redrawn as SVG with the same PCA axes; typed words join them.
  const SVG = "http://www.w3.org/2000/svg";
  function embeddingView(root, payload) {
    const svg = root.querySelector("svg.w2w-live-plot");
    const list = root.querySelector(".w2w-live-similar");
    const input = root.querySelector(".w2w-live-input");
    const base = payload.plot || { words: [], points: [] };
    function scale(points) {
      const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
      const x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
      const y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
      const W = 640, H = 400, pad = 36;
      const sx = (W - 2 * pad - 90) / Math.max(1e-6, x1 - x0), sy = (H - 2 * pad) / Math.max(1e-6, y1 - y0);
      return (p) => [pad + (p[0] - x0) * sx, H - pad - (p[1] - y0) * sy];
    }
    function dot(xy, word, cls) {
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("class", cls);
      const c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", xy[0].toFixed(1)); c.setAttribute("cy", xy[1].toFixed(1)); c.setAttribute("r", cls === "w2w-live-new" ? "8" : "6");
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("x", (xy[0] + 10).toFixed(1)); t.setAttribute("y", (xy[1] - 8).toFixed(1));
      t.textContent = word;
      g.appendChild(c); g.appendChild(t);
      svg.appendChild(g);
    }
    let placed = [];
    function draw() {
      svg.textContent = "";
      const all = base.points.concat(placed.map((p) => p.point));
      const at = scale(all);
      base.words.forEach((w, i) => dot(at(base.points[i]), w, "w2w-live-old"));
      placed.forEach((p) => dot(at(p.point), p.word, "w2w-live-new"));
    }
    return {
      request(baseRequest) {
        const words = input.value.split(",").map((w) => w.trim()).filter(Boolean);
        if (!words.length) return "Type one to three words, separated by commas.";
        if (words.length > 3) return "At most three words, separated by commas.";
        const bad = words.find((w) => w.length > 40 || !/^[\p{L}\p{N} '-]+$/u.test(w));
        if (bad) return "“" + bad + "”: use letters, digits, spaces, - and ' (up to 40 characters).";
        return Object.assign({}, baseRequest, { words: words });
      },
      reset() {
        root.classList.add("w2w-live-on");
        root.querySelector(".w2w-live-panel").hidden = false;
        placed = [];
        list.textContent = "";
        draw();
      },
      step(step) {
        if (!Array.isArray(step.point)) return;
        placed.push({ word: String(step.word), point: [Number(step.point[0]), Number(step.point[1])] });
        draw();
        const item = el("li");
        item.appendChild(el("strong", "", step.word));
        const nearest = (step.nearest || []).slice(0, 3).map((n) => n[0] + " " + Number(n[1]).toFixed(2)).join(", ");
        item.appendChild(document.createTextNode(" — closest: " + nearest));
        list.appendChild(item);
      },
      done() {},
    };
  }

  // --- start --------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-w2w-live]").forEach(setupSlide);
    showStatus();
    watch();
  });
  // ready/run: for the explorables (explore-tokens.js): may a live run start now, and one run as the slides make it.
  window.w2wLive = {
    token: () => token, server: server, canCallServer: canCallServer, safeImage: safeImage,
    ready: () => canCallServer() && !!server.ready, run: runLive,
  };
})();
