"""Reading exercise files: YAML with line numbers, pydantic validation, and compilation of every
expression and text template once per template, with errors that name file, line and field."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import TypeAdapter, ValidationError

from engine.authoring.figures import CompiledFigure, CompiledTable, compile_figure
from engine.authoring.params import (
    POOL_PICK,
    BadValue,
    Constraint,
    Derived,
    Drawn,
    ParamSpace,
    read_values,
    refusals,
)
from engine.authoring.pools import PoolPick, Subsets
from engine.authoring.sources import FAST_LOADER, decode, parse_yaml, read_file
from engine.authoring.spec import (
    ChoiceExercise,
    DerivedParam,
    DistractorPool,
    Exercise,
    FormulaExercise,
    IntegerExercise,
    ListParam,
    MultipartExercise,
    NumericExercise,
    TrueFalseExercise,
)
from engine.authoring.text import Text, TextError, compile_text
from engine.errors import Problem, TemplateError, dotted, validation_problems
from engine.language.exact import CompiledExpr, compile_expr
from engine.language.gradable import ungradable
from engine.language.symbolic import sympy_symbol
from engine.language.symforms import SymbolSum
from engine.language.values import ExprError
from engine.vocabulary import CHOICE_KINDS, KINDS

_EXERCISE = TypeAdapter(Exercise)
# Names the explanation may use besides the parameters.
EXPLANATION_NAMES = frozenset({"answer", "answer_text"})
_DOTTED = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)")
# The name a choice exercise's explanation and feedback print named options by: [[ options.NAME ]].
OPTIONS = "options"
OPTION_PARTS = frozenset({"number", "text"})


def make_symbol(name: str, assumption: str) -> Any:
    """A declared symbol: SymPy-free while its arithmetic stays in the shapes of `symforms`."""
    return SymbolSum.symbol(name, assumption) or sympy_symbol(name, assumption)


class SourceMap:
    """Line numbers of the nodes of one YAML (or JSON) document, looked up by field path.

    The node tree is composed on the first lookup: only an error message needs a line.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False

    @property
    def root(self) -> yaml.Node | None:
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self.text, Loader=FAST_LOADER)
            except yaml.YAMLError:  # e.g. a JSON file that is not also YAML: no lines then
                self._root = None
        return self._root

    def line(self, loc: Sequence[Any]) -> int | None:
        return self._walk(loc)[1]

    def is_list(self, loc: Sequence[Any]) -> bool:
        """Whether the node at `loc` is a list (a parameter given as a bare list of values)."""
        node, _ = self._walk(loc)
        return isinstance(node, yaml.SequenceNode)

    def _walk(self, loc: Sequence[Any]) -> tuple[yaml.Node | None, int | None]:
        node = self.root
        best = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        node, best = value, key.start_mark.line + 1
                        break
                # A tag pydantic adds to the path (such as the kind) matches no key: skip it.
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    node = node.value[part]
                    best = node.start_mark.line + 1
            else:
                break
        return node, best


@dataclass
class CompiledOption:
    text: Text | None
    expr: CompiledExpr | None
    correct: bool
    feedback: Text | None
    pinned: bool
    name: str | None = None


@dataclass
class CompiledExercise:
    """One template, validated and compiled: everything a variant needs but the draw."""

    spec: Any  # one of the Exercise models
    path: Path
    source: str  # path shown in messages and exports
    lines: SourceMap
    space: ParamSpace
    symbols: dict[str, Any]  # name -> sympy.Symbol
    question: Text
    explanation: Text
    options: list[CompiledOption] = field(default_factory=list)
    pool: list[CompiledOption] = field(default_factory=list)  # distractors drawn per variant
    answer: CompiledExpr | None = None
    distractors: list[tuple[CompiledExpr, Text]] = field(default_factory=list)
    wrong_feedback: Text | None = None
    hints: list[Text] = field(default_factory=list)
    figures: list[CompiledFigure] = field(default_factory=list)
    # A multi-part exercise: its parts, each compiled as an exercise of its kind over the shared
    # fields; a part's fields sit in the file under `prefix` (parts, i).
    parts: list[CompiledExercise] = field(default_factory=list)
    prefix: tuple[str | int, ...] = ()

    @property
    def id(self) -> str:
        return cast(str, self.spec.id)

    @property
    def kind(self) -> str:
        return cast(str, self.spec.kind)

    @property
    def pool_at(self) -> int:
        """Where a pool's drawn distractors go among the listed options: before the pinned ones
        that end the list ("none of the above" stays last)."""
        at = len(self.options)
        while at and self.options[at - 1].pinned:
            at -= 1
        return at

    @property
    def shown_pinned(self) -> tuple[bool, ...]:
        """Whether each option shown is pinned, the pool's drawn distractors (never pinned) included."""
        pinned = tuple(option.pinned for option in self.options)
        if not self.pool:
            return pinned
        drawn: int = self.spec.pool.draw
        return pinned[:self.pool_at] + (False,) * drawn + pinned[self.pool_at:]

    def error(self, loc: Sequence[Any], message: str) -> TemplateError:
        """A TemplateError pointing at the field `loc` of this file (of this part, in a multi-part one)."""
        where = (*self.prefix, *loc)
        return TemplateError(message, path=self.source, line=self.lines.line(where), field=dotted(where))


def read_yaml(path: Path, source: str, data: bytes | None = None,
              notices: list[str] | None = None) -> tuple[Any, SourceMap]:
    """Parse one YAML file (or its bytes, already read), within the limits of `authoring.sources`;
    an unreadable file or bad YAML becomes a TemplateError with the line. A key given twice is
    told in `notices`."""
    text = decode(read_file(path, source) if data is None else data, source)
    return parse_yaml(text, source, notices), SourceMap(text)


def load_exercise(path: Path, source: str | None = None, raw: bytes | None = None,
                  notices: list[str] | None = None) -> CompiledExercise:
    """Load, validate and compile one exercise file (from `raw`, its bytes, when already read)."""
    source = source or str(path)
    data, lines = read_yaml(path, source, raw, notices)
    if not isinstance(data, dict):
        raise TemplateError("an exercise file holds one mapping of fields (id, title, kind, ...)", path=source, line=1)
    try:
        spec = _EXERCISE.validate_python(data)
    except ValidationError as exc:
        problems = validation_problems(exc, data, path=source, line_of=lines.line, root="exercise", model=Exercise)
        raise TemplateError.of(_with_closest_kind(problems, data, source, lines)) from None
    expected_name = path.stem
    if spec.id != expected_name:
        raise TemplateError(
            f"id {spec.id!r} differs from the file name (expected {expected_name!r})",
            path=source, line=lines.line(["id"]), field="id",
        )
    return _compile(spec, path, source, lines)


def _with_closest_kind(problems: list[Problem], data: dict[str, Any], source: str, lines: SourceMap) -> list[Problem]:
    """An unknown kind hides the file's other problems (no model is picked): a kind close to a
    known one is named, and the file is also read as that kind, so every other problem shows."""
    kind = data.get("kind")
    close = difflib.get_close_matches(kind, KINDS, n=1, cutoff=0.6) if isinstance(kind, str) else []
    if kind in KINDS or not close or len(problems) != 1 or problems[0].field != "kind":
        return problems
    message = problems[0].message
    hint = f"did you mean {close[0]!r}?"
    first = problems[0]._replace(message=f"{message[:-1]}; {hint})" if message.endswith(")") else f"{message} ({hint})")
    try:
        _EXERCISE.validate_python({**data, "kind": close[0]})
    except ValidationError as exc:
        return [first, *validation_problems(exc, data, path=source, line_of=lines.line, root="exercise",
                                            model=Exercise)]
    return [first]


class _Compiling:
    """One exercise file being compiled: every error names the file, the line and the field."""

    def __init__(self, spec: Any, source: str, lines: SourceMap, prefix: tuple[str | int, ...] = ()) -> None:
        self.spec = spec
        self.source = source
        self.lines = lines
        self.prefix = prefix
        self.symbols = {name: make_symbol(name, assumption) for name, assumption in spec.symbols.items()}
        self.known: set[str] = set(self.symbols)
        self.params = set(spec.params)
        self.read: set[str] = set()  # the names the texts print
        self.records: dict[str, tuple[str, ...]] = {}  # record parameter -> its fields
        self.texts: dict[str, str] = {}  # a name expressions may not use -> why

    def fail(self, loc: Sequence[Any], message: str) -> TemplateError:
        # A part's own fields are under its prefix; the fields it shares are the exercise's.
        where = loc if loc and loc[0] in _SHARED else (*self.prefix, *loc)
        return TemplateError(message, path=self.source, line=self.lines.line(where), field=dotted(where))

    def space(self) -> tuple[ParamSpace, list[Derived]]:
        """The parameter space (drawn, derived, constraints) and its derived parameters."""
        drawn: list[Drawn] = []
        derived: list[Derived] = []
        for name, param in self.spec.params.items():
            if name in self.symbols:
                raise self.fail(["params", name], f"{name!r} is both a parameter and a symbol")
            try:
                if isinstance(param, DerivedParam):
                    derived.append(Derived(name, self.expr(["params", name], param.expr)))
                elif isinstance(param, ListParam):
                    drawn.append(Drawn(name, read_values(param.values, name)))
                    self._kinds(drawn[-1])
                else:
                    drawn.append(Drawn(name, tuple(param.values())))
            except BadValue as exc:
                at = exc.at[1:] if self.lines.is_list(["params", name]) else exc.at  # [a, b]: no `values:`
                raise self.fail(["params", name, *at], str(exc)) from None
            except ExprError as exc:
                raise self.fail(["params", name], str(exc)) from None
            self.known.add(name)
        constraints = [Constraint(i, self.expr(["constraints", i], relation))
                       for i, relation in enumerate(self.spec.constraints)]
        pool = getattr(self.spec, "pool", None)
        if pool is not None:
            drawn.append(PoolPick(POOL_PICK, Subsets(len(pool.options), pool.draw)))
        return ParamSpace(drawn, derived, constraints), derived

    def _kinds(self, param: Drawn) -> None:
        """Note a text or record parameter: expressions read only a record's numeric fields."""
        self.texts |= refusals(param.name, param.values)
        if param.kind == "record":
            self.records[param.name] = param.fields
            self.known |= {f"{param.name}.{f}" for f in param.fields}

    def _fields(self, loc: Sequence[Any], fields: frozenset[str]) -> None:
        """A text's record fields exist (other attributes, such as p.numerator, are Jinja's)."""
        for name in sorted(fields):
            base, _, field_name = name.partition(".")
            if base in self.records and field_name not in self.records[base]:
                raise self.fail(loc, f"{base} has no field {field_name!r} (fields: {', '.join(self.records[base])})")

    def text(self, loc: Sequence[Any], body: str, extra: frozenset[str] = frozenset()) -> Text:
        try:
            template, names = compile_text(body)
        except TextError as exc:
            raise self.fail(loc, str(exc)) from None
        self._fields(loc, template.fields)
        records = sorted(template.compared & self.records.keys())
        if records:
            first = self.records[records[0]][0]
            raise self.fail(loc, f"{records[0]} is a record: compare one of its fields, as in "
                                 f"[% if {records[0]}.{first} == ... %] (the record itself equals no text or number)")
        printed = sorted(template.filtered & self.texts.keys())
        if printed:
            raise self.fail(loc, f"{printed[0]} is a text: print it as [[ {printed[0]} ]] (the filters latex, num "
                                 "and circled print numbers)")
        self.read |= names
        unknown = names - self.params - extra
        misplaced = sorted(unknown & self.spec.figures.keys())
        if misplaced:
            raise self.fail(loc, f"undefined template variable {misplaced[0]!r}: a figure is shown only by the "
                                 "question or the explanation")
        if unknown:
            allowed = ", ".join(sorted(self.params | extra)) or "none"
            raise self.fail(loc, f"undefined template variable {sorted(unknown)[0]!r} (defined: {allowed})")
        return template

    def expr(self, loc: Sequence[Any], body: str | int, extra: frozenset[str] = frozenset()) -> CompiledExpr:
        try:
            compiled = compile_expr(body, frozenset(self.known | extra))
        except ExprError as exc:
            for base, field_name in _DOTTED.findall(str(body)):
                if base in self.records and field_name not in self.records[base]:
                    raise self.fail(loc, f"{base} has no field {field_name!r} (fields: "
                                         f"{', '.join(self.records[base])})") from None
            raise self.fail(loc, str(exc)) from None
        texts = sorted(compiled.names & self.texts.keys() - extra)
        if texts:
            raise self.fail(loc, self.texts[texts[0]])
        return compiled

    def figures(self) -> list[CompiledFigure]:
        """The figures, each named apart from the parameters and symbols; its variable too."""
        taken = self.known | EXPLANATION_NAMES
        compiled = []
        for name, figure in self.spec.figures.items():
            if name in taken:
                raise self.fail(["figures", name], f"{name!r} is already a parameter, symbol or answer name")
            if not _printable(name):
                raise self.fail(["figures", name], f"{name!r} is a word of the text templates, which read "
                                f"[[ {name} ]] as their own: name the figure apart")
            if figure.x.name in self.known:
                raise self.fail(["figures", name, "x", "name"],
                                f"the variable {figure.x.name!r} is also a parameter or symbol: name it apart "
                                "(x: {name: t, ...})")
            compiled.append(compile_figure(name, figure, self.text, self.expr))
        return compiled

    def shown(self, figures: list[CompiledFigure], texts: Sequence[str]) -> None:
        """Every figure is printed by the question or the explanation; a table on a line of its own,
        where Markdown reads it as a table."""
        for figure in figures:
            if figure.name not in self.read:
                raise self.fail(["figures", figure.name],
                                f"the figure is never shown: print it where it belongs, as [[ {figure.name} ]] "
                                "in the question or the explanation")
            alone = re.compile(rf"^[ \t]*\[\[\s*{figure.name}\s*\]\][ \t]*$", re.MULTILINE)
            if isinstance(figure, CompiledTable) and not any(
                    alone.search(text) for text in texts):
                raise self.fail(["figures", figure.name],
                                f"a table is shown on a line of its own: put [[ {figure.name} ]] alone on its line")


def _printable(name: str) -> bool:
    """Whether `[[ name ]]` prints what the context calls `name` (not a Jinja constant, global or operator)."""
    try:
        return name in compile_text(f"[[ {name} ]]")[1]
    except TextError:
        return False


def _compile(spec: Any, path: Path, source: str, lines: SourceMap,
             prefix: tuple[str | int, ...] = ()) -> CompiledExercise:
    if isinstance(spec, MultipartExercise):
        return _compile_multipart(spec, path, source, lines)
    c = _Compiling(spec, source, lines, prefix)
    space, derived = c.space()
    figures = c.figures()
    c.read.clear()
    shown = frozenset(spec.figures)
    named = _option_word(c)
    compiled = CompiledExercise(
        spec=spec,
        path=path,
        source=source,
        lines=lines,
        space=space,
        symbols=c.symbols,
        question=c.text(["question"], spec.question, shown),
        explanation=c.text(["explanation"], spec.explanation, EXPLANATION_NAMES | shown | named),
        hints=[c.text(["hints", i], hint) for i, hint in enumerate(spec.hints)],
        figures=figures,
        prefix=prefix,
    )
    if not prefix:  # a part may leave its figures to the scenario or another part
        c.shown(figures, (spec.question, spec.explanation))
    _compile_answer(c, compiled)
    if not isinstance(spec, FormulaExercise | ChoiceExercise) and c.symbols:
        raise c.fail(["symbols"], "only formula and choice exercises use free symbols")
    if isinstance(spec, FormulaExercise):
        _refuse_ungradable(compiled, derived, c.fail)
    return compiled


# The fields of a multi-part exercise that its parts share; symbols only where a part can use them.
_SHARED = ("id", "title", "topic", "tags", "params", "constraints", "figures", "symbols")
_SYMBOLIC = frozenset({"formula", *CHOICE_KINDS})


def _compile_multipart(spec: MultipartExercise, path: Path, source: str, lines: SourceMap) -> CompiledExercise:
    """The scenario and the shared explanation, and each part compiled as an exercise of its kind."""
    c = _Compiling(spec, source, lines)
    space, _ = c.space()
    figures = c.figures()
    c.read.clear()
    shown = frozenset(spec.figures)
    compiled = CompiledExercise(
        spec=spec, path=path, source=source, lines=lines, space=space, symbols=c.symbols,
        question=c.text(["question"], spec.question, shown),
        explanation=c.text(["explanation"], spec.explanation or "", shown), figures=figures,
    )
    if c.symbols and not any(part.kind in _SYMBOLIC for part in spec.parts):
        raise c.fail(["symbols"], "only formula and choice parts use free symbols")
    for i, part in enumerate(spec.parts):
        # A pool's pick is a drawn parameter of its exercise; the parts share one draw of the scenario's.
        if getattr(part, "pool", None) is not None:
            raise c.fail(["parts", i, "pool"], "a part cannot draw distractors from a pool: list them as options")
    compiled.parts = [_compile(_part_spec(spec, i, source, lines), path, source, lines, ("parts", i))
                      for i in range(len(spec.parts))]
    texts = [spec.question, spec.explanation or ""] + [t for p in spec.parts for t in (p.question, p.explanation)]
    c.read = {name for text in texts for name in compile_text(text)[1]}
    c.shown(figures, texts)
    return compiled


def _part_spec(spec: MultipartExercise, i: int, source: str, lines: SourceMap) -> Any:
    """Part i as an exercise of its kind: its own fields over the shared ones, validated as one."""
    part = spec.parts[i]
    shared = {name: getattr(spec, name) for name in _SHARED if name != "symbols" or part.kind in _SYMBOLIC}
    data = {**shared, **dict(part)}
    try:
        return _EXERCISE.validate_python(data)
    except ValidationError as exc:
        problems = validation_problems(exc, data, path=source, root="exercise")
        raise TemplateError.of([
            p._replace(field=f"parts[{i}]" + (f".{p.field}" if p.field and p.field != "exercise" else ""),
                       line=lines.line(["parts", i])) for p in problems]) from None


def _compile_answer(c: _Compiling, compiled: CompiledExercise) -> None:
    """The options, answer, distractors and feedback of the exercise's kind."""
    spec = c.spec
    if isinstance(spec, ChoiceExercise):
        names = _option_names(c)
        named = _option_word(c)
        for i, option in enumerate(spec.options):
            feedback = c.text(["options", i, "feedback"], option.feedback, named) if option.feedback else None
            if option.feedback and named:
                _check_option_refs(c, ["options", i, "feedback"], option.feedback, names)
            compiled.options.append(
                CompiledOption(
                    text=c.text(["options", i, "text"], option.text) if option.text is not None else None,
                    expr=c.expr(["options", i, "expr"], option.expr) if option.expr is not None else None,
                    correct=option.correct,
                    feedback=feedback,
                    pinned=option.pinned,
                    name=option.name,
                )
            )
        if spec.pool is not None:
            _compile_pool(c, compiled, spec.pool, names)
        if named:
            _check_option_refs(c, ["explanation"], spec.explanation, names)
    elif isinstance(spec, TrueFalseExercise):
        if isinstance(spec.answer, str):
            compiled.answer = c.expr(["answer"], spec.answer)
        compiled.wrong_feedback = c.text(["wrong_feedback"], spec.wrong_feedback)
    elif isinstance(spec, IntegerExercise | NumericExercise | FormulaExercise):
        compiled.answer = c.expr(["answer"], spec.answer)
        compiled.distractors = [
            (c.expr(["distractors", i, "expr"], d.expr), c.text(["distractors", i, "feedback"], d.feedback))
            for i, d in enumerate(spec.distractors)
        ]


def _compile_pool(c: _Compiling, compiled: CompiledExercise, pool: DistractorPool, listed: list[str]) -> None:
    """A pool's options, distractors each named apart (and apart from the listed options, `listed`)."""
    names: dict[str, int] = {}
    named = _option_word(c)
    for i, option in enumerate(pool.options):
        loc = ["pool", "options", i]
        if option.name is not None and names.setdefault(option.name, i) != i:
            raise c.fail([*loc, "name"], f"{option.name!r} names pool option {names[option.name] + 1} already")
        if option.name in listed:
            raise c.fail([*loc, "name"], f"{option.name!r} names a listed option already (expected a name per option)")
        if named:
            _check_option_refs(c, [*loc, "feedback"], option.feedback, listed)
        compiled.pool.append(CompiledOption(
            text=c.text([*loc, "text"], option.text) if option.text is not None else None,
            expr=c.expr([*loc, "expr"], option.expr) if option.expr is not None else None,
            correct=False, feedback=c.text([*loc, "feedback"], option.feedback, named), pinned=False))


def _refuse_ungradable(compiled: CompiledExercise, derived: list[Derived],
                       fail: Callable[[Sequence[Any], str], TemplateError]) -> None:
    """A formula answer or distractor the grader could not read is refused now, not in grading."""
    symbolic = set(compiled.symbols)
    for param in derived:
        if param.expr.names & symbolic:
            symbolic.add(param.name)
    fields: list[tuple[list[Any], CompiledExpr | None]] = [(["answer"], compiled.answer)]
    fields += [(["distractors", i, "expr"], expr) for i, (expr, _) in enumerate(compiled.distractors)]
    for loc, expr in fields:
        problem = ungradable(expr.tree, symbolic) if expr is not None else None
        if problem is not None:
            raise fail(loc, problem)


def _option_word(c: _Compiling) -> frozenset[str]:
    """`{"options"}` for a choice exercise whose texts may name its options; empty when it has none
    or a parameter or symbol is called `options` (the parameter keeps its meaning)."""
    if not isinstance(c.spec, ChoiceExercise) or OPTIONS in c.known:
        return frozenset()
    return frozenset({OPTIONS})


def _option_names(c: _Compiling) -> list[str]:
    """The options' names, each given once."""
    first: dict[str, int] = {}
    for i, option in enumerate(c.spec.options):
        if option.name is None:
            continue
        if option.name in first:
            raise c.fail(["options", i, "name"], f"the name {option.name!r} is already option {first[option.name] + 1}'s "
                                                 "(expected a name per option)")
        first[option.name] = i
    return list(first)


def _check_option_refs(c: _Compiling, loc: Sequence[Any], body: str, names: list[str]) -> None:
    """Every `options.NAME` (`.number`, `.text`) a text prints names an option of the exercise."""
    if OPTIONS not in body:  # literal text may say "options" too: parsing tells
        return
    for name, part in _option_references(body):
        if name is None:
            raise c.fail(loc, f"print one option by its name: [[ {OPTIONS}.NAME ]], [[ {OPTIONS}.NAME.number ]] "
                              f"or [[ {OPTIONS}.NAME.text ]]")
        if name not in names:
            pool = getattr(c.spec, "pool", None)
            if pool is not None and name in {option.name for option in pool.options}:
                raise c.fail(loc, f"{OPTIONS}.{name}: a pool's option is on some sheets only: name a listed option")
            known = f"named: {', '.join(names)}" if names else "no option has a name: give it one, {name: NAME, text: ...}"
            raise c.fail(loc, f"{OPTIONS}.{name}: no option is named {name!r} ({known})")
        if part is not None and part not in OPTION_PARTS:
            raise c.fail(loc, f"{OPTIONS}.{name}.{part}: expected [[ {OPTIONS}.{name} ]], "
                              f"[[ {OPTIONS}.{name}.number ]] or [[ {OPTIONS}.{name}.text ]]")


def _option_references(body: str) -> list[tuple[str | None, str | None]]:
    """(name, part) of each `options.NAME.part` a text reads; None where it reads no name or no part."""
    from jinja2 import nodes

    from engine.authoring.text import text_environment

    def attribute(outer: nodes.Node | None, inner: nodes.Node) -> str | None:
        if isinstance(outer, nodes.Getattr) and outer.node is inner:
            return outer.attr
        if (isinstance(outer, nodes.Getitem) and outer.node is inner and isinstance(outer.arg, nodes.Const)
                and isinstance(outer.arg.value, str)):
            return outer.arg.value
        return None

    found: list[tuple[str | None, str | None]] = []

    def visit(node: nodes.Node, parent: nodes.Node | None, grand: nodes.Node | None) -> None:
        if isinstance(node, nodes.Name) and node.name == OPTIONS and node.ctx == "load":
            name = attribute(parent, node)
            found.append((name, attribute(grand, parent) if name is not None and parent is not None else None))
        for child in node.iter_child_nodes():
            visit(child, node, parent)

    visit(text_environment().parse(body), None, None)
    return found
