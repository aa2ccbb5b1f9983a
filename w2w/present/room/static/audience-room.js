/* w2w room, the audience page's pointer and poll (events from audience.js's stream, as `w2w-room`
   window events). The pointer is drawn inside the phone's copy of the deck (the frame, the same
   origin) over its slide, as the deck draws it; the poll is a card above the tabs: the answers to
   vote for, then, once the speaker reveals it, the bars. One vote per phone: the server counts a
   device once; this page remembers its vote to show it. */
(function () {
  "use strict";
  const room = window.w2wRoom;
  const $ = (id) => document.getElementById(id);
  let overlay = null;
  let key = null; // the slide the speaker shows
  let marks = null; // the marks that came before the frame's deck was ready
  let poll = null;

  // --- the pointer, in the frame ----------------------------------------------------------------
  const frame = $("deck");
  frame.addEventListener("load", () => {
    const deck = frame.contentWindow && frame.contentWindow.Reveal;
    if (!deck) return;
    const ready = () => {
      overlay = window.w2wPointer.overlay(frame.contentDocument, 100); // 10 positions a second: glide
      if (!overlay) return;
      overlay.slide(key);
      overlay.show(marks);
    };
    if (deck.isReady()) ready(); else deck.on("ready", ready);
  });
  function slide(now) {
    if (now === key) return;
    key = now;
    marks = null;
    if (overlay) overlay.slide(key);
  }

  // --- the poll ---------------------------------------------------------------------------------
  function votedFor(id) {
    try { return window.localStorage.getItem("w2w-poll-" + id); } catch { return null; }
  }
  function vote(choice) {
    const me = window.w2wAudience || {};
    const id = poll.id;
    try { window.localStorage.setItem("w2w-poll-" + id, String(choice)); } catch { /* shown for this visit only */ }
    showPoll();
    room.post("/room/api/poll/vote", me.token, { device: me.device, id: id, choice: choice }).then((r) => {
      const line = $("poll").querySelector(".w2w-poll-mine");
      if (!line) return;
      if (!r.ok) {
        line.textContent = r.body.message || "HTTP " + r.status;
        line.dataset.status = String(r.status);
      } else if (!r.body.counted) {
        line.textContent = "This phone has voted in this poll already: the first vote counts.";
      }
    });
  }
  function showPoll() {
    const box = $("poll");
    box.textContent = "";
    box.hidden = !poll;
    if (!poll) return;
    const mine = votedFor(poll.id);
    const counts = window.w2wPoll.shown(poll);
    const canVote = poll.state !== "closed" && mine === null;
    box.appendChild(window.w2wPoll.view(poll, counts, canVote ? vote : null));
    if (mine !== null && poll.options[Number(mine)] !== undefined) {
      const said = counts ? "Your vote: " : "Your vote: the results show once the speaker reveals them. You chose ";
      box.appendChild(window.w2wDom.el("p", "w2w-poll-mine", said + poll.options[Number(mine)]));
    }
  }

  window.addEventListener("w2w-room", (event) => {
    const { type, data } = event.detail;
    if (type === "state") {
      slide(data.slide.key);
      marks = data.pointer;
      if (overlay) overlay.show(marks);
      poll = data.poll || null;
      showPoll();
    } else if (type === "slide") slide(data.key);
    else if (type === "pointer" && overlay) overlay.apply(data);
    else if (type === "poll") { poll = data; showPoll(); }
    else if (type === "pollcounts" && poll && poll.id === data.id && poll.state !== "open") { poll.counts = data.counts; showPoll(); }
  });
})();
