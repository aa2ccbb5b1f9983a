"""`w2w check`: the built deck and handout opened offline (browser.py), and what a viewer would trip
over, one `where: rule: selector: fix` line each.

Accessibility is judged by axe-core (npm, node_modules/axe-core), WCAG 2.1 A/AA plus axe's best
practices: on every slide, once per fragment state of a slide with fragments, and on every handout
page. w2w's own checks are the ones axe does not make: requests that leave the machine, console
errors, images that did not decode, empty slides, slides taller than the slide, text smaller than
16 px on a slide (the back row of a room), and handout pages that scroll sideways on a phone.
"""

from __future__ import annotations

from pathlib import Path

from .browser import OfflinePage, Problem
from .errors import W2WError

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
MIN_SLIDE_TEXT_PX = 16  # at the deck's own size, 1280x720
PHONE_WIDTH = 390  # CSS px: an iPhone 12-15 held upright


def axe_script(project_root: Path) -> Path:
    path = project_root / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file():
        raise W2WError(
            "axe-core is not installed (node_modules/ is missing or incomplete)",
            "run `npm ci` in the project root (package-lock.json pins the versions)",
            project_root / "package.json",
            1,
        )
    return path


# A short CSS path to an element (up to 3 levels below `scope`), without reveal.js' state classes,
# so that the same element has the same name in every fragment state of a slide.
SELECTOR_JS = """
    const w2wState = new Set(['present', 'past', 'future', 'visible', 'current-fragment']);
    const w2wName = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + Array.from(el.classList).filter((c) => !w2wState.has(c)).map((c) => '.' + c).join('');
    const w2wSelector = (el, scope) => {
        const parts = [];
        for (let n = el; n && n.nodeType === 1 && n !== scope && parts.length < 3; n = n.parentElement) {
            parts.unshift(w2wName(n));
        }
        return parts.join(' > ');
    };
"""

# axe.run on one context; each violating node becomes {rule, target, fix}. The failure summary
# ("Fix any of the following: ...") is the fix, on one line. On slides the selector is w2w's path
# (axe's own picks reveal.js' state classes, so it changes from one fragment state to the next).
# `preload: false`: axe would fetch the stylesheets by XHR, which file:// pages may not.
AXE_RUN = (
    """async ([context, runOnly, ownSelectors]) => {"""
    + SELECTOR_JS
    + """
    const result = await axe.run(context, {runOnly: runOnly, resultTypes: ['violations'],
                                           preload: false, elementRef: ownSelectors});
    const scope = (typeof context === 'string' && document.querySelector(context)) || document.body;
    const found = [];
    for (const v of result.violations) {
        for (const node of v.nodes) {
            const target = ownSelectors && node.element
                ? w2wSelector(node.element, scope) : node.target.map(String).join(' ');
            found.push({rule: v.id, target: target, fix: (node.failureSummary || v.help).replace(/\\s+/g, ' ').trim()});
        }
    }
    return found;
}"""
)


def axe_problems(
    page, where: str, context: object, axe: Path, own_selectors: bool = False, rules: list[str] | None = None
) -> list[Problem]:
    """axe's violations in `context` (a selector, or axe's {include, exclude}) of a loaded page:
    of AXE_TAGS' rules, or of only `rules`."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    found = page.evaluate(AXE_RUN, [context, run_only, own_selectors])
    return [Problem(where, f"{v['rule']}: {v['target']}: {v['fix']}") for v in found]


# The other built-in themes (w2w/themes.py): each is a `data-w2w-theme` attribute away on a built
# page, so their colour contrast is judged on the pages already open, in the same slide state, by
# axe's colour-contrast rule alone. The real talk (53 slides, 13 pages; 2 cores under load): the
# check took 20.4 s, 35.5 s with both built-in themes judged too, about 7.5 s a theme; building
# it in another theme and checking that whole would take 5-9 s + 20 s a theme. A theme whose
# colours are the page's own (the talk uses it unchanged) is not judged twice.
THEME_DIFFERS = """(name) => {
    const root = document.documentElement;
    const names = ['--w2w-bg', '--w2w-fg', '--w2w-muted', '--w2w-accent', '--w2w-card-bg'];
    const colours = () => names.map((v) => getComputedStyle(root).getPropertyValue(v)).join();
    const own = colours();
    root.dataset.w2wTheme = name;
    const other = colours();
    delete root.dataset.w2wTheme;
    return own !== other;
}"""


# Material eases colours over 125 ms, and axe read the colours half-way (#787887 from #1b1b2f to
# #ececf4): no transitions while another theme is judged.
SWITCH_THEME = """(name) => {
    if (!document.getElementById('w2w-no-transitions')) {
        const style = document.createElement('style');
        style.id = 'w2w-no-transitions';
        style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }';
        document.head.appendChild(style);
    }
    document.documentElement.dataset.w2wTheme = name;
}"""


def theme_problems(page, where: str, context: object, axe: Path, themes, own_selectors: bool = False) -> list[Problem]:
    """axe's colour-contrast rule in each of `themes` (built-in theme names) the page does not show."""
    problems = []
    for name in themes:
        if not page.evaluate(THEME_DIFFERS, name):
            continue
        page.evaluate(SWITCH_THEME, name)
        try:
            problems += axe_problems(page, f"{where} ({name} theme)", context, axe, own_selectors, ["color-contrast"])
        finally:
            page.evaluate("() => { delete document.documentElement.dataset.w2wTheme; }")
    return problems


# Text smaller than MIN_SLIDE_TEXT_PX in the slide's own 1280x720 space: rendered size divided by
# reveal.js' fit-to-window scale. SVG text is measured through its transform (a diagram is scaled
# into the slide), HTML text by its computed size. Hidden text (a fragment not yet shown, speaker
# notes) is not visible, so not judged.
SMALL_TEXT_JS = (
    """([scopeSelector, minimum]) => {"""
    + SELECTOR_JS
    + """
    const scope = document.querySelector(scopeSelector);
    if (!scope) return [];
    const slideScale = scope.offsetWidth ? scope.getBoundingClientRect().width / scope.offsetWidth : 1;
    const selector = (el) => w2wSelector(el, scope);
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
        const text = t.textContent.replace(/\\s+/g, ' ').trim().slice(0, 40);
        if (!seen || size < seen.size) found.set(key, {selector: key, size: size, text: text});
    }
    return Array.from(found.values());
}"""
)


def small_text_problems(page, where: str, scope: str) -> list[Problem]:
    return [
        Problem(
            where,
            f"min-font-size: {s['selector']}: text {s['size']:.1f} px < {MIN_SLIDE_TEXT_PX} px at 1280x720 "
            f"(e.g. {s['text']!r}); make it at least {MIN_SLIDE_TEXT_PX} px",
        )
        for s in page.evaluate(SMALL_TEXT_JS, [scope, MIN_SLIDE_TEXT_PX])
    ]


# Transitions off while checking, so what is measured is a slide as it will look, not a frame of
# an animation.
NO_TRANSITIONS = """() => {
    const style = document.createElement('style');
    style.textContent = '.reveal .slides section, .reveal .slides section * '
        + '{ transition: none !important; animation: none !important; }';
    document.head.appendChild(style);
    Reveal.configure({ transition: 'none', backgroundTransition: 'none', fragmentInURL: false });
}"""

SLIDE_OF_URL = """(url) => {
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
}"""

SLIDES_JS = """() => Reveal.getSlides().map((s, i) => {
    Reveal.slide(i);
    const text = s.innerText.replace(/\\s+/g, ' ').trim();
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
})"""


def _wait_ready(page, what: Path, timeout_ms: int = 30000) -> None:
    try:
        page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=timeout_ms)
    except Exception:  # Playwright's TimeoutError
        raise W2WError(
            f"{what} did not signal that it is ready within {timeout_ms // 1000} s",
            "rebuild with `w2w build-talk`; if it persists, open the deck in a browser and look at its console",
        ) from None


def check_deck(
    browser, deck: Path, accessibility: bool = True, axe: Path | None = None, themes: tuple[str, ...] = ()
) -> tuple[list[Problem], list[dict]]:
    """Walk every slide. Returns problems and a per-slide summary (title, heights, notes, fragments).
    `themes`: built-in themes whose colour contrast is judged too (theme_problems)."""
    view = OfflinePage(browser)
    page = view.page
    page.goto(deck.resolve().as_uri())
    _wait_ready(page, deck)

    def place(url: str) -> str | None:
        index = page.evaluate(SLIDE_OF_URL, view.absolute(url))
        return None if index is None else f"slides#/{index}"

    problems = [
        Problem(
            place(src) if src else "slides", f"image-decode: img[src={src!r}]: the image did not decode; check the file"
        )
        for src in view.undecoded_images()
        if not view.is_blocked(src)
    ]
    problems += view.problems("slides", place)
    slides = page.evaluate(SLIDES_JS)
    for slide in slides:
        where = f"slides#/{slide['index']}"
        if slide["text"] == 0 and slide["media"] == 0:
            problems.append(
                Problem(where, "empty-slide: section: the slide shows nothing; give it content or remove it")
            )
        if slide["scrollHeight"] > slide["clientHeight"] + 2:
            problems.append(
                Problem(
                    where,
                    f"slide-overflow: section: content is {slide['scrollHeight']} px tall on a "
                    f"{slide['clientHeight']} px slide ({slide['title'].strip()!r}); split the slide or cut it down",
                )
            )
    if accessibility:
        problems += _slide_states(page, slides, axe or axe_script(deck.resolve().parents[2]), themes)
    problems += view.problems("slides", place)
    view.close()
    return _once(problems), slides


# axe walks the whole document on every run (its flattened tree), whatever the context: with the
# other slides taken out of the document while one slide state is checked, a run took 0.5-1.0 s
# instead of 1.2-1.6 s (the real talk's deck, 2-core CPU shared with other jobs).
ONLY_SLIDE = """(i) => {
    window.w2wAway = [];
    Reveal.getSlides().forEach((s, j) => {
        if (j === i) return;
        const mark = document.createComment('w2w-check');
        s.replaceWith(mark);
        window.w2wAway.push([mark, s]);
    });
}"""
ALL_SLIDES = "() => { for (const [mark, s] of window.w2wAway || []) mark.replaceWith(s); window.w2wAway = []; }"


# The explorables' other state (issue 24): each control moved off its default once, so that axe and
# the 16 px rule also judge what a reader sees after a click: the token explorer opened (in the
# deck it is hidden behind "Choose a token"), step 2 selected and another candidate chosen (its
# branch written out), and each precomputed-grid select on its next value. Returns how many
# controls it moved: 0 on a slide or page without explorables, which then gets no second pass.
EXPLORED = """(scope) => {
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
}"""


def _slide_states(page, slides: list[dict], axe: Path, themes: tuple[str, ...] = ()) -> list[Problem]:
    """axe and the 16 px rule on each slide, in each of its fragment states (none shown, then one
    more each step); the deck's own controls once, outside the slides."""
    page.evaluate(NO_TRANSITIONS)
    page.evaluate("() => Reveal.slide(0)")
    controls = {"exclude": [[".reveal .slides"]]}
    problems = axe_problems(page, "slides", controls, axe) + theme_problems(page, "slides", controls, axe, themes)
    for slide in slides:
        index = slide["index"]
        where = f"slides#/{index}"
        for fragment in [-1, *slide["fragments"]] if slide["fragments"] else [None]:
            page.evaluate("([i, f]) => f === null ? Reveal.slide(i) : Reveal.slide(i, 0, f)", [index, fragment])
            page.evaluate(ONLY_SLIDE, index)
            try:
                problems += axe_problems(page, where, ".reveal .slides", axe, own_selectors=True)
                problems += small_text_problems(page, where, ".reveal .slides > section")
                problems += theme_problems(page, where, ".reveal .slides", axe, themes, own_selectors=True)
            finally:
                page.evaluate(ALL_SLIDES)
        page.evaluate("(i) => Reveal.slide(i)", index)
        if page.evaluate(EXPLORED, ".reveal .slides > section.present"):
            page.evaluate(ONLY_SLIDE, index)
            try:
                explored = f"{where} (explored)"
                problems += axe_problems(page, explored, ".reveal .slides", axe, own_selectors=True)
                problems += small_text_problems(page, explored, ".reveal .slides > section")
            finally:
                page.evaluate(ALL_SLIDES)
    return problems


def _once(problems: list[Problem]) -> list[Problem]:
    """A problem seen in several fragment states of a slide is one problem."""
    return list(dict.fromkeys(problems))


def handout_pages(site: Path) -> list[Path]:
    """Every handout page of a built site (not the deck)."""
    return sorted(p for p in site.rglob("*.html") if "slides" not in p.relative_to(site).parts)


OVERFLOW_JS = """() => {
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
}"""


def check_pages(
    browser,
    site: Path,
    pages: list[Path] | None = None,
    accessibility: bool = True,
    axe: Path | None = None,
    themes: tuple[str, ...] = (),
) -> list[Problem]:
    """Load handout pages (default: every page, 404.html included) and report problems."""
    pages = pages or handout_pages(site)
    axe = (axe or axe_script(site.resolve().parent)) if accessibility else None
    problems: list[Problem] = []
    view = OfflinePage(browser, 1280, 900)
    for path in pages:
        where = str(path.relative_to(site))
        view.page.set_viewport_size({"width": 1280, "height": 900})
        view.page.goto(path.resolve().as_uri())
        view.page.wait_for_load_state("load")
        for src in view.undecoded_images():
            if not view.is_blocked(src):
                problems.append(
                    Problem(where, f"image-decode: img[src={src!r}]: the image did not decode; check the file")
                )
        if accessibility:
            problems += axe_problems(view.page, where, "html", axe)
            problems += theme_problems(view.page, where, "html", axe, themes)
            if view.page.evaluate(EXPLORED, None):
                # A click scrolls the page, and Material's header then fades to the page's topic over
                # 125 ms: axe read it half-way (1.92:1). Judge the state it settles in, from the top.
                view.page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
                view.page.evaluate("() => window.scrollTo(0, 0)")
                view.page.wait_for_function("() => window.scrollY === 0")
                problems += axe_problems(view.page, f"{where} (explored)", "html", axe)
        view.page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
        wide = view.page.evaluate(OVERFLOW_JS)
        if wide:
            problems.append(
                Problem(
                    where,
                    f"page-overflow: {wide['selector']}: the page scrolls sideways by {wide['by']} px at "
                    f"{PHONE_WIDTH} px wide; let it wrap or scroll inside its own box",
                )
            )
        problems += view.problems(where)
    view.close()
    return problems
