/* w2w room, the speaker's moderation page (presenter token, on 127.0.0.1): the audience URL and QR,
   the live models' state, a queue per live slide (approve / dismiss / run on the big screen) and
   the questions by votes (approve / answered / dismiss). All audience text goes in as text. */
(function () {
  "use strict";
  const room = window.w2wRoom;
  const { el } = window.w2wDom; // templates/dom.js, the deck's copy (/slides/w2w-dom.js)
  const $ = (id) => document.getElementById(id);
  const token = room.takeToken("w2w-token", "w2w-live-token");
  if (!token) { $("line").textContent = "No presenter token: open the `moderate:` URL that `w2w present` printed."; return; }

  function act(id, action) {
    room.post("/room/api/moderate", token, { id: id, action: action }).then((r) => {
      $("line").textContent = r.ok ? "" : r.body.message || "HTTP " + r.status;
    });
  }

  function row(item, actions) {
    const li = el("li");
    li.dataset.id = item.id;
    li.dataset.state = item.state;
    if (item.votes !== undefined) li.appendChild(el("strong", "w2w-mod-votes", item.votes));
    li.appendChild(el("span", "w2w-room-text", item.text));
    li.appendChild(el("span", "w2w-room-state", item.state));
    actions.forEach((action) => {
      const button = el("button", "w2w-mod-" + action, action);
      button.type = "button";
      button.addEventListener("click", () => act(item.id, action));
      li.appendChild(button);
    });
    return li;
  }

  function show(state) {
    const current = state.slide || {};
    $("current").textContent = (current.title || "") + " (" + current.key + ")";
    $("phones").textContent = String(state.phones);
    $("counters").textContent = "Dropped from a full queue: " + state.dropped + " · refused for flooding: " + state.refused;
    const queues = $("queues");
    queues.textContent = "";
    Object.entries(state.queues).forEach(([key, queue]) => {
      const box = el("section", "w2w-mod-queue");
      box.dataset.slide = key;
      box.appendChild(el("h3", null, queue.title + " · " + queue.generator + " (slide " + key + ")"));
      const list = el("ul");
      queue.items.forEach((item) => list.appendChild(row(item, item.state === "pending" ? ["approve", "run", "dismiss"] : ["run", "dismiss"])));
      if (!queue.items.length) list.appendChild(el("li", "w2w-room-state", "nothing yet"));
      box.appendChild(list);
      queues.appendChild(box);
    });
    const questions = $("questions");
    questions.textContent = "";
    state.questions.forEach((q) => questions.appendChild(row(q, q.state === "pending" ? ["approve", "dismiss"] : ["answered", "dismiss"])));
  }

  fetch("/room/api/door", { headers: { "X-W2W-Token": token }, cache: "no-store", credentials: "omit" })
    .then((r) => r.ok ? r.json() : null)
    .then((door) => { if (door) { $("qr").src = door.qr; $("audience-url").textContent = door.audience; } });

  // The live models' status as the server pushes it (/api/live/watch: now, then at each change),
  // as the deck's badge reads it: a death or a hang shows here at once, not at the next poll.
  room.follow("/api/live/watch", token, (type, s) => {
    if (type === "status") $("live").textContent = s.ready ? "ready" : "not ready: " + (s.reason || s.state || "loading");
  }, (line) => { if (line) $("live").textContent = "live server unreachable (" + line + ")"; });

  room.follow("/room/api/presenter", token, (type, data) => {
    window.dispatchEvent(new CustomEvent("w2w-room", { detail: { type: type, data: data } })); // the poll (poll-moderate.js)
    if (type === "queue") show(data);
    else if (type === "slide") $("current").textContent = (data.title || "") + " (" + data.key + ")";
  }, (line) => { $("line").textContent = line; });
})();
