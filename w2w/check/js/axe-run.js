// axe.run on one context; each violating node becomes {rule, target, fix}. The failure summary
// ("Fix any of the following: ...") is the fix, on one line. On slides the selector is w2w's path
// (axe's own picks reveal.js' state classes, so it changes from one fragment state to the next).
// `preload: false`: axe would fetch the stylesheets by XHR, which file:// pages may not.
async ([context, runOnly, ownSelectors]) => {

    const result = await axe.run(context, {runOnly: runOnly, resultTypes: ['violations'],
                                           preload: false, elementRef: ownSelectors});
    const scope = (typeof context === 'string' && document.querySelector(context)) || document.body;
    const found = [];
    for (const v of result.violations) {
        for (const node of v.nodes) {
            const target = ownSelectors && node.element
                ? window.w2wSelector(node.element, scope) : node.target.map(String).join(' ');
            found.push({rule: v.id, target: target, fix: (node.failureSummary || v.help).replace(/\s+/g, ' ').trim()});
        }
    }
    return found;
}
