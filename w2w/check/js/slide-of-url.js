(url) => {
    const slides = Reveal.getSlides();
    for (let i = 0; i < slides.length; i++) {
        for (const el of slides[i].querySelectorAll('[src], [href], [srcset], [poster], [data]')) {
            for (const attr of ['src', 'href', 'poster', 'data']) {
                if (el[attr] && String(el[attr]) === url) return i;
            }
            if ((el.getAttribute('srcset') || '').includes(url)) return i;
        }
        if (slides[i].innerHTML.includes(url)) return i;
    }
    return null;
}
