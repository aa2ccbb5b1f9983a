/* w2w room, the moderation page's poll (presenter token): open a poll (question, 2-4 answers), see
   its counts live (this page only: the deck and the phones get them at the reveal), reveal it,
   close it (its counts are kept in the talk's record), clear it from the screens. */
(function () {
  "use strict";
  const room = window.w2wRoom;
  const { el } = window.w2wDom;
  const $ = (id) => document.getElementById(id);
  let token = null;
  try { token = window.sessionStorage.getItem("w2w-live-token"); } catch { token = null; }
  let poll = null;

  function order(body) {
    token = token || window.sessionStorage.getItem("w2w-live-token");
    return room.post("/room/api/poll", token, body).then((r) => {
      $("poll-message").textContent = r.ok ? "" : r.body.message || "HTTP " + r.status;
      $("poll-message").dataset.status = String(r.status);
      return r;
    });
  }

  function show() {
    const box = $("poll");
    box.textContent = "";
    if (!poll) { box.appendChild(el("p", "w2w-room-state", "No poll open.")); return; }
    box.appendChild(window.w2wPoll.view(poll, poll.counts));
    const actions = { open: ["reveal", "close", "clear"], revealed: ["close", "clear"], closed: ["clear"] }[poll.state] || [];
    actions.forEach((action) => {
      const button = el("button", "w2w-poll-" + action, action);
      button.type = "button";
      button.addEventListener("click", () => order({ action: action, id: poll.id }));
      box.appendChild(button);
    });
  }

  $("poll-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const options = Array.from(document.querySelectorAll(".w2w-poll-option")).map((i) => i.value).filter((v) => v.trim());
    order({ action: "open", question: $("poll-question").value, options: options }).then((r) => {
      if (r.ok) document.querySelectorAll("#poll-form input").forEach((i) => { i.value = ""; });
    });
  });

  window.addEventListener("w2w-room", (event) => {
    const { type, data } = event.detail;
    if (type === "queue") { poll = data.poll || null; show(); }
    else if (type === "poll") { poll = data; show(); }
    else if (type === "pollcounts" && poll && poll.id === data.id) { poll.counts = data.counts; show(); }
  });
})();
