/* w2w remote in reveal.js's speaker view: loaded by deck.js in the speaker view's "current slide"
   preview, it puts a panel into the speaker's window (the preview's parent, same origin). With
   --remote: the pairing code and its QR code while one is valid, how many remotes are paired, and
   two buttons: a new code, and revoke every paired remote (their next request gets 401 and their
   stream ends). With --rehearse: a button that records the microphone (opt-in: the browser asks
   first), sent to the server in 2-second chunks and kept beside the rehearsal file. Everything
   goes in as text, or as the server's own QR image (an SVG data URL). */
(function () {
  "use strict";
  const POLL_MS = 2000;
  const CHUNK_MS = 2000; // the microphone's chunks: at most the last 2 s are lost if the server stops

  window.w2wSpeakerPanel = function (token) {
    const doc = window.parent.document;
    if (doc.getElementById("w2w-remote-panel")) return;
    const panel = doc.createElement("div");
    panel.id = "w2w-remote-panel";
    panel.style.cssText = "position:fixed;right:8px;bottom:8px;z-index:30;background:#fff;color:#111;border:1px solid #888;padding:8px;font:16px/1.3 Helvetica,sans-serif;max-width:260px;text-align:center";
    const line = doc.createElement("p");
    line.style.margin = "0 0 4px";
    const code = doc.createElement("p");
    code.id = "w2w-remote-code";
    code.style.cssText = "font:bold 28px/1.2 monospace;letter-spacing:4px;margin:0";
    const qr = doc.createElement("img");
    qr.alt = "QR code that pairs the speaker's phone";
    qr.style.cssText = "width:160px;height:160px;display:none;margin:4px auto";
    const url = doc.createElement("p");
    url.style.cssText = "font-size:12px;word-break:break-all;margin:0 0 4px";
    const again = doc.createElement("button");
    again.type = "button";
    again.textContent = "New code";
    const revoke = doc.createElement("button");
    revoke.type = "button";
    revoke.id = "w2w-remote-revoke";
    revoke.textContent = "Revoke remotes";
    const mic = doc.createElement("button");
    mic.type = "button";
    mic.id = "w2w-remote-mic";
    mic.textContent = "Record the microphone";
    mic.style.display = "none";
    [line, code, qr, url, again, revoke, mic].forEach((node) => panel.appendChild(node));
    mic.addEventListener("click", () => microphone(token, mic, line));

    function show(info) {
      if (!info || (!info.enabled && !info.rehearse)) { panel.remove(); return; }
      if (!panel.isConnected) doc.body.appendChild(panel);
      mic.style.display = info.rehearse ? "" : "none";
      [again, revoke].forEach((button) => { button.style.display = info.enabled ? "" : "none"; });
      if (!info.enabled) { line.textContent = "Rehearsing"; return; }
      const why = { used: "code used", expired: "code expired", burnt: "too many wrong codes", none: "no code" };
      line.textContent = "Remote: " + info.devices + " paired" + (info.code ? "" : " · " + (why[info.why] || ""));
      code.textContent = info.code || "";
      url.textContent = info.code ? info.url : "";
      if (info.code && typeof info.qr === "string" && info.qr.startsWith("data:image/svg+xml")) {
        qr.src = info.qr;
        qr.style.display = "block";
      } else {
        qr.removeAttribute("src");
        qr.style.display = "none";
      }
      revoke.disabled = !info.devices;
    }
    function refresh(method) {
      return fetch("/remote/api/pairing", { method: method || "GET", headers: { "X-W2W-Token": token }, cache: "no-store", credentials: "omit" })
        .then((r) => (r.ok ? r.json() : null)).then(show, () => null);
    }
    again.addEventListener("click", () => refresh("POST"));
    revoke.addEventListener("click", () => window.w2wRemoteStream.post("/remote/api/revoke", token, {}).then(() => refresh()));
    // Asked for, not streamed: a browser opens at most 6 connections to one server; with
    // --audience the deck (live status, remote, room) and the speaker view's two previews hold 5
    // streams, a stream of the panel's own made 6, and its requests then never got a connection
    // (the panel never showed, in test_remote.py). The code expires by the clock anyway.
    refresh();
    window.setInterval(refresh, POLL_MS);
  };

  // The rehearsal's microphone: a MediaRecorder here (the preview's own page: same origin as the
  // speaker's window, so the browser's permission applies), each chunk POSTed as it comes.
  let recorder = null;
  function microphone(token, button, line) {
    if (recorder) { recorder.stop(); return; }
    if (!navigator.mediaDevices || !window.MediaRecorder) { line.textContent = "This browser cannot record here."; return; }
    navigator.mediaDevices.getUserMedia({ audio: true }).then((stream) => {
      return window.w2wRemoteStream.post("/remote/api/audio/start", token, {}).then((r) => {
        if (!r.ok) throw new Error(r.body.message || "HTTP " + r.status);
        recorder = new window.MediaRecorder(stream);
        let sending = Promise.resolve();
        recorder.addEventListener("dataavailable", (event) => {
          if (!event.data.size) return;
          const type = (event.data.type || "audio/webm").split(";")[0];
          sending = sending.then(() => fetch("/remote/api/audio", {
            method: "POST", headers: { "X-W2W-Token": token, "Content-Type": type }, body: event.data, cache: "no-store", credentials: "omit",
          })).then((response) => { if (!response.ok) line.textContent = "The recording was refused (HTTP " + response.status + ")."; }, () => null);
        });
        recorder.addEventListener("stop", () => {
          stream.getTracks().forEach((track) => track.stop());
          sending.then(() => { recorder = null; button.textContent = "Record the microphone"; button.dataset.state = "stopped"; });
        });
        recorder.start(CHUNK_MS);
        button.textContent = "Stop the recording";
        button.dataset.state = "recording";
      });
    }).catch((error) => { line.textContent = "No recording: " + error.message; });
  }
})();
