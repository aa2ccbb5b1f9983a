// A short CSS path to an element (up to 3 levels below `scope`), without reveal.js' state classes,
// so that the same element has the same name in every fragment state of a slide.
// Page-global helpers for the checks, evaluated once per page before axe-run.js and small-text.js.
window.w2wState = new Set(['present', 'past', 'future', 'visible', 'current-fragment']);
window.w2wName = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + Array.from(el.classList).filter((c) => !window.w2wState.has(c)).map((c) => '.' + c).join('');
window.w2wSelector = (el, scope) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1 && n !== scope && parts.length < 3; n = n.parentElement) {
        parts.unshift(window.w2wName(n));
    }
    return parts.join(' > ');
};
