/* w2w room: the poll as the deck, the phones and the moderation page show it, window.w2wPoll.
   Before the reveal: the question and its answers (buttons on a phone that may still vote). Once
   revealed: a bar chart in plain HTML, each bar's count and share also written as text (a screen
   reader reads "LLM: 12 votes, 40%"). All text from the server goes in as text. */
(function () {
  "use strict";
  const { el } = window.w2wDom;

  // The poll's view (an element of this page); `vote(choice)` when the page may vote.
  // `counts` is shown only when given (the speaker's page shows its live counts; the phones and the
  // deck get them only once revealed).
  function view(poll, counts, vote) {
    const box = el("section", "w2w-poll-view");
    box.dataset.poll = poll.id;
    box.dataset.state = poll.state;
    box.appendChild(el("h3", "w2w-poll-question", poll.question));
    const list = el("ul", "w2w-poll-options");
    const total = counts ? counts.reduce((a, b) => a + b, 0) : 0;
    poll.options.forEach((option, i) => {
      const li = el("li");
      li.dataset.choice = String(i);
      if (counts) {
        const n = counts[i] || 0;
        const share = total ? Math.round((100 * n) / total) : 0;
        li.appendChild(el("span", "w2w-poll-label", option));
        const bar = el("span", "w2w-poll-bar");
        bar.setAttribute("aria-hidden", "true");
        bar.style.width = share + "%";
        li.appendChild(bar);
        li.appendChild(el("span", "w2w-poll-count", n + " vote" + (n === 1 ? "" : "s") + ", " + share + "%"));
      } else if (vote) {
        const button = el("button", "w2w-poll-vote", option);
        button.type = "button";
        button.addEventListener("click", () => vote(i));
        li.appendChild(button);
      } else {
        li.appendChild(el("span", "w2w-poll-label", option));
      }
      list.appendChild(li);
    });
    box.appendChild(list);
    const said = { open: counts ? "open · " + total + " votes so far" : "vote on your phone", revealed: total + " votes", closed: "closed · " + total + " votes" };
    box.appendChild(el("p", "w2w-poll-state", said[poll.state] || poll.state));
    return box;
  }

  // The counts a page that is not the speaker's may show: only a revealed or closed poll's.
  function shown(poll) { return poll && poll.state !== "open" && Array.isArray(poll.counts) ? poll.counts : null; }

  window.w2wPoll = { view: view, shown: shown };
})();
