// Transitions off while checking, so what is measured is a slide as it will look, not a frame of
// an animation.
() => {
    const style = document.createElement('style');
    style.textContent = '.reveal .slides section, .reveal .slides section * '
        + '{ transition: none !important; animation: none !important; }';
    document.head.appendChild(style);
    Reveal.configure({ transition: 'none', backgroundTransition: 'none', fragmentInURL: false });
}
