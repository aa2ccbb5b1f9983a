// The other built-in themes (w2w/talk/themes.py): each is a `data-w2w-theme` attribute away on a built
// page, so their colour contrast is judged on the pages already open, in the same slide state, by
// axe's colour-contrast rule alone. The real talk (53 slides, 13 pages; 2 cores under load): the
// check took 20.4 s, 35.5 s with both built-in themes judged too, about 7.5 s a theme; building
// it in another theme and checking that whole would take 5-9 s + 20 s a theme. A theme whose
// colours are the page's own (the talk uses it unchanged) is not judged twice.
(name) => {
    const root = document.documentElement;
    const names = ['--w2w-bg', '--w2w-fg', '--w2w-muted', '--w2w-accent', '--w2w-card-bg'];
    const colours = () => names.map((v) => getComputedStyle(root).getPropertyValue(v)).join();
    const own = colours();
    root.dataset.w2wTheme = name;
    const other = colours();
    delete root.dataset.w2wTheme;
    return own !== other;
}
