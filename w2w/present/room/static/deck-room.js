/* w2w room, on the served deck (loaded by door.js, with the presenter token, in the top window
   only): the speaker's pointer and the poll.

   Keys (none of them is reveal.js's: it uses N P H J K L B . F G O S ? and the arrows):
     Q  laser pointer on / off: the mouse's position over the slide goes to the room
     D  drawing on / off: drag to draw on the slide
     X  clear the drawing
   What the room sees is drawn here from the presenter stream, as the phones draw it, so the deck
   shows what the room got. A slide change clears it (the server clears its copy too).

   The poll: a slide's poll() block (templates/macros.j2) gets "Open this poll to the room"; the
   current poll shows in the slide's block when it is that slide's, else in a panel on the deck.
   The deck is projected: it shows the counts only once the speaker reveals them. */
(function () {
  "use strict";
  const room = window.w2wRoom;
  const { el, readJSON } = window.w2wDom;
  let token = null;
  try { token = window.sessionStorage.getItem("w2w-live-token"); } catch { token = null; }
  if (!token || !room || !window.w2wPointer) return;

  const EVERY_MS = 33; // 30 moves a second at most, the server's bound per sender
  const key = () => { const at = window.Reveal.getIndices(); return at.h + "." + (at.v || 0); };
  const overlay = window.w2wPointer.overlay(document);
  overlay.slide(key());
  const badge = el("div", "w2w-pointer-mode");
  badge.setAttribute("role", "status");
  badge.style.cssText = "position:fixed;left:8px;bottom:8px;z-index:60;font:14px system-ui,sans-serif;" +
    "background:rgba(0,0,0,0.6);color:#fff;padding:2px 8px;border-radius:4px;display:none";
  document.body.appendChild(badge);

  // --- sending: window.w2wPointer.sender (pointer.js), shared with the phone remote ---------------
  const send = window.w2wPointer.sender((body) => room.post("/room/api/pointer", token, body), EVERY_MS);
  let mode = "";
  let stroke = Math.floor(Math.random() * 1e9); // a reloaded deck does not add to an old stroke
  const point = (at) => send.point(at);
  function where(event) {
    const box = overlay.element.getBoundingClientRect();
    const x = (event.clientX - box.left) / box.width;
    const y = (event.clientY - box.top) / box.height;
    return x >= 0 && x <= 1 && y >= 0 && y <= 1 ? [Number(x.toFixed(4)), Number(y.toFixed(4))] : null;
  }

  function setMode(next) {
    if (mode === "laser" && next !== "laser") point(null);
    mode = next;
    badge.textContent = { laser: "laser pointer (Q)", draw: "drawing (D; X clears)" }[mode] || "";
    badge.style.display = mode ? "block" : "none";
    document.documentElement.style.cursor = mode === "draw" ? "crosshair" : "";
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || (target && target.closest && target.closest("input, textarea, select, [contenteditable]"))) return;
    const k = event.key.toLowerCase();
    if (k === "q") setMode(mode === "laser" ? "" : "laser");
    else if (k === "d") setMode(mode === "draw" ? "" : "draw");
    else if (k === "x") send.clear();
  });
  let drawing = false;
  document.addEventListener("pointermove", (event) => {
    if (mode === "laser") point(where(event));
    else if (mode === "draw" && drawing) { const at = where(event); if (at) send.draw(stroke, at); }
  });
  document.addEventListener("pointerdown", (event) => {
    if (mode !== "draw") return;
    drawing = true;
    stroke += 1;
    const at = where(event);
    if (at) send.draw(stroke, at);
    event.preventDefault();
  });
  document.addEventListener("pointerup", () => { drawing = false; });

  // --- the poll ---------------------------------------------------------------------------------
  const style = el("link");
  style.rel = "stylesheet";
  style.href = "/room/deck-room.css";
  document.head.appendChild(style);
  let poll = null;
  const panel = el("div", "w2w-poll-panel");
  panel.style.cssText = "position:fixed;right:16px;top:16px;width:420px;z-index:50;display:none";
  document.body.appendChild(panel);

  document.querySelectorAll(".w2w-poll").forEach((block) => {
    const data = readJSON(block.querySelector("script.w2w-poll-data"));
    if (!data) return;
    const open = el("button", "w2w-poll-open", "Open this poll to the room");
    open.type = "button";
    open.addEventListener("click", () => {
      room.post("/room/api/poll", token, { action: "open", question: data.question, options: data.options, slide: key() });
    });
    block.appendChild(open);
  });

  function showPoll() {
    const slide = window.Reveal.getCurrentSlide();
    document.querySelectorAll(".w2w-poll-live").forEach((live) => live.remove());
    panel.textContent = "";
    panel.style.display = "none";
    if (!poll) return;
    const view = window.w2wPoll.view(poll, window.w2wPoll.shown(poll));
    view.classList.add("w2w-poll-live");
    const block = slide && Array.from(slide.querySelectorAll(".w2w-poll")).find((b) => {
      const data = readJSON(b.querySelector("script.w2w-poll-data"));
      return data && data.question === poll.question;
    });
    if (block) block.appendChild(view);
    else { panel.appendChild(view); panel.style.display = "block"; }
  }

  window.addEventListener("w2w-room", (event) => {
    const { type, data } = event.detail;
    if (type === "pointer") overlay.apply(data);
    else if (type === "queue") { overlay.show(data.pointer); poll = data.poll || null; showPoll(); }
    else if (type === "poll") { poll = data; showPoll(); }
    else if (type === "pollcounts" && poll && poll.id === data.id) { poll.counts = data.counts; if (poll.state !== "open") showPoll(); }
  });
  window.Reveal.on("slidechanged", () => { overlay.slide(key()); showPoll(); });
})();
