/* w2w remote, the phone's page (/remote/, served by `w2w present --remote` on the LAN door; it
   holds no token). Pairing: the 6-digit code from the speaker's laptop (typed, or in the QR code's
   #pair=...) is traded once for this phone's own remote token, kept in sessionStorage. Then one
   stream of the deck's state (the slide, the next one, the notes, the section's timer, the live
   slide's form) and the buttons: previous, next, fragment, run. Everything goes in as text. A
   revoked token (401) brings the pairing form back. */
(function () {
  "use strict";
  const KEY = "w2w-remote-token";
  const stream = window.w2wRemoteStream;
  const $ = (id) => document.getElementById(id);
  let token = null;
  try { token = window.sessionStorage.getItem(KEY); } catch { token = null; }
  let timer = null;

  function say(text) { $("message").textContent = text || ""; }
  function minutes(seconds) {
    const s = Math.max(0, Math.round(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function unpaired(why) {
    token = null;
    try { window.sessionStorage.removeItem(KEY); } catch { /* storage off */ }
    $("remote").hidden = true;
    $("pair").hidden = false;
    say(why || "");
  }

  function pair(code) {
    say("Pairing…");
    stream.post("/remote/api/pair", null, { code: code }).then((r) => {
      if (!r.ok) { say(r.body.message || "pairing failed (HTTP " + r.status + ")"); return; }
      token = r.body.token;
      try { window.sessionStorage.setItem(KEY, token); } catch { /* storage off: kept in memory */ }
      say("");
      start();
    });
  }

  function showTimer(state, received) {
    window.clearInterval(timer);
    if (!state.budget_s) { $("timer").textContent = ""; return; }
    function tick() {
      const spent = state.section_elapsed_s + (performance.now() - received) / 1000;
      const over = spent - state.budget_s;
      $("timer").textContent = minutes(spent) + " / " + minutes(state.budget_s) + (over > 0 ? " · over by " + minutes(over) : "");
      $("timer").dataset.over = over > 0 ? "true" : "false";
    }
    tick();
    timer = window.setInterval(tick, 1000);
  }

  // --- the slides: the built deck twice, in frames of its own size (1280 x 720) scaled to the
  // phone: the current slide, and what comes next (the same place, one step on: the next fragment
  // or slide, as reveal.js's speaker view shows it). The frames are the deck's pages as any phone
  // on the LAN may load them; they hold no token.
  const frames = [$("now"), $("upcoming")];
  const ready = new Set();
  let last = null;
  function fit() { frames.forEach((f) => { f.style.transform = "scale(" + f.parentNode.clientWidth / 1280 + ")"; }); }
  window.addEventListener("resize", fit);
  fit();
  frames.forEach((frame) => frame.addEventListener("load", () => {
    const deck = frame.contentWindow && frame.contentWindow.Reveal;
    if (!deck) return;
    const prepared = () => {
      const style = frame.contentDocument.createElement("style"); // a preview: no controls, no badge, no forms
      style.textContent = "#w2w-live-status, .w2w-live-form, .w2w-live-line, .w2w-live-trained { display: none !important; }";
      frame.contentDocument.head.appendChild(style);
      deck.configure({ controls: false, progress: false, keyboard: false, touch: false, hash: false, history: false, slideNumber: false, transition: "none" });
      ready.add(frame.id);
      place();
    };
    if (deck.isReady()) prepared(); else deck.on("ready", prepared);
  }));
  function place() {
    if (!last) return;
    frames.forEach((frame) => {
      if (!ready.has(frame.id)) return;
      const deck = frame.contentWindow.Reveal;
      deck.slide(last.h, last.v, last.f);
      if (frame.id === "upcoming") deck.next();
    });
  }

  function show(state) {
    if (!state.connected) { $("title").textContent = "Waiting for the deck…"; return; }
    $("line").textContent = "Slide " + state.index + " of " + state.total + (state.section_title ? " · " + state.section_title : "");
    $("title").textContent = state.title || "(untitled slide)";
    $("next").textContent = state.next_title || (state.index >= state.total ? "the end" : "(untitled slide)");
    $("notes").textContent = state.notes || "";
    last = { h: state.h, v: state.v, f: state.f };
    place();
    showTimer(state, performance.now());
    $("pointer").hidden = !state.pointer;
    if (state.pointer) pointerReady();
    const form = state.form;
    $("run").hidden = !form;
    if (form) {
      $("run-label").textContent = form.label || "Live demo";
      $("run-text").maxLength = form.max_length;
      if (document.activeElement !== $("run-text")) $("run-text").value = form.value || "";
    }
  }

  function send(body) {
    return stream.post("/remote/api/command", token, body).then((r) => {
      if (r.status === 401) unpaired(r.body.message);
      else say(r.ok ? "" : r.body.message || "HTTP " + r.status);
    });
  }

  function start() {
    $("pair").hidden = true;
    $("remote").hidden = false;
    stream.follow("/remote/api/follow", token, (type, data) => { if (type === "state") show(data); },
      (line) => { if (line) $("line").textContent = line; }, (message) => unpaired(message));
  }

  // The pointer pad: the finger's place in the box is its place on the slide (fractions). Point:
  // the room's dot follows it and lifting the finger hides it. Draw: each touch is a stroke of ink;
  // "Clear ink" wipes the slide's. Sent as the laptop's deck sends (window.w2wPointer.sender, the
  // room's pointer.js, loaded once the room says it has a pointer: with --audience only).
  let mode = "point";
  let pen = null;
  let stroke = Math.floor(Math.random() * 1e9); // a reloaded phone does not add to an old stroke
  function pointerReady() {
    if (document.getElementById("w2w-pointer-js")) return;
    const script = document.createElement("script");
    script.id = "w2w-pointer-js";
    script.src = "/room/pointer.js";
    script.onload = () => {
      pen = window.w2wPointer.sender((body) => stream.post("/room/api/pointer", token, body).then((r) => {
        if (r.status === 401) unpaired(r.body.message);
        else if (!r.ok && r.status !== 429) say(r.body.message || "HTTP " + r.status);
      }), 33);
    };
    document.head.appendChild(script);
  }
  function where(event) {
    const box = $("pad").getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    return [Number(x.toFixed(3)), Number(y.toFixed(3))];
  }
  function touch(event) {
    if (!pen) return;
    if (mode === "draw") pen.draw(stroke, where(event));
    else pen.point(where(event));
  }
  function setMode(next) {
    if (pen && mode === "point" && next !== "point") pen.point(null);
    mode = next;
    $("pad-point").setAttribute("aria-pressed", String(mode === "point"));
    $("pad-draw").setAttribute("aria-pressed", String(mode === "draw"));
  }
  $("pad-point").addEventListener("click", () => setMode("point"));
  $("pad-draw").addEventListener("click", () => setMode("draw"));
  $("pad-clear").addEventListener("click", () => { if (pen) pen.clear(); });
  $("pad").addEventListener("pointerdown", (event) => {
    $("pad").setPointerCapture(event.pointerId);
    stroke += 1;
    touch(event);
    event.preventDefault();
  });
  $("pad").addEventListener("pointermove", (event) => { if (event.buttons || event.pointerType === "touch") touch(event); });
  const lift = () => { if (pen && mode === "point") pen.point(null); };
  $("pad").addEventListener("pointerup", lift);
  $("pad").addEventListener("pointercancel", lift);

  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => send({ action: button.dataset.action }));
  });
  $("run").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("run-text").value.trim();
    if (!text) { say("Type something first."); return; }
    send({ action: "run", text: text });
  });
  $("pair").addEventListener("submit", (event) => { event.preventDefault(); pair($("code").value.trim()); });

  const fromQR = /(^#|&)pair=([0-9]{6})/.exec(window.location.hash);
  if (fromQR) window.history.replaceState(null, "", window.location.pathname);
  if (token) start();
  else if (fromQR) { $("pair").hidden = false; $("code").value = fromQR[2]; pair(fromQR[2]); }
  else unpaired("");
})();
