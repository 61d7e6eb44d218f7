"""Which authors' formula answers a student's formula can be graded against.

A formula answer is graded by parsing the printed SymPy key with the students' allow-list. An
author-only construct (``Mod``, ``gcd``, a relation, ``%``, a condition) is fine on parameters,
which become numbers; applied to a free symbol it would survive into the key and the grader
could not read it.
"""

from __future__ import annotations

from collections.abc import Set

from engine.language.allow import RELATIONS, STUDENT, STUDENT_OPERATORS
from engine.language.grammar import BinOp, Call, Compare, Const, IfElse, Logic, Neg, Node, Num, Sym


def _allowed() -> str:
    return f"a student's formula may use {STUDENT_OPERATORS} and {STUDENT.allowed_functions()}"


def _symbolic(node: Node, symbolic: Set[str]) -> bool:
    """Whether the value of ``node`` depends on a free symbol."""
    if isinstance(node, Sym):
        return node.name in symbolic
    if isinstance(node, Num | Const):
        return False
    if isinstance(node, Neg):
        return _symbolic(node.operand, symbolic)
    if isinstance(node, BinOp):
        return _symbolic(node.left, symbolic) or _symbolic(node.right, symbolic)
    if isinstance(node, IfElse):
        return any(_symbolic(n, symbolic) for n in (node.test, node.body, node.orelse))
    operands = node.args if isinstance(node, Call) else node.operands
    return any(_symbolic(n, symbolic) for n in operands)


def _author_only(node: Node) -> tuple[str, tuple[Node, ...]] | None:
    """The author-only construct at ``node`` (its name and the operands that must be constant)."""
    if isinstance(node, BinOp) and node.op == "%":
        return "'%'", (node.left, node.right)
    if isinstance(node, Call) and not STUDENT.functions.get(node.name):
        return f"{node.name}()", node.args
    if isinstance(node, Compare):
        return f"the comparison {' '.join(node.ops)}", node.operands
    if isinstance(node, Logic):
        return f"'{node.op}'", node.operands
    if isinstance(node, IfElse):
        return "an 'if' condition", (node.test,)
    return None


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, IfElse):
        return (node.test, node.body, node.orelse)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Compare | Logic):
        return node.operands
    return ()


def ungradable(tree: Node, symbolic: Set[str]) -> str | None:
    """Why a formula answer (or distractor) could not be graded, or None when it can.

    ``symbolic`` holds the free symbols and the parameters derived from them.
    """
    if isinstance(tree, Compare | Logic) or (isinstance(tree, Call) and tree.name in RELATIONS) or (
            isinstance(tree, Const) and tree.name in ("True", "False")):
        return f"a formula answer is an expression, not a true/false value; {_allowed()}"
    stack: list[Node] = [tree]
    while stack:
        node = stack.pop()
        found = _author_only(node)
        if found is not None and any(_symbolic(n, symbolic) for n in found[1]):
            return (f"{found[0]} on a symbol cannot be graded ({_allowed()}); "
                    "use it on parameters only")
        stack.extend(_children(node))
    return None
