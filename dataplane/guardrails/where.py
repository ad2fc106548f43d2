"""Does a WHERE clause restrict rows? The test behind the where_required rule."""

from __future__ import annotations

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType

_TRUE_TEXTS = frozenset({"t", "true", "y", "yes", "on", "1"})


def restricts_rows(where: object) -> bool:
    """False for a missing WHERE and for ones that are true of every row.

    Caught: none, `true` and its spellings, `NOT false`, equal constants (`1=1`, `'a'='a'`),
    a column compared to itself (`id = id`), and OR with any of those. This catches mistakes
    and lazy evasions, not every tautology (`id > 0` passes): it is a seat belt, not a proof.

    A parameter (`$1`) may hold anything: alone, negated or compared with another parameter
    or a constant it counts as possibly true of every row. So a normalised text (constants
    replaced by parameters, as the agent caches statements) is judged at least as strictly
    as the text it came from, and `WHERE $1` does not pass for a restriction.
    """
    return where is not None and not _always_true(where)


def _always_true(node: object) -> bool:
    if isinstance(node, ast.ParamRef):
        return True
    if isinstance(node, ast.A_Const):
        return _constant_true(node.val)
    if isinstance(node, ast.TypeCast):
        return _always_true(node.arg)
    if isinstance(node, ast.BoolExpr):
        args = node.args or ()
        if node.boolop == BoolExprType.AND_EXPR:
            return all(_always_true(a) for a in args)
        if node.boolop == BoolExprType.OR_EXPR:
            return any(_always_true(a) for a in args)
        return len(args) == 1 and _always_false(args[0])
    if isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP and node.name:
        last = node.name[-1]  # an operator may be schema-qualified: OPERATOR(pg_catalog.=)
        operator = last.sval if isinstance(last, ast.String) else None
        return operator in {"=", ">=", "<="} and _same_operands(node.lexpr, node.rexpr)
    return False


def _always_false(node: object) -> bool:
    if isinstance(node, ast.ParamRef):
        return True
    if isinstance(node, ast.A_Const):
        value = node.val
        return isinstance(value, ast.Boolean) and not value.boolval
    return False


def _constant_true(value: object) -> bool:
    if isinstance(value, ast.Boolean):
        return bool(value.boolval)
    if isinstance(value, ast.String):
        return (value.sval or "").strip().lower() in _TRUE_TEXTS
    if isinstance(value, ast.Integer):
        return value.ival != 0
    return False


def _same_operands(left: object, right: object) -> bool:
    either_is_parameter = isinstance(left, ast.ParamRef) or isinstance(right, ast.ParamRef)
    if either_is_parameter and _constant_or_parameter(left) and _constant_or_parameter(right):
        return True  # could be equal
    if isinstance(left, ast.A_Const) and isinstance(right, ast.A_Const):
        return left.isnull is False and left.val == right.val
    if isinstance(left, ast.ColumnRef) and isinstance(right, ast.ColumnRef):
        return left.fields == right.fields
    return False


def _constant_or_parameter(node: object) -> bool:
    return isinstance(node, ast.A_Const | ast.ParamRef)
