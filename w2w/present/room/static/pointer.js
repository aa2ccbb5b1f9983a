/* w2w room: the speaker's pointer drawn over a reveal.js deck's slide, window.w2wPointer. Shared by
   the served deck (deck-room.js) and the phones, which draw inside their copy of the deck (the
   audience page's frame, the same origin): the overlay is a child of the deck's `.reveal .slides`,
   the box reveal.js scales to the screen, so the server's fractions of the slide (0..1) are
   percentages of it on any screen. It takes no clicks (pointer-events: none). */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  // The overlay in `doc`; apply(event) draws a `pointer` event, show(state) a page's first state,
  // slide(key) says which slide the page shows now (events for another slide are ignored, and a
  // new slide starts clean). `glideMs`: the dot moves to each new position in that time (the
  // phones get 10 positions a second, room/pointer.py; the deck 30, and no glide).
  function overlay(doc, glideMs) {
    const host = doc.querySelector(".reveal .slides");
    if (!host) return null;
    const box = doc.createElement("div");
    box.className = "w2w-pointer";
    box.setAttribute("aria-hidden", "true");
    box.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none;z-index:40";
    const svg = doc.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 1000 1000");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;overflow:visible";
    const dot = doc.createElement("div");
    dot.className = "w2w-pointer-dot";
    dot.style.cssText = "position:absolute;width:22px;height:22px;margin:-11px 0 0 -11px;border-radius:50%;" +
      "background:#e00;box-shadow:0 0 14px 5px rgba(255,0,0,0.55);display:none";
    box.appendChild(svg);
    box.appendChild(dot);
    host.appendChild(box);
    const lines = new Map();
    let key = null;

    function clearInk() { svg.textContent = ""; lines.clear(); }
    function clear() { clearInk(); dot.style.display = "none"; }
    function slide(now) { if (now !== key) { clear(); key = now; } }

    function addInk(ink) {
      Object.keys(ink).forEach((id) => {
        let line = lines.get(id);
        if (!line) {
          line = doc.createElementNS(SVG, "polyline");
          line.setAttribute("fill", "none");
          line.setAttribute("stroke", "#e00");
          line.setAttribute("stroke-width", "5");
          line.setAttribute("stroke-linecap", "round");
          line.setAttribute("stroke-linejoin", "round");
          line.setAttribute("vector-effect", "non-scaling-stroke");
          line.setAttribute("points", "");
          svg.appendChild(line);
          lines.set(id, line);
        }
        const more = ink[id].filter(isPoint).map((p) => (p[0] * 1000).toFixed(0) + "," + (p[1] * 1000).toFixed(0));
        line.setAttribute("points", (line.getAttribute("points") + " " + more.join(" ")).trim());
      });
    }

    function setDot(at) {
      if (!isPoint(at)) { dot.style.display = "none"; return; }
      const appearing = dot.style.display !== "block"; // a dot that appears does not glide in
      dot.style.transition = appearing || !glideMs ? "none" : "left " + glideMs + "ms linear, top " + glideMs + "ms linear";
      dot.style.left = (at[0] * 100).toFixed(2) + "%";
      dot.style.top = (at[1] * 100).toFixed(2) + "%";
      dot.style.display = "block";
    }

    function apply(event) {
      if (!event || event.s !== key) return;
      if (event.clear) clearInk();
      if (event.ink) addInk(event.ink);
      if ("dot" in event) setDot(event.dot);
    }

    function show(state) { // a page's first state: the current slide's marks only
      if (!state || state.s !== key) return;
      clear();
      apply({ s: state.s, ink: state.ink || {}, dot: state.dot });
    }

    return { apply: apply, show: show, slide: slide, clear: clear, element: box };
  }

  // The sending side, the laptop's deck's and the phone remote's: one request in flight at a time,
  // `post(body)` (a promise); behind it the latest dot and the ink not sent yet, up to 64 points of
  // the oldest stroke a request (room/pointer.py refuses more, and drops none); the next request
  // goes `everyMs` after the last answer (the server keeps at most 30 a second per sender).
  function sender(post, everyMs) {
    let busy = false;
    let dot = null;
    let dotChanged = false;
    let clearInk = false;
    const ink = []; // [stroke, [x, y]], oldest first
    function pump() {
      if (busy) return;
      const body = {};
      if (clearInk) { body.clear = true; clearInk = false; }
      if (ink.length) {
        let n = 0;
        while (n < ink.length && n < 64 && ink[n][0] === ink[0][0]) n += 1;
        body.stroke = ink[0][0];
        body.points = ink.splice(0, n).map((entry) => entry[1]);
      }
      if (dotChanged) { body.dot = dot; dotChanged = false; }
      if (!Object.keys(body).length) return;
      busy = true;
      post(body).then(() => window.setTimeout(() => { busy = false; pump(); }, everyMs));
    }
    return {
      point(at) { dot = at; dotChanged = true; pump(); }, // null hides the dot
      draw(stroke, at) { ink.push([stroke, at]); pump(); },
      clear() { ink.length = 0; clearInk = true; pump(); }, // ink not sent yet goes too
    };
  }

  function isPoint(p) {
    return Array.isArray(p) && p.length === 2 && p.every((n) => typeof n === "number" && n >= 0 && n <= 1);
  }

  window.w2wPointer = { overlay: overlay, sender: sender };
})();
