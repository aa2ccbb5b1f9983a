/* The sound model's players on the deck (templates/macros.j2: sound_player, sound_strip): the
   browser's own <audio controls>, which Tab reaches and Space or Enter plays and pauses. reveal.js
   reads keys on the document and would also turn the slide on Space, since it leaves alone only
   keys typed into an input or a text area; the player keeps the keys it answers to itself. A
   sound still playing when the slide changes stops, so that no slide talks over the next one. */
(function () {
  "use strict";

  const PLAYER_KEYS = new Set([" ", "Enter", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"]);

  function keepKeys(audio) {
    audio.addEventListener("keydown", (event) => {
      if (PLAYER_KEYS.has(event.key)) event.stopPropagation();
    });
  }

  function pauseAll() {
    document.querySelectorAll("audio.w2w-sound-audio").forEach((audio) => {
      if (!audio.paused) audio.pause();
    });
  }

  document.querySelectorAll("audio.w2w-sound-audio").forEach(keepKeys);
  // reveal.js dispatches its events on the .reveal element.
  const deck = document.querySelector(".reveal");
  if (deck) deck.addEventListener("slidechanged", pauseAll);
})();
