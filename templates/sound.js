/* The sound model's players on the deck (templates/macros.j2: sound_player, sound_strip, and the
   live panel of live-sound.js): the browser's own <audio controls>, which Tab reaches and Space or
   Enter plays and pauses. reveal.js reads keys on the document and would also turn the slide on
   Space, since it leaves alone only keys typed into an input or a text area; a player keeps the
   keys it answers to itself, and so does a live step's button (Space and Enter press it). One
   listener on the deck, so the players and buttons a live run adds later are covered too. A sound
   still playing when the slide changes stops, so that no slide talks over the next one. */
(function () {
  "use strict";

  const PLAYER_KEYS = new Set([" ", "Enter", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"]);
  const BUTTON_KEYS = new Set([" ", "Enter"]);

  function keepKeys(event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("audio.w2w-sound-audio") && PLAYER_KEYS.has(event.key)) event.stopPropagation();
    else if (target.matches(".w2w-sound-live button") && BUTTON_KEYS.has(event.key)) event.stopPropagation();
  }

  function pauseAll() {
    document.querySelectorAll("audio.w2w-sound-audio").forEach((audio) => {
      if (!audio.paused) audio.pause();
    });
  }

  // reveal.js listens on the document and dispatches its events on the .reveal element: a listener
  // there sees a key after the player and before reveal.js.
  const deck = document.querySelector(".reveal");
  if (deck) {
    deck.addEventListener("keydown", keepKeys);
    deck.addEventListener("slidechanged", pauseAll);
  }
})();
