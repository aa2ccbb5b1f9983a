/* w2w live demos, the sound slide ("Noise becomes a note"; loaded after live.js, which drives the
   runs): a caption typed on the slide is denoised by the sound model under `w2w present`
   (w2w_generators/sound_demo/live.py), and every step's x̂0 arrives as a spectrogram and as a 1 s
   WAV. Each step joins a row of buttons: pressing one shows that step's spectrogram and plays its
   sound in the step player (the browser's own <audio controls>, so it pauses too). Then the
   finished clip comes in a player of its own, with its text alternative: what the caption asked
   and what the checker heard in the waveform. Without a server the build's own run replays: the
   strip's steps (each a second of strip_guess.wav) and the clip. Space and Enter on the step
   buttons and the players do not turn the slide (sound.js). The build's strip steps aside while a
   run shows and comes back with one button. */
(function () {
  "use strict";

  const { el } = window.w2wDom;
  const safeImage = (src) => window.w2wLive.safeImage(src);

  // Only sounds the deck can vouch for: a WAV data URL from the server, or a WAV of the deck's own
  // artifacts (the recording).
  function safeSound(src) {
    if (typeof src !== "string") return null;
    if (/^data:audio\/(wav|x-wav|wave);base64,[A-Za-z0-9+/]+=*$/.test(src)) return src; // x-wav: w2w export-html
    if (/^(\.\.\/|\.\/)?artifacts\/[A-Za-z0-9_./-]+\.wav$/.test(src) && src.indexOf("..", 3) === -1) return src;
    return null;
  }

  // A second of a longer file (the recording's strip_guess.wav) as a media fragment: the player
  // starts there and stops at its end.
  function segment(src, start, end) {
    return typeof start === "number" && typeof end === "number" ? src + "#t=" + start + "," + end : src;
  }

  function player(className, label) {
    const audio = el("audio", "w2w-sound-audio " + className);
    audio.controls = true;
    audio.preload = "auto";
    audio.setAttribute("aria-label", label);
    return audio;
  }

  function soundView(root) {
    const input = root.querySelector(".w2w-live-input");
    const strip = root.querySelector(".w2w-sound-strip");
    const panel = root.querySelector(".w2w-sound-live");
    const picture = panel.querySelector(".w2w-sound-live-picture");
    const stepLine = panel.querySelector(".w2w-sound-live-step-text");
    const buttons = panel.querySelector(".w2w-sound-live-steps");
    const clipBox = panel.querySelector(".w2w-sound-live-clip");
    const text = panel.querySelector(".w2w-sound-live-text");
    // Made at their first use: an <img> or <audio> without a source fails the deck's checks.
    let image = null, stepPlayer = null, clipPicture = null, clipPlayer = null;
    let asked = null;

    function show(step, play) {
      const src = safeImage(step.image);
      const sound = safeSound(step.audio);
      const words = "The model's guess of the finished sound after step " + step.step + " of " + step.steps;
      if (src) {
        if (!image) image = picture.appendChild(el("img", "w2w-sound-live-image"));
        image.src = src;
        image.alt = words + ", as a spectrogram: time left to right, pitch bottom to top, loud is bright";
      }
      if (sound) {
        if (!stepPlayer) stepPlayer = stepLine.parentNode.insertBefore(player("w2w-sound-live-step-audio", ""), stepLine);
        // A step still playing is heard to its end; a newer step waits for its button.
        if (play || stepPlayer.paused) {
          stepPlayer.src = segment(sound, step.start_s, step.end_s);
          stepPlayer.setAttribute("aria-label", words + ", 1 s");
        }
        if (play) stepPlayer.play().catch(() => { /* the browser refused: its own play button remains */ });
      }
      stepLine.textContent = "Step " + step.step + " of " + step.steps + (step.heard ? ": the checker heard " + step.heard + "." : ".");
    }

    panel.querySelector(".w2w-sound-live-back").addEventListener("click", () => {
      panel.querySelectorAll("audio").forEach((audio) => audio.pause());
      panel.hidden = true;
      strip.hidden = false;
    });

    return {
      request(base) {
        const prompt = input.value.trim();
        if (!prompt) return "Type a caption first, e.g. “two low falling notes on an organ”.";
        if (prompt.length > input.maxLength) return "The caption is " + prompt.length + " characters; the limit is " + input.maxLength + ".";
        return Object.assign({}, base, { prompt: prompt });
      },
      reset(request, live) {
        asked = request;
        panel.querySelectorAll("audio").forEach((audio) => audio.pause());
        strip.hidden = true;
        panel.hidden = false;
        buttons.textContent = "";
        clipBox.hidden = true;
        stepLine.textContent = "";
        text.textContent = (live ? "Denoising live: “" : "Replaying “") + request.prompt + "”…";
      },
      step(step) {
        if (!safeSound(step.audio) && !safeImage(step.image)) return;
        show(step, false);
        const button = el("button", "w2w-sound-live-button");
        button.type = "button";
        button.setAttribute("aria-label", "Play the guess after step " + step.step + " of " + step.steps);
        const src = safeImage(step.image);
        if (src) {
          const thumb = button.appendChild(el("img"));
          thumb.src = src;
          thumb.alt = "";
        }
        button.appendChild(el("span", null, String(step.step)));
        button.addEventListener("click", () => show(step, true));
        buttons.appendChild(el("li")).appendChild(button);
      },
      done(done) {
        const prompt = done.prompt || (asked && asked.prompt) || "";
        const src = safeImage(done.image);
        const sound = safeSound(done.audio);
        clipBox.hidden = false;
        if (src) {
          if (!clipPicture) clipPicture = clipBox.insertBefore(el("img", "w2w-sound-live-image"), clipBox.firstChild);
          clipPicture.src = src;
          clipPicture.alt = "Spectrogram of the finished sound for “" + prompt + "”: time left to right, pitch bottom to top, loud is bright";
        }
        if (sound) {
          if (!clipPlayer) clipPlayer = clipBox.querySelector("figcaption").appendChild(player("w2w-sound-live-clip-audio", ""));
          clipPlayer.src = sound;
          clipPlayer.setAttribute("aria-label", "The model's sound, " + (done.clip_seconds || 1) + " s: " + prompt);
        }
        const verdict = done.matches === true ? " ✓ what the caption asked." : done.matches === false ? " ✗ not what the caption asked." : "";
        let line = "Asked: “" + prompt + "”. The checker heard: " + (done.heard || "nothing") + "." + verdict;
        if (typeof done.seconds === "number") line += " Made in " + done.seconds.toFixed(2) + " s (" + done.steps + " steps) on " + (done.device || "the server") + ".";
        else if (typeof done.seconds_per_step === "number") line += " " + (done.seconds_per_step * 1000).toFixed(0) + " ms a step when the deck was built.";
        text.textContent = line;
      },
    };
  }

  window.w2wLiveViews = Object.assign(window.w2wLiveViews || {}, { sound: soundView });
})();
