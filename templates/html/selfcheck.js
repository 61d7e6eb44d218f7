"use strict";
// The self-check page: reads each answer, checks it against the key written into the page, and
// says so in the question's live region. Formulas are read by a small tokenizer and Pratt parser
// of the notation the grader reads (no eval, no Function) and evaluated at the sample points the
// engine computed exactly when it wrote the page.
(function () {
  var REL = 1e-8; // relative tolerance of a formula's value at a sample point

  function Problem(message, position) {
    this.message = position ? message + " at position " + position : message;
  }
  function Blank() {}

  // -- numbers, as the grader reads them (engine/grading/checker/normalize.py) -----------------
  var DECIMAL = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?$/;
  var FRACTION = /^([+-]?)(\d+)\s*\/\s*(\d+)$/;

  function prepare(raw) {
    if (raw.length > 200) throw new Problem("answer too long (at most 200 characters)");
    var text = raw.normalize("NFKC").replace(/\u2212/g, "-").trim();
    if (!text) throw new Blank();
    return text;
  }

  function numberProblem(text) {
    var low = text.toLowerCase();
    if (/^[+-]?(nan|inf|infinity|\u221e)$/.test(low)) return new Problem("not a finite number");
    if (text.indexOf(",") >= 0) {
      if (/^[+-]?\d+,\d+$/.test(text) && !/^[+-]?\d{1,3}(,\d{3})+$/.test(text)) {
        return new Problem("use a point as decimal separator (0.5, not 0,5)");
      }
      return new Problem("commas are ambiguous: write numbers without thousands separators, with a point for decimals");
    }
    if (text.indexOf("%") >= 0) return new Problem("write the number without %");
    if (/^[+-]?[\d.]+(\s+[\d.]+)+$/.test(text) || /^[+-]\s+[\d.]+$/.test(text)) {
      return new Problem("remove the spaces inside the number");
    }
    return new Problem("not a number (write digits like 0.25 or -1.5e-3)");
  }

  function readDecimal(text) {
    var m = DECIMAL.exec(text);
    if (!m) throw numberProblem(text);
    if (m[2].replace(".", "").replace(/^0+/, "").length > 50) throw new Problem("too many digits (at most 50)");
    var value = Number(text);
    if (!isFinite(value)) throw new Problem("number out of range");
    return value;
  }

  function readInteger(raw) {
    var text = prepare(raw);
    var value = readDecimal(text);
    if (value !== Math.round(value)) throw new Problem("not an integer");
    return value;
  }

  function readNumber(raw) {
    var text = prepare(raw);
    var m = FRACTION.exec(text);
    if (m) {
      if (Number(m[3]) === 0) throw new Problem("division by zero");
      return Number(m[1] + m[2]) / Number(m[3]);
    }
    return readDecimal(text);
  }

  // -- formulas: tokens ------------------------------------------------------------------------
  var SUPERSCRIPTS = {"\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3", "\u2074": "4", "\u2075": "5",
    "\u2076": "6", "\u2077": "7", "\u2078": "8", "\u2079": "9", "\u207b": "-", "\u207a": "+"};
  var OPERATORS = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/"};
  var REFUSED = {"'": "quotes are not allowed", "\"": "quotes are not allowed", "`": "backticks are not allowed",
    ";": "';' is not allowed", "=": "'=' is not allowed: enter only the expression",
    "[": "square brackets are not allowed; use ( ) for grouping",
    "]": "square brackets are not allowed; use ( ) for grouping",
    "{": "curly brackets are not allowed; use ( ) for grouping",
    "}": "curly brackets are not allowed; use ( ) for grouping", "!": "'!' is not allowed; write factorial(n)"};

  // Superscripts become ^(..), √ a sqrt call, other characters their NFKC form (ASCII only).
  function normalise(text) {
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      if (SUPERSCRIPTS[ch] !== undefined) {
        var run = "";
        while (i < text.length && SUPERSCRIPTS[text[i]] !== undefined) run += SUPERSCRIPTS[text[i++]];
        i--;
        out += "^(" + run + ")";
      } else if (ch === "\u221a") {
        out += "sqrt";
        if (text[i + 1] !== "(") {
          var atom = /^[A-Za-z0-9_.]+/.exec(text.slice(i + 1));
          if (!atom) throw new Problem("write \u221a before a number, a name or a parenthesis", i + 1);
          out += "(" + atom[0] + ")";
          i += atom[0].length;
        }
      } else {
        var form = OPERATORS[ch] || ch.normalize("NFKC");
        for (var k = 0; k < form.length; k++) {
          var c = OPERATORS[form[k]] || form[k];
          if (c > "\x7f") throw new Problem("unexpected character '" + ch + "'", i + 1);
          out += c;
        }
      }
    }
    return out;
  }

  var NUMBER = /^(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
  var NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

  function tokenize(source) {
    var s = normalise(source), tokens = [], opened = [], i = 0, m;
    while (i < s.length) {
      var ch = s[i], rest = s.slice(i);
      if (" \t\r\n\f\v".indexOf(ch) >= 0) { i++; continue; }
      if ((m = NUMBER.exec(rest)) && /[\d.]/.test(ch)) {
        if (/\.$/.test(m[1])) throw new Problem("a decimal point must be followed by digits", i + m[1].length);
        if (s[i + m[0].length] === ".") throw new Problem("unexpected '.'", i + m[0].length + 1);
        tokens.push({kind: "num", text: m[0], pos: i + 1});
        i += m[0].length;
      } else if ((m = NAME.exec(rest))) {
        tokens.push({kind: "name", text: m[0], pos: i + 1});
        i += m[0].length;
        if (s[i] === ".") throw new Problem("attribute access with '.' is not allowed", i + 1);
      } else if (ch === "(" || ch === ")" || ch === ",") {
        if (ch === "(") opened.push(i + 1);
        if (ch === ")" && opened.pop() === undefined) throw new Problem("unmatched ')'", i + 1);
        tokens.push({kind: ch, text: ch, pos: i + 1});
        i++;
      } else if (rest.slice(0, 2) === "**") {
        tokens.push({kind: "op", text: "^", pos: i + 1});
        i += 2;
      } else if ("+-*/^".indexOf(ch) >= 0) {
        tokens.push({kind: "op", text: ch, pos: i + 1});
        i++;
      } else {
        throw new Problem(REFUSED[ch] || "unexpected character '" + ch + "'", i + 1);
      }
      if (tokens.length > 400) throw new Problem("formula too long (more than 400 numbers, names and operators)");
    }
    if (opened.length) throw new Problem("unclosed '('", opened[opened.length - 1]);
    tokens.push({kind: "end", text: "", pos: s.length + 1});
    return tokens;
  }

  // -- formulas: functions, and the Pratt parser -----------------------------------------------
  function factorial(n) {
    if (n !== Math.round(n) || n < 0 || n > 170) return NaN;
    var f = 1;
    for (var k = 2; k <= n; k++) f *= k;
    return f;
  }
  var FUNCTIONS = {
    sqrt: [1, 1, Math.sqrt], exp: [1, 1, Math.exp],
    log: [1, 2, function (x, b) { return b === undefined ? Math.log(x) : Math.log(x) / Math.log(b); }],
    sin: [1, 1, Math.sin], cos: [1, 1, Math.cos], tan: [1, 1, Math.tan],
    sec: [1, 1, function (x) { return 1 / Math.cos(x); }], csc: [1, 1, function (x) { return 1 / Math.sin(x); }],
    cot: [1, 1, function (x) { return 1 / Math.tan(x); }],
    asin: [1, 1, Math.asin], acos: [1, 1, Math.acos], atan: [1, 1, Math.atan],
    asec: [1, 1, function (x) { return Math.acos(1 / x); }], acsc: [1, 1, function (x) { return Math.asin(1 / x); }],
    acot: [1, 1, function (x) { return Math.atan(1 / x); }],
    sinh: [1, 1, Math.sinh], cosh: [1, 1, Math.cosh], tanh: [1, 1, Math.tanh],
    asinh: [1, 1, Math.asinh], acosh: [1, 1, Math.acosh], atanh: [1, 1, Math.atanh],
    Abs: [1, 1, Math.abs], sign: [1, 1, Math.sign], factorial: [1, 1, factorial],
    binomial: [2, 2, function (n, k) { return factorial(n) / (factorial(k) * factorial(n - k)); }],
    floor: [1, 1, Math.floor], ceiling: [1, 1, Math.ceil],
    Max: [1, Infinity, Math.max], Min: [1, Infinity, Math.min]
  };
  FUNCTIONS.ln = FUNCTIONS.log;
  FUNCTIONS.abs = FUNCTIONS.Abs;
  ["sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh"].forEach(function (name) {
    FUNCTIONS["arc" + name] = FUNCTIONS["a" + name];
  });
  var CONSTANTS = {pi: Math.PI, E: Math.E, e: Math.E};
  var INFIX = {"+": 10, "-": 10, "*": 20, "/": 20, "^": 40};
  var IMPLICIT = 20, UNARY = 30;

  function describe(tok) { return tok.kind === "end" ? "the end" : tok.text; }

  // The syntax tree as nested arrays: ["num", v] ["sym", name] ["neg", a] [op, a, b] ["call", f, args].
  function parse(source, names) {
    var tokens = tokenize(source), i = 0;
    function peek() { return tokens[i]; }
    function expr(rbp) {
      var left = nud(tokens[i++]);
      for (;;) {
        var tok = peek();
        if (tok.kind === "op") {
          var lbp = INFIX[tok.text];
          if (lbp <= rbp) break;
          i++;
          left = [tok.text, left, expr(tok.text === "^" ? lbp - 1 : lbp)];
        } else if (tok.kind === "num" || tok.kind === "name" || tok.kind === "(") {
          var prev = tokens[i - 1];
          var juxtaposed = ((prev.kind === "num" || prev.kind === ")") && (tok.kind === "name" || tok.kind === "(")) ||
            (prev.kind === "name" && tok.kind === "(");
          if (!juxtaposed) throw new Problem("missing operator between " + describe(prev) + " and " + describe(tok), tok.pos);
          if (IMPLICIT <= rbp) break;
          left = ["*", left, expr(IMPLICIT)];
        } else {
          break;
        }
      }
      return left;
    }
    function nud(tok) {
      if (tok.kind === "num") return ["num", Number(tok.text)];
      if (tok.kind === "name") return name(tok);
      if (tok.kind === "(") {
        if (peek().kind === ")") throw new Problem("empty parentheses", tok.pos);
        var inner = expr(0);
        close(tok);
        return inner;
      }
      if (tok.kind === "op" && (tok.text === "+" || tok.text === "-")) {
        var operand = expr(UNARY);
        return tok.text === "-" ? ["neg", operand] : operand;
      }
      if (tok.kind === "end") {
        if (i === 1) throw new Problem("the formula is empty");
        throw new Problem("the formula ends too early after '" + tokens[i - 2].text + "'", tok.pos);
      }
      if (tok.kind === ",") throw new Problem("unexpected ',' (commas only separate function arguments; use a point for decimals)", tok.pos);
      throw new Problem("unexpected '" + tok.text + "'", tok.pos);
    }
    function close(opening) {
      var tok = peek();
      if (tok.kind === ")") { i++; return; }
      if (tok.kind === ",") throw new Problem("unexpected ',' (commas only separate function arguments; use a point for decimals)", tok.pos);
      throw new Problem("expected ')' to close the '(' at position " + opening.pos, tok.pos);
    }
    function name(tok) {
      var fn = Object.prototype.hasOwnProperty.call(FUNCTIONS, tok.text) ? FUNCTIONS[tok.text] : null;
      var call = peek().kind === "(";
      if (fn) {
        if (!call) {
          if (peek().text === "^") throw new Problem("write " + tok.text + "(x)^2 instead of " + tok.text + "^2(x)", tok.pos);
          throw new Problem("function " + tok.text + " needs parentheses, e.g. " + tok.text + "(x)", tok.pos);
        }
        var opening = tokens[i++], args = [];
        if (peek().kind === ")") throw new Problem(tok.text + "() needs an argument", opening.pos);
        for (;;) {
          args.push(expr(0));
          if (peek().kind !== ",") break;
          i++;
        }
        close(opening);
        if (args.length < fn[0] || args.length > fn[1]) {
          var counts = [];
          for (var n = fn[0]; n <= fn[1] && n <= fn[0] + 4; n++) counts.push(n);
          var wanted = fn[1] === Infinity ? "at least " + fn[0] : counts.join(" or ");
          throw new Problem(tok.text + " takes " + wanted + " argument" + (fn[0] === 1 && fn[1] === 1 ? "" : "s") +
            " (got " + args.length + ")", tok.pos);
        }
        return ["call", fn[2], args];
      }
      var constant = Object.prototype.hasOwnProperty.call(CONSTANTS, tok.text);
      if (call && !constant && names.indexOf(tok.text) < 0) throw new Problem("unknown function " + tok.text, tok.pos);
      if (names.indexOf(tok.text) >= 0) return ["sym", tok.text];
      if (constant) return ["num", CONSTANTS[tok.text]];
      throw new Problem("unknown symbol " + tok.text, tok.pos);
    }
    if (peek().kind === "end") throw new Problem("the formula is empty");
    var tree = expr(0), tok = peek();
    if (tok.kind === ",") throw new Problem("unexpected ',' (commas only separate function arguments; use a point for decimals)", tok.pos);
    if (tok.kind !== "end") throw new Problem("unexpected '" + tok.text + "'", tok.pos);
    return tree;
  }

  function evaluate(node, env) {
    switch (node[0]) {
      case "num": return node[1];
      case "sym": return env[node[1]];
      case "neg": return -evaluate(node[1], env);
      case "+": return evaluate(node[1], env) + evaluate(node[2], env);
      case "-": return evaluate(node[1], env) - evaluate(node[2], env);
      case "*": return evaluate(node[1], env) * evaluate(node[2], env);
      case "/": return evaluate(node[1], env) / evaluate(node[2], env);
      case "^": return Math.pow(evaluate(node[1], env), evaluate(node[2], env));
      default: return node[1].apply(null, node[2].map(function (a) { return evaluate(a, env); }));
    }
  }

  function near(got, want) {
    return isFinite(got) && Math.abs(got - want) <= REL * Math.max(Math.abs(want), Math.abs(got), 1e-300);
  }

  // -- checking one question -------------------------------------------------------------------
  // A verdict: {status: "correct" | "incorrect" | "invalid" | "blank", message, feedback (index)}.
  function checkChoice(form, key) {
    var chosen = form.querySelector("input[type=radio]:checked");
    if (!chosen) return {status: "blank", message: "Choose an option first."};
    var number = Number(chosen.value);
    if (number === key.answer) return {status: "correct"};
    return {status: "incorrect", feedback: key.feedback[String(number)]};
  }

  // Several correct options: the grader's partial credit, right/c - wrong/w, at least 0.
  function checkOptions(form, key) {
    var chosen = Array.prototype.map.call(form.querySelectorAll("input[type=checkbox]:checked"),
      function (box) { return Number(box.value); });
    if (!chosen.length) return {status: "blank", message: "Choose at least one option first."};
    var right = 0, wrong = 0, feedback;
    chosen.forEach(function (number) {
      if (key.answer.indexOf(number) >= 0) { right++; return; }
      wrong++;
      if (feedback === undefined) feedback = key.feedback[String(number)];
    });
    var wrongOptions = key.options - key.answer.length;
    var credit = right / key.answer.length - (wrongOptions ? wrong / wrongOptions : 0);
    if (right === key.answer.length && !wrong) return {status: "correct"};
    if (credit <= 0) return {status: "incorrect", feedback: feedback};
    return {status: "partial", message: "credit " + Math.round(credit * 100) + " %: " + right + " of " +
      key.answer.length + " right options chosen" + (wrong ? ", and " + wrong + " wrong" : "") + ".",
      feedback: feedback};
  }

  function matchWrong(wrong, test) {
    for (var k = 0; k < wrong.length; k++) if (test(wrong[k])) return wrong[k].feedback;
    return undefined;
  }

  function checkInteger(text, key) {
    var value = readInteger(text);
    if (value === Number(key.answer)) return {status: "correct"};
    return {status: "incorrect", feedback: matchWrong(key.wrong, function (w) { return value === Number(w.value); })};
  }

  function checkNumeric(text, key) {
    var value = readNumber(text);
    var slack = 1e-12 * Math.abs(Number(key.answer));
    if (Math.abs(value - Number(key.answer)) <= Number(key.bound) + slack) return {status: "correct"};
    return {status: "incorrect", feedback: matchWrong(key.wrong, function (w) {
      var bound = key.relative ? Number(key.tolerance) * Math.abs(Number(w.value)) : Number(key.bound);
      return Math.abs(value - Number(w.value)) <= bound * (1 + 1e-12);
    })};
  }

  function checkFormula(text, key) {
    if (!text.trim()) throw new Blank();
    if (text.length > 1000) throw new Problem("formula too long (at most 1000 characters)");
    var tree = parse(text.trim(), key.symbols);
    if (!key.points.length) return {status: "invalid", message: "This formula cannot be checked on this page: compare it with the worked solution."};
    var values = key.points.map(function (point) {
      var env = {};
      key.symbols.forEach(function (name, k) { env[name] = Number(point[k]); });
      return evaluate(tree, env);
    });
    function agrees(wanted) {
      return wanted.every(function (want, k) { return want === null || near(values[k], Number(want)); }) &&
        wanted.some(function (want) { return want !== null; });
    }
    if (agrees(key.values)) return {status: "correct"};
    return {status: "incorrect", feedback: matchWrong(key.wrong, function (w) { return agrees(w.values); })};
  }

  var CHECKS = {integer: checkInteger, numeric: checkNumeric, formula: checkFormula};
  var SAYS = {correct: "\u2713 Correct.", incorrect: "\u2717 Not correct.", invalid: "\u26a0 ", blank: "\u26a0 ",
    partial: "\u25d0 Partly correct: "};

  function verdict(form, key) {
    if (key.kind === "choice") return checkChoice(form, key);
    if (key.kind === "options") return checkOptions(form, key);
    var input = form.querySelector("input[type=text]");
    try {
      return CHECKS[key.kind](input.value, key);
    } catch (err) {
      if (err instanceof Blank) return {status: "blank", message: "Type an answer first."};
      if (err instanceof Problem) return {status: "invalid", message: "Cannot read your answer: " + err.message + "."};
      throw err;
    }
  }

  function show(question, result) {
    var region = question.querySelector(".verdict");
    var line = document.createElement("p");
    line.className = "says " + result.status;
    line.textContent = SAYS[result.status] + (result.message || "");
    region.replaceChildren(line);
    if (result.feedback !== undefined) {
      var template = question.querySelector("template[data-feedback='" + result.feedback + "']");
      var note = document.createElement("div");
      note.className = "misconception";
      note.appendChild(template.content.cloneNode(true));
      region.appendChild(note);
    } else if (result.status === "incorrect" || result.status === "partial") {
      var hint = document.createElement("p");
      hint.textContent = "Try again, or open the worked solution.";
      region.appendChild(hint);
    }
    var input = question.querySelector("input[type=text]");
    if (input) input.setAttribute("aria-invalid", result.status === "invalid" ? "true" : "false");
  }

  // -- the page: one form per question, and the sheet selector ---------------------------------
  function setUp(root) {
    root.querySelectorAll("form.question").forEach(function (form) {
      var key = JSON.parse(form.dataset.check);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        show(form, verdict(form, key));
      });
    });
  }
  setUp(document);

  // The sheets after the first wait in <template>s, and become forms when first shown: the
  // browser scans every form of the document for autofill, in a time that grows with the square
  // of their number (60 sheets: 7 s frozen at load).
  var sheets = Array.prototype.slice.call(document.querySelectorAll("section.sheet, template.sheet"));
  var select = document.getElementById("sheet-select");
  function choose(id) {
    sheets = sheets.map(function (sheet) {
      if (sheet.tagName !== "TEMPLATE" || sheet.dataset.sheet !== id) return sheet;
      var content = document.importNode(sheet.content, true);
      var section = content.querySelector("section.sheet");
      sheet.replaceWith(content);
      setUp(section);
      return section;
    });
    sheets.forEach(function (sheet) { sheet.hidden = sheet.dataset.sheet !== id; });
    select.value = id;
  }
  if (sheets.length > 1) {
    sheets.forEach(function (sheet) {
      var option = document.createElement("option");
      option.value = option.textContent = sheet.dataset.sheet;
      select.appendChild(option);
    });
    document.getElementById("sheet-picker").hidden = false;
    select.addEventListener("change", function () {
      choose(select.value);
      history.replaceState(null, "", "#" + encodeURIComponent(select.value));
    });
    var wanted = "";
    try {
      wanted = decodeURIComponent(location.hash.slice(1));
    } catch (err) { // an address mangled on its way (`#%E0%A4`) shows the first sheet
      if (!(err instanceof URIError)) throw err;
    }
    choose(sheets.some(function (s) { return s.dataset.sheet === wanted; }) ? wanted : sheets[0].dataset.sheet);
  }
})();
