/* The project's JavaScript, linted by `make lint` (and so by CI): the deck's and the handout's page
   scripts (templates/*.js), the room's and the remote's pages (w2w/present/room/static/*.js,
   w2w/present/remote/static/*.js), the checks' page scripts (w2w/check/js/*.js) and this file.

   ESLint rather than Biome: two of the mistakes worth catching here are this project's own. The
   deck's scripts are classic <script>s (ES modules do not load from file:// in Chromium), which all
   share one global scope, so a top-level `const` in two of them is a SyntaxError in the second;
   ESLint's no-implicit-globals says so (I found no Biome rule for it). And the checks' files are not
   scripts but one function expression each, handed to Playwright's page.evaluate; a few lines of a
   local rule below hold them to that, where Biome would need a plugin language of its own (GritQL).
   CommonJS because package.json has no "type": "module" (nothing else here runs on Node). */
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

// Playwright's Python client sends the text as is and the driver evaluates it, calling the value
// when it is a function (playwright 1.65). So the file must be one function expression: with a
// second statement the check gets that statement's value instead ("(x) => x + 1\nwindow.y = 7"
// returns 7), and a function declaration after the file's comment evaluates to nothing (None);
// both silently, no error.
const evaluateScript = {
  meta: {
    type: "problem",
    messages: { one: "a page.evaluate script is one function expression and nothing else" },
    schema: [],
  },
  create(context) {
    return {
      Program(program) {
        const [first, ...rest] = program.body;
        const fn = first && first.type === "ExpressionStatement" ? first.expression : null;
        if (!fn || rest.length || !["ArrowFunctionExpression", "FunctionExpression"].includes(fn.type)) {
          context.report({ node: rest[0] || first || program, messageId: "one" });
        }
      },
    };
  },
};

// Beyond @eslint/js's recommended set: rules that catch mistakes, none about style.
const mistakes = {
  eqeqeq: "error", // == coerces: "0" == 0, null == undefined
  "array-callback-return": "error", // a map() callback that forgot to return
  "no-use-before-define": ["error", { functions: false }], // a const read before its line throws
  "no-shadow": "error", // a parameter named like the closure's variable it meant (live.js's token)
  "no-throw-literal": "error", // the pages show error.message
  "prefer-promise-reject-errors": "error",
  "no-self-compare": "error",
  "no-template-curly-in-string": "error",
  "no-unmodified-loop-condition": "error",
  "no-unreachable-loop": "error",
  "no-promise-executor-return": "error",
  "no-unused-expressions": "error", // a call left without its parentheses, `a && b` as a statement
};

// Classic scripts sharing one page's global scope: each wraps itself in a function and says
// "use strict" there (sloppy mode turns a misspelt assignment into a new global).
const classicScripts = {
  sourceType: "script",
  rules: {
    "no-implicit-globals": ["error", { lexicalBindings: true }],
    strict: ["error", "function"],
  },
};

module.exports = [
  {
    // Not the project's source: installed packages, the Python environment, build output and caches,
    // and talk/frozen/ (generated data such as the embedding vocabulary's vocab.js).
    ignores: ["node_modules/", ".venv/", "site/", ".site-*/", ".w2w/", "build/", "dist/", "talk/frozen/"],
  },
  js.configs.recommended,
  { rules: mistakes },
  {
    files: ["templates/**/*.js", "w2w/present/room/static/**/*.js", "w2w/present/remote/static/**/*.js"],
    languageOptions: { sourceType: classicScripts.sourceType, globals: globals.browser },
    rules: classicScripts.rules,
  },
  {
    // The checks run in the built deck (reveal.js) and with axe-core added to the page.
    files: ["w2w/check/js/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: { ...globals.browser, Reveal: "readonly", axe: "readonly" },
    },
    plugins: { w2w: { rules: { "evaluate-script": evaluateScript } } },
    rules: {
      "w2w/evaluate-script": "error",
      "no-unused-expressions": "off", // the file's one statement is the function itself
    },
  },
  {
    // selector.js is the exception: a script that page.add_script_tag adds, defining window.w2w*.
    files: ["w2w/check/js/selector.js"],
    rules: { "w2w/evaluate-script": "off", ...classicScripts.rules, strict: "off" },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
  },
];
