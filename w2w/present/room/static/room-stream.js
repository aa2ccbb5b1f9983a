/* w2w room: one server-sent-event stream read with fetch (EventSource cannot send the token in a
   header), reconnected after a pause when it ends. Shared by the audience page, the moderation
   page and the deck's door.js. Plain JS; nothing from the network but this server. The DOM helpers
   (el, pngData) are the deck's, window.w2wDom (templates/dom.js, served as /slides/w2w-dom.js). */
(function () {
  "use strict";
  const RECONNECT_MS = 1500;

  function parse(block, onEvent) {
    let type = "message";
    const data = [];
    block.split(/\r?\n/).forEach((line) => {
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (!data.length) return;
    let value;
    try { value = JSON.parse(data.join("\n")); } catch { return; }
    onEvent(type, value);
  }

  // Calls onEvent(type, data) per event and onLine(text) with the connection's state, for ever.
  function follow(path, token, onEvent, onLine) {
    function connect() {
      fetch(path, { headers: { "X-W2W-Token": token, "Accept": "text/event-stream" }, cache: "no-store", credentials: "omit" })
        .then((response) => {
          if (!response.ok) {
            return response.json().catch(() => ({})).then((body) => { throw new Error(body.message || "HTTP " + response.status); });
          }
          onLine("");
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          function pump() {
            return reader.read().then(({ done, value }) => {
              if (done) return;
              buffer += decoder.decode(value, { stream: true });
              let at;
              while ((at = buffer.search(/\r?\n\r?\n/)) >= 0) {
                const block = buffer.slice(0, at);
                buffer = buffer.slice(at).replace(/^\r?\n\r?\n/, "");
                parse(block, onEvent);
              }
              return pump();
            });
          }
          return pump();
        })
        .then(() => onLine("reconnecting…"), (error) => onLine("reconnecting: " + error.message))
        .then(() => window.setTimeout(connect, RECONNECT_MS));
    }
    connect();
  }

  // A JSON POST; resolves with {ok, status, body}.
  function post(path, token, data) {
    return fetch(path, {
      method: "POST",
      headers: { "X-W2W-Token": token, "Content-Type": "application/json" },
      body: JSON.stringify(data),
      cache: "no-store",
      credentials: "omit",
    }).then((response) => response.json().catch(() => ({})).then((body) => ({ ok: response.ok, status: response.status, body: body })),
      () => ({ ok: false, status: 0, body: { message: "the server cannot be reached" } }));
  }

  // The token from the URL fragment (#name=...), kept in sessionStorage and taken out of the URL.
  function takeToken(name, key) {
    const match = new RegExp("(^#|&)" + name + "=([^&]*)").exec(window.location.hash);
    if (match) {
      const token = decodeURIComponent(match[2]);
      try { window.sessionStorage.setItem(key, token); } catch { /* storage off */ }
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      return token;
    }
    try { return window.sessionStorage.getItem(key); } catch { return null; }
  }

  window.w2wRoom = { follow: follow, post: post, takeToken: takeToken };
})();
