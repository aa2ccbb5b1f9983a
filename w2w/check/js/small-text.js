// Text smaller than MIN_SLIDE_TEXT_PX in the slide's own 1280x720 space: rendered size divided by
// reveal.js' fit-to-window scale. SVG text is measured through its transform (a diagram is scaled
// into the slide), HTML text by its computed size. Hidden text (a fragment not yet shown, speaker
// notes) is not visible, so not judged.
([scopeSelector, minimum]) => {

    const scope = document.querySelector(scopeSelector);
    if (!scope) return [];
    const slideScale = scope.offsetWidth ? scope.getBoundingClientRect().width / scope.offsetWidth : 1;
    const selector = (el) => window.w2wSelector(el, scope);
    const visible = (el) => {
        if (el.closest('aside.notes, script, style, [hidden], [aria-hidden="true"]')) return false;
        if (el.getClientRects().length === 0) return false;
        for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
            const cs = getComputedStyle(n);
            if (cs.visibility === 'hidden' || cs.display === 'none' || parseFloat(cs.opacity) < 0.1) return false;
        }
        return true;
    };
    const found = new Map();
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        const el = t.parentElement;
        if (!el || !t.textContent.trim() || !visible(el)) continue;
        let size = parseFloat(getComputedStyle(el).fontSize);
        if (el instanceof SVGElement && el.getScreenCTM) {
            const m = el.getScreenCTM();
            if (m) size = size * Math.hypot(m.a, m.b) / slideScale;
        }
        if (size + 0.05 >= minimum) continue;
        const key = selector(el);
        const seen = found.get(key);
        const text = t.textContent.replace(/\s+/g, ' ').trim().slice(0, 40);
        if (!seen || size < seen.size) found.set(key, {selector: key, size: size, text: text});
    }
    return Array.from(found.values());
}
