/* w2w remote: one server-sent-event stream read with fetch (EventSource cannot send the token in
   a header), reconnected after a pause; a refusal (401, 403) ends it for good and says so. Shared
   by the phone's page (remote.js) and the deck's side (deck.js). Nothing from the network but this
   server. */
(function () {
  "use strict";
  const RECONNECT_MS = 1000;

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

  // onEvent(type, data) per event; onLine(text) with the connection's state ("" when connected);
  // onRefused(message) once, when the server refuses the token or has no such stream (401, 403,
  // 404): the stream is not tried again.
  function follow(path, token, onEvent, onLine, onRefused) {
    function connect() {
      fetch(path, { headers: { "X-W2W-Token": token, "Accept": "text/event-stream" }, cache: "no-store", credentials: "omit" })
        .then((response) => {
          if (response.status === 401 || response.status === 403 || response.status === 404) {
            return response.json().catch(() => ({})).then((body) => { onRefused(body.message || "refused"); return "refused"; });
          }
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
                parse(buffer.slice(0, at), onEvent);
                buffer = buffer.slice(at).replace(/^\r?\n\r?\n/, "");
              }
              return pump();
            });
          }
          return pump();
        })
        .then((how) => { if (how !== "refused") { onLine("reconnecting…"); window.setTimeout(connect, RECONNECT_MS); } },
          (error) => { onLine("reconnecting: " + error.message); window.setTimeout(connect, RECONNECT_MS); });
    }
    connect();
  }

  // A JSON POST; resolves with {ok, status, body}.
  function post(path, token, data) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers["X-W2W-Token"] = token;
    return fetch(path, { method: "POST", headers: headers, body: JSON.stringify(data), cache: "no-store", credentials: "omit" })
      .then((response) => response.json().catch(() => ({})).then((body) => ({ ok: response.ok, status: response.status, body: body })),
        () => ({ ok: false, status: 0, body: { message: "the server cannot be reached" } }));
  }

  window.w2wRemoteStream = { follow: follow, post: post };
})();
