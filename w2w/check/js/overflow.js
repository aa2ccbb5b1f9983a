() => {
    const doc = document.documentElement;
    if (doc.scrollWidth <= doc.clientWidth) return null;
    let widest = null;
    for (const el of document.querySelectorAll('.md-content *')) {
        const r = el.getBoundingClientRect();
        if (r.right > doc.clientWidth + 1 && (!widest || r.right > widest.right)) widest = {el: el, right: r.right};
    }
    const el = widest && widest.el;
    const name = el ? el.tagName.toLowerCase() + Array.from(el.classList).map((c) => '.' + c).join('') : 'html';
    return {selector: name, by: doc.scrollWidth - doc.clientWidth};
}
