// The explorables' other state (issue 24): each control moved off its default once, so that axe and
// the 16 px rule also judge what a reader sees after a click: the token explorer opened (in the
// deck it is hidden behind "Choose a token"), step 2 selected and another candidate chosen (its
// branch written out), and each precomputed-grid select on its next value. Returns how many
// controls it moved: 0 on a slide or page without explorables, which then gets no second pass.
(scope) => {
    const root = scope ? document.querySelector(scope) : document;
    if (!root) return 0;
    let moved = 0;
    root.querySelectorAll('.w2w-explore-toggle[aria-expanded="false"]').forEach((b) => { b.click(); moved++; });
    root.querySelectorAll('[data-w2w-explore="token_trace"]').forEach((x) => {
        const tokens = x.querySelectorAll('.w2w-explore-token');
        if (tokens[1]) tokens[1].click();
        const other = x.querySelector('.w2w-explore-candidate:not([aria-pressed="true"])');
        if (other) { other.click(); moved++; }
    });
    root.querySelectorAll('.w2w-explore-grid select').forEach((s) => {
        if (s.options.length < 2) return;
        s.selectedIndex = (s.selectedIndex + 1) % s.options.length;
        s.dispatchEvent(new Event('change', {bubbles: true}));
        moved++;
    });
    return moved;
}
