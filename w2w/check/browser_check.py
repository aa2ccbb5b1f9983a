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

from w2w.errors import W2WError
from w2w.publish.browser import OfflinePage, Problem

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
MIN_SLIDE_TEXT_PX = 16  # at the deck's own size, 1280x720
PHONE_WIDTH = 390  # CSS px: an iPhone 12-15 held upright


# The page scripts of the checks are the .js files beside this module (linted as JavaScript, read
# as package data): each is one function expression for Playwright's `page.evaluate`, except
# selector.js, page-global helpers that `page_helpers` adds once to a page.
JS_DIR = Path(__file__).parent / "js"


def script(name: str) -> str:
    return (JS_DIR / name).read_text(encoding="utf-8")


SELECTOR_JS = script("selector.js")  # a short CSS path to an element, without reveal.js' state classes
AXE_RUN = script("axe-run.js")
THEME_DIFFERS = script("theme-differs.js")
SWITCH_THEME = script("switch-theme.js")
SMALL_TEXT_JS = script("small-text.js")
NO_TRANSITIONS = script("no-transitions.js")
SLIDE_OF_URL = script("slide-of-url.js")
SLIDES_JS = script("slides.js")
ONLY_SLIDE = script("only-slide.js")
EXPLORED = script("explored.js")
OVERFLOW_JS = script("overflow.js")


def page_helpers(page) -> None:
    """selector.js's helpers on the page (axe-run.js and small-text.js name elements with them)."""
    if not page.evaluate("() => typeof window.w2wSelector === 'function'"):
        page.add_script_tag(content=SELECTOR_JS)


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


def axe_problems(
    page, where: str, context: object, axe: Path, own_selectors: bool = False, rules: list[str] | None = None
) -> list[Problem]:
    """axe's violations in `context` (a selector, or axe's {include, exclude}) of a loaded page:
    of AXE_TAGS' rules, or of only `rules`."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    page_helpers(page)
    found = page.evaluate(AXE_RUN, [context, run_only, own_selectors])
    return [Problem(where, f"{v['rule']}: {v['target']}: {v['fix']}") for v in found]


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


def small_text_problems(page, where: str, scope: str) -> list[Problem]:
    page_helpers(page)
    return [
        Problem(
            where,
            f"min-font-size: {s['selector']}: text {s['size']:.1f} px < {MIN_SLIDE_TEXT_PX} px at 1280x720 "
            f"(e.g. {s['text']!r}); make it at least {MIN_SLIDE_TEXT_PX} px",
        )
        for s in page.evaluate(SMALL_TEXT_JS, [scope, MIN_SLIDE_TEXT_PX])
    ]


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


ALL_SLIDES = "() => { for (const [mark, s] of window.w2wAway || []) mark.replaceWith(s); window.w2wAway = []; }"


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
