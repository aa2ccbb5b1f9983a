/* w2w room, the audience page: follows the speaker's slide over one stream, suggests a prompt,
   caption or words on a live slide, asks and votes on questions. The audience token comes in the
   URL fragment (#a=...); the page never holds the presenter's. Everything from the room goes in as
   text (textContent), pictures only as PNG data URLs. */
(function () {
  "use strict";
  const room = window.w2wRoom;
  const { el, pngData } = window.w2wDom; // templates/dom.js, the deck's copy (/slides/w2w-dom.js)
  const token = room.takeToken("a", "w2w-room-token");
  const $ = (id) => document.getElementById(id);
  const device = deviceId();
  const state = { slide: null, questions: [], suggestions: [], mine: [], voted: {} };
  window.w2wAudience = { token: token, device: device }; // for the pointer and the poll (audience-room.js)

  function deviceId() {
    const key = "w2w-room-device";
    let id;
    try { id = window.localStorage.getItem(key); } catch { id = null; }
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
      const bytes = new Uint8Array(12);
      window.crypto.getRandomValues(bytes);
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      try { window.localStorage.setItem(key, id); } catch { /* kept for this visit only */ }
    }
    return id;
  }

  // --- the slide: the built deck in a frame, moved to the speaker's slide ----------------------
  // The frame is the deck's own size (1280 x 720), scaled down to the phone's width: a narrow
  // frame would put reveal.js in its scroll view, where slides cannot be moved to.
  const frame = $("deck");
  let deckReady = false;
  function fit() { frame.style.transform = "scale(" + frame.parentNode.clientWidth / 1280 + ")"; }
  window.addEventListener("resize", fit);
  fit();
  frame.addEventListener("load", () => {
    const deck = frame.contentWindow && frame.contentWindow.Reveal;
    if (!deck) return;
    const ready = () => {
      const style = frame.contentDocument.createElement("style"); // the phone's copy: no controls, no badge
      style.textContent = "#w2w-live-status, .w2w-live-form, .w2w-live-line, .w2w-live-trained { display: none !important; }";
      frame.contentDocument.head.appendChild(style);
      deck.configure({ controls: false, progress: false, keyboard: false, touch: false, hash: false, history: false, slideNumber: false, transition: "none" });
      deckReady = true;
      showSlide();
    };
    if (deck.isReady()) ready(); else deck.on("ready", ready);
  });

  function showSlide() {
    const s = state.slide;
    if (!s) return;
    $("slide-title").textContent = s.title || "Slide " + (s.h + 1);
    $("section").href = s.handout;
    document.body.dataset.slide = s.key;
    if (deckReady) {
      frame.contentWindow.Reveal.slide(s.h, s.v, s.f); // f = -1: no fragment shown yet
    }
    const form = $("suggest");
    form.hidden = !s.suggest;
    if (s.suggest) {
      $("suggest-label").textContent = "Suggest a " + s.suggest + " for this slide";
      $("suggest-text").maxLength = s.limit || 200;
    }
    showResults();
  }

  function showResults() {
    const list = $("results");
    list.textContent = "";
    const here = state.suggestions.filter((i) => state.slide && i.slide === state.slide.key);
    $("results-title").hidden = !here.length;
    here.forEach((item) => {
      const li = el("li");
      li.dataset.id = item.id;
      li.appendChild(el("p", "w2w-room-text", item.text));
      if (item.result) {
        const src = pngData(item.result.image);
        if (src) { const img = el("img"); img.src = src; img.alt = "The model's picture for: " + item.text; li.appendChild(img); }
        if (item.result.text) li.appendChild(el("p", "w2w-room-output", item.result.text));
      } else {
        const said = { running: "running on the big screen…", failed: "could not run on the big screen" };
        li.appendChild(el("p", "w2w-room-state", said[item.state] || "approved"));
      }
      list.appendChild(li);
    });
  }

  // --- questions ------------------------------------------------------------------------------
  function showQuestions() {
    const list = $("questions");
    list.textContent = "";
    state.questions.forEach((q) => {
      const li = el("li", q.state === "answered" ? "answered" : "");
      li.dataset.id = q.id;
      const vote = el("button", "w2w-room-vote", "▲ " + q.votes);
      vote.type = "button";
      vote.setAttribute("aria-label", "Vote for this question (" + q.votes + " votes)");
      vote.disabled = !!state.voted[q.id] || q.state === "answered";
      vote.addEventListener("click", () => {
        state.voted[q.id] = true;
        vote.disabled = true;
        room.post("/room/api/vote", token, { device: device, id: q.id }).then((r) => { if (!r.ok) say("ask-message", r.body.message); });
      });
      li.appendChild(vote);
      li.appendChild(el("span", "w2w-room-text", q.text));
      if (q.state === "answered") li.appendChild(el("span", "w2w-room-state", " answered"));
      list.appendChild(li);
    });
    const shown = new Set(state.questions.map((q) => q.id));
    state.mine = state.mine.filter((q) => !shown.has(q.id));
    const mine = $("mine");
    mine.textContent = "";
    state.mine.forEach((q) => {
      const li = el("li", "mine");
      li.appendChild(el("span", "w2w-room-text", q.text));
      li.appendChild(el("span", "w2w-room-state", " waiting for the speaker"));
      mine.appendChild(li);
    });
  }

  function say(id, text) { $(id).textContent = text || ""; }

  function submit(form, input, path, extra, messageId, onAccepted) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value;
      room.post(path, token, Object.assign({ device: device, text: text }, extra())).then((r) => {
        say(messageId, r.body.message || (r.ok ? "sent" : "HTTP " + r.status));
        $(messageId).dataset.status = String(r.status);
        if (r.ok) { input.value = ""; if (onAccepted) onAccepted(r.body); }
      });
    });
  }

  submit($("suggest"), $("suggest-text"), "/room/api/suggest", () => ({ slide: state.slide ? state.slide.key : "" }), "suggest-message");
  submit($("ask"), $("ask-text"), "/room/api/ask", () => ({}), "ask-message", (item) => { state.mine.push(item); showQuestions(); });

  // --- tabs -------------------------------------------------------------------------------------
  function tab(name) {
    ["slide", "questions"].forEach((n) => {
      $("tab-" + n).setAttribute("aria-selected", String(n === name));
      $("panel-" + n).hidden = n !== name;
    });
  }
  $("tab-slide").addEventListener("click", () => tab("slide"));
  $("tab-questions").addEventListener("click", () => tab("questions"));

  // --- the stream -------------------------------------------------------------------------------
  if (!token) { say("line", "No audience token: open this page from the speaker's QR code or link."); return; }
  // The whole room comes once (`state`), then only what changed: one item, or the vote counts
  // that changed ({id: votes}); questions stay ordered by votes (a stable sort keeps ties in place).
  function upsert(list, item) {
    const at = list.findIndex((i) => i.id === item.id);
    if (at >= 0) list[at] = item; else list.push(item);
  }
  function byVotes() { state.questions.sort((a, b) => b.votes - a.votes); }

  room.follow("/room/api/stream", token, (type, data) => {
    window.dispatchEvent(new CustomEvent("w2w-room", { detail: { type: type, data: data } }));
    if (type === "state") {
      state.slide = data.slide; state.questions = data.questions; state.suggestions = data.suggestions;
      showSlide(); showQuestions();
    } else if (type === "slide") { state.slide = data; showSlide(); }
    else if (type === "item" || type === "result") {
      if (data.kind === "question") { upsert(state.questions, data); byVotes(); showQuestions(); }
      else { upsert(state.suggestions, data); showResults(); }
    } else if (type === "votes") {
      state.questions.forEach((q) => { if (typeof data[q.id] === "number") q.votes = data[q.id]; });
      byVotes(); showQuestions();
    } else if (type === "removed") {
      state.questions = state.questions.filter((i) => i.id !== data.id);
      state.suggestions = state.suggestions.filter((i) => i.id !== data.id);
      state.mine = state.mine.filter((i) => i.id !== data.id);
      showQuestions(); showResults();
    }
  }, (line) => say("line", line || "following the speaker"));
})();
