() => Reveal.getSlides().map((s, i) => {
    Reveal.slide(i);
    const text = s.innerText.replace(/\s+/g, ' ').trim();
    const media = s.querySelectorAll('img, svg, math, table, pre').length;
    const fragments = new Set(Array.from(s.querySelectorAll('.fragment'), (f) => +f.dataset.fragmentIndex));
    return {
        index: i,
        id: s.id,
        title: (s.querySelector('h1, h2') || {}).textContent || '',
        scrollHeight: s.scrollHeight,
        clientHeight: s.clientHeight,
        text: text.length,
        media: media,
        notes: !!s.querySelector('aside.notes'),
        fragments: Array.from(fragments).sort((a, b) => a - b),
    };
})
