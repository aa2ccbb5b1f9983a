/* w2w's shared DOM helpers, window.w2wDom: for every page script that builds elements from data.
   The deck's (live.js, live-diffusion.js, explore-*.js), the handout's explorables, and the room's
   pages (audience.js, moderate.js; door.js runs inside the served deck, which has loaded it).

   One source, this file. The build copies it like the deck's other scripts: beside the deck
   (site/slides/w2w-dom.js, w2w/publish/deck.py) and into the handout's assets (assets/w2w-dom.js,
   handout_plugin.py); `w2w export-html` inlines the deck's copy. The room's pages are package files
   (w2w/present/room/static/), but the same `w2w present` serves the built site at / (the audience
   page already frames /slides/index.html), so they load the deck's copy, /slides/w2w-dom.js,
   rather than keep a second one. A classic script with one namespace object, loaded before the
   scripts that use it: ES modules do not load from file://, where the deck and the handout open. */
(function () {
  "use strict";

  // An element with an optional class and text. Text goes in as textContent, never as HTML:
  // what a model or the audience wrote is never markup.
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // The JSON inside a <script type="application/json"> element, or null (no element, unreadable).
  function readJSON(element) {
    if (!element) return null;
    try { return JSON.parse(element.textContent); } catch { return null; }
  }

  // `src` when it is a PNG data URL (the server's pictures, the precomputed grid's), else null.
  function pngData(src) {
    return typeof src === "string" && src.startsWith("data:image/png;base64,") ? src : null;
  }

  // A token as the token views show it: space, newline and tab made visible.
  function visible(text) {
    return String(text).replace(/ /g, "·").replace(/\n/g, "⏎").replace(/\t/g, "⇥");
  }

  function pct(p) { return (100 * p).toFixed(1) + "%"; }

  // reveal.js takes the arrow keys from the document unless an input or a textarea has the focus:
  // on a select inside `root` they would turn the slide instead of choosing an option.
  function selectsKeepKeys(root) {
    root.addEventListener("keydown", (event) => { if (event.target.tagName === "SELECT") event.stopPropagation(); });
  }

  window.w2wDom = { el: el, readJSON: readJSON, pngData: pngData, visible: visible, pct: pct, selectsKeepKeys: selectsKeepKeys };
})();
