/* w2w room, the deck's side (added by `w2w present --audience` to the deck it serves; never in the
   built deck, which opens from file:// with no request). With the presenter token (live.js keeps
   it in sessionStorage) and only in the top window (not the speaker view's previews, not a
   phone's copy of the deck): reports the current slide, fills the audience-door placeholders with
   the audience URL and its QR code, and runs the speaker's "run" orders from the moderation page
   as the speaker would: the text in the slide's input, then its Run button. */
(function () {
  "use strict";
  if (window.top !== window || !window.Reveal) return;
  let token = null;
  try { token = window.sessionStorage.getItem("w2w-live-token"); } catch { token = null; }
  if (!token || window.location.protocol !== "http:") return;

  function load(src, then) {
    const script = document.createElement("script");
    script.src = src;
    script.onload = then;
    document.body.appendChild(script);
  }

  load("/room/room-stream.js", () => {
    const room = window.w2wRoom;
    // The pointer and the poll (deck-room.js) read the presenter stream's events from here: it is
    // followed once they are loaded, so that they get its first event (the room's state).
    load("/room/pointer.js", () => load("/room/poll.js", () => load("/room/deck-room.js", followPresenter)));
    let last = "";
    function report() {
      const at = window.Reveal.getIndices();
      const f = typeof at.f === "number" ? at.f : -1;
      const now = [at.h, at.v || 0, f].join(".");
      if (now === last) return;
      last = now;
      room.post("/room/api/slide", token, { h: at.h, v: at.v || 0, f: f }).then((r) => { if (!r.ok) last = ""; });
    }
    ["slidechanged", "fragmentshown", "fragmenthidden", "ready"].forEach((name) => window.Reveal.on(name, report));
    if (window.Reveal.isReady()) report();

    fetch("/room/api/door", { headers: { "X-W2W-Token": token }, cache: "no-store", credentials: "omit" })
      .then((response) => response.ok ? response.json() : null)
      .then((door) => {
        if (!door) return;
        document.querySelectorAll(".w2w-audience-door").forEach((box) => {
          box.textContent = "";
          const img = window.w2wDom.el("img");
          img.alt = "QR code of the audience page";
          img.src = door.qr;
          img.style.cssText = "width:150px;height:150px;background:#fff;display:block;margin:0 auto 4px";
          box.appendChild(img);
          box.appendChild(window.w2wDom.el("span", "w2w-audience-door-text", "Join on your phone: " + door.audience));
          box.style.cssText = "position:absolute;right:0;bottom:40px;width:300px;font-size:14px;text-align:center;word-break:break-all";
          box.hidden = false;
        });
      }, () => null);

    // A run from the audience's queue: go to its slide, type the text, press Run.
    function followPresenter() {
      room.follow("/room/api/presenter", token, (type, order) => {
        window.dispatchEvent(new CustomEvent("w2w-room", { detail: { type: type, data: order } }));
        if (type !== "run") return;
        window.Reveal.slide(order.h, order.v);
        const slide = window.Reveal.getCurrentSlide();
        const form = slide && slide.querySelector("[data-w2w-live] form.w2w-live-form");
        const input = form && form.querySelector("input.w2w-live-input");
        if (!input) return;
        input.value = order.text;
        form.requestSubmit();
      }, () => null);
    }
  });
})();
