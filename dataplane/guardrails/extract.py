"""Parse a SQL text with libpg_query (pglast) and walk each statement's tree into facts.

One walk visits every node, so a function call or a write hidden in a CTE, a subquery, a
function argument, a DEFAULT or an EXPLAIN ANALYZE is found where PostgreSQL would run it.
CTE names are scoped as PostgreSQL scopes them: a name is a CTE only where its WITH is visible
(a non-recursive CTE does not see itself), otherwise it is a relation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ObjectType, VariableSetKind
from pglast.parser import ParseError, scan

from dataplane.guardrails import catalog
from dataplane.guardrails.facts import FunctionName, RelationName, StatementFacts, unparseable
from dataplane.guardrails.where import restricts_rows

_DROPPING_SUBCOMMANDS = frozenset({AlterTableType.AT_DropColumn, AlterTableType.AT_DropConstraint})
_RELATION_OBJECTS = frozenset(
    {
        ObjectType.OBJECT_TABLE,
        ObjectType.OBJECT_VIEW,
        ObjectType.OBJECT_MATVIEW,
        ObjectType.OBJECT_FOREIGN_TABLE,
        ObjectType.OBJECT_SEQUENCE,
        ObjectType.OBJECT_INDEX,
    }
)
_COMMAND_NAMES = {
    "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
    "LockStmt": "LOCK TABLE",
    "VariableShowStmt": "SHOW",
    "TransactionStmt": "transaction control",
    "CreateStmt": "CREATE TABLE",
    "IndexStmt": "CREATE INDEX",
    "ViewStmt": "CREATE VIEW",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
    "GrantStmt": "GRANT/REVOKE",
    "GrantRoleStmt": "GRANT/REVOKE role",
    "DoStmt": "DO",
    "CallStmt": "CALL",
}


def extract_facts(sql: str) -> tuple[StatementFacts, ...]:
    """Facts of each statement in `sql`; a text that does not parse is one opaque statement."""
    if "\x00" in sql:
        # The parser stops at a NUL as the server does, but what follows it must not be
        # something nobody judged; clients never send one.
        return (unparseable(0, "the text contains a NUL character"),)
    try:
        statements = parse_sql(sql)
    except ParseError as error:
        return (unparseable(0, f"the statement does not parse ({error})"),)
    sensitive = escape_sensitive(sql)
    return tuple(
        _facts_of(index, raw.stmt, sensitive) for index, raw in enumerate(statements) if raw.stmt
    )


def escape_sensitive(sql: str) -> bool:
    """True if a plain '...' string holds a backslash.

    The parser lexes with standard_conforming_strings on; a session with it off treats that
    backslash as an escape, so `SELECT '\', 'x; DROP TABLE t; --'` would be two statements
    there. E'...', $$...$$ and U&'...' strings read the same either way.
    """
    if "\\" not in sql:
        return False
    for token in scan(sql):  # offsets are in characters (pglast converts libpg_query's bytes)
        if token.name == "SCONST":
            text = sql[token.start : token.end + 1]
            if text.startswith("'") and "\\" in text:
                return True
    return False


def _facts_of(index: int, stmt: ast.Node, sensitive: bool) -> StatementFacts:
    walk = _Walk()
    walk.visit(stmt, frozenset(), executes=True)
    return StatementFacts(
        index=index,
        command=command_name(stmt),
        classes=tuple(walk.classes),
        writes=tuple(walk.writes),
        relations=frozenset(walk.relations),
        functions=frozenset(walk.functions),
        procedures=frozenset(walk.procedures),
        parameters=frozenset(walk.parameters),
        unguarded=tuple(walk.unguarded),
        opaque=tuple(walk.opaque),
        prepared_names=tuple(walk.prepared_names),
        escape_sensitive=sensitive,
    )


def command_name(stmt: ast.Node) -> str:
    """The command as a client would name it: "DROP TABLE", "ALTER TABLE", "SELECT"."""
    kind = type(stmt).__name__
    if isinstance(stmt, ast.DropStmt) and stmt.removeType is not None:
        return "DROP " + _object_name(ObjectType(stmt.removeType))
    if isinstance(stmt, ast.CopyStmt):
        direction = "COPY FROM" if stmt.is_from else "COPY TO"
        return direction + (" PROGRAM" if stmt.is_program else "")
    if isinstance(stmt, ast.VariableSetStmt):
        return _set_command(stmt)
    if kind in _COMMAND_NAMES:
        return _COMMAND_NAMES[kind]
    words = re.findall(r"[A-Z][a-z]*", kind.removesuffix("Stmt"))
    return " ".join(words).upper() or kind


def _set_command(stmt: ast.VariableSetStmt) -> str:
    if stmt.kind == VariableSetKind.VAR_RESET_ALL:
        return "RESET ALL"
    verb = "RESET" if stmt.kind == VariableSetKind.VAR_RESET else "SET"
    return f"{verb} {stmt.name}" if stmt.name else verb


def _object_name(kind: ObjectType) -> str:
    name = kind.name.removeprefix("OBJECT_").replace("_", " ")
    return {"MATVIEW": "MATERIALIZED VIEW"}.get(name, name)


def _dotted(names: tuple[ast.Node, ...] | None) -> tuple[str | None, str]:
    """(schema, name) of a qualified name given as String nodes; the catalog part is dropped."""
    parts = [_text(n) for n in names or () if isinstance(n, ast.String)]
    if not parts:
        return None, "?"
    return (parts[-2] if len(parts) > 1 else None), parts[-1]


@dataclass
class _Walk:
    """One statement's walk: collects facts as it visits nodes."""

    classes: list[tuple[str, str]] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    relations: set[RelationName] = field(default_factory=set)
    functions: set[FunctionName] = field(default_factory=set)
    procedures: set[FunctionName] = field(default_factory=set)
    parameters: set[str] = field(default_factory=set)
    unguarded: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    prepared_names: list[str] = field(default_factory=list)

    def visit(self, node: object, ctes: frozenset[str], *, executes: bool) -> None:
        """Visit `node` and everything below it, depth first in source order.

        `ctes` are the CTE names visible here; `executes` is False under a plain EXPLAIN,
        which plans its statement without running it (no writes, no classes, still names).
        An explicit stack, not recursion: generated SQL nests deeper than Python's stack.
        """
        stack: list[_Pending] = [(node, ctes, executes)]
        while stack:
            item, scope, runs = stack.pop()
            if isinstance(item, tuple | list):
                stack.extend((child, scope, runs) for child in reversed(item))
            elif isinstance(item, ast.Node):
                stack.extend(reversed(self._visit_node(item, scope, runs)))

    def _visit_node(self, node: ast.Node, ctes: frozenset[str], executes: bool) -> list[_Pending]:
        """Record what `node` means; return what is below it that still needs a visit."""
        pending: list[_Pending] = []
        with_clause = getattr(node, "withClause", None)
        if isinstance(with_clause, ast.WithClause):
            ctes, pending = _cte_scopes(with_clause, ctes, executes)
        if self._visit_special(node, ctes, executes=executes):
            return pending
        slots = type(node).__slots__  # type: ignore[attr-defined]  # pglast declares them
        pending.extend((getattr(node, s), ctes, executes) for s in slots if s != "withClause")
        return pending

    def _visit_special(self, node: ast.Node, ctes: frozenset[str], *, executes: bool) -> bool:
        """Record what `node` itself means; True if its children need no generic walk."""
        kind = type(node).__name__
        if executes and kind.endswith("Stmt"):
            self._classify_statement(node, kind)
        visitor = _SPECIAL.get(kind)
        return visitor(self, node, ctes, executes) if visitor else False

    def _classify_statement(self, node: ast.Node, kind: str) -> None:
        classes = catalog.STATEMENT_NODE_CLASSES.get(kind)
        if classes is None and kind not in catalog.PLAIN_STATEMENTS:
            classes = frozenset({"ddl"})
        what = command_name(node)
        for cls in sorted(classes or ()):
            self.classes.append((cls, what))
        if classes and classes & catalog.WRITING_CLASSES:
            self.writes.append(what)
        if kind == "NotifyStmt":
            self.writes.append(what)

    # --- nodes with a meaning of their own ---------------------------------------------

    def _range_var(self, node: ast.RangeVar, ctes: frozenset[str], executes: bool) -> bool:
        if node.relname and not (node.schemaname is None and node.relname in ctes):
            self.relations.add(RelationName(node.schemaname, node.relname))
        return True

    def _func_call(self, node: ast.FuncCall, ctes: frozenset[str], executes: bool) -> bool:
        schema, name = _dotted(node.funcname)
        function = FunctionName(schema, name)
        self.functions.add(function)
        if executes and catalog.name_matches(name, catalog.WRITING_FUNCTIONS):
            self.writes.append(f"{function}()")
        if executes and name == "set_config":
            self._set_config(function, node.args)
        if executes and name == "pg_notify":
            self.classes.append(("listen_notify", f"{function}()"))
        if name in catalog.SQL_TEXT_ARGUMENTS:
            self._visit_sql_arguments(function, node.args or (), executes)
        elif catalog.name_matches(name, catalog.RUNTIME_RELATION_FUNCTIONS):
            self.opaque.append(f"{function}() reads relations named only at run time")
        return False

    def _visit_sql_arguments(
        self, function: FunctionName, args: tuple[ast.Node, ...], executes: bool
    ) -> None:
        """Judge the SQL a function runs from its text arguments, as part of this statement."""
        for position in catalog.SQL_TEXT_ARGUMENTS[function.name]:
            if position >= len(args):
                continue
            argument = args[position]
            literal = argument.val if isinstance(argument, ast.A_Const) else None
            if not isinstance(literal, ast.String):
                self.opaque.append(f"{function}() runs SQL computed at run time")
                continue
            self._visit_sql_text(_text(literal), f"the SQL given to {function}()", executes)

    def _set_config(self, function: FunctionName, args: tuple[ast.Node, ...] | None) -> None:
        first = args[0] if args else None
        literal = first.val if isinstance(first, ast.A_Const) else None
        parameter = _text(literal).lower() if isinstance(literal, ast.String) else "*"
        self.parameters.add(parameter)
        self.classes.append(("set_parameter", f"{function}('{parameter}')"))

    def _variable_set(
        self, node: ast.VariableSetStmt, ctes: frozenset[str], executes: bool
    ) -> bool:
        if node.kind == VariableSetKind.VAR_RESET_ALL:
            self.parameters.add("*")
        elif node.name:
            self.parameters.add(node.name.lower())
        return False

    def _modify(self, node: ast.Node, ctes: frozenset[str], executes: bool) -> bool:
        relation = getattr(node, "relation", None)
        target = relation.relname if isinstance(relation, ast.RangeVar) else "?"
        if isinstance(relation, ast.RangeVar) and relation.relname:
            # The target of INSERT/UPDATE/DELETE/MERGE is always a table, never a CTE, even
            # when a CTE of that name is in scope.
            self.relations.add(RelationName(relation.schemaname, relation.relname))
        if not executes:
            return False
        verb = {"InsertStmt": "INSERT INTO", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE FROM"}
        what = f"{verb.get(type(node).__name__, 'MERGE INTO')} {target}"
        self.writes.append(what)
        filtered = isinstance(node, ast.UpdateStmt | ast.DeleteStmt)
        if filtered and not restricts_rows(getattr(node, "whereClause", None)):
            self.unguarded.append(f"{what} without a WHERE clause that restricts rows")
        return False

    def _select(self, node: ast.SelectStmt, ctes: frozenset[str], executes: bool) -> bool:
        if executes and node.lockingClause:
            self.writes.append("SELECT ... FOR UPDATE/SHARE (row locks)")
        if executes and node.intoClause:
            self.writes.append("SELECT INTO (creates a table)")
            self.classes.append(("ddl", "SELECT INTO"))
        return False

    def _copy(self, node: ast.CopyStmt, ctes: frozenset[str], executes: bool) -> bool:
        if not executes:
            return False
        what = command_name(node)
        if node.is_program:
            self.classes.append(("copy_program", what))
            self.writes.append(what)
        elif node.filename:
            self.classes.append(("copy_server_file", f"{what} server file"))
            self.writes.append(f"{what} server file")
        elif node.is_from:
            self.writes.append(what)
        return False

    def _explain(self, node: ast.ExplainStmt, ctes: frozenset[str], executes: bool) -> bool:
        self.visit(node.query, ctes, executes=executes and _explain_runs(node))
        return True

    def _drop(self, node: ast.DropStmt, ctes: frozenset[str], executes: bool) -> bool:
        if node.removeType is not None and ObjectType(node.removeType) in _RELATION_OBJECTS:
            for name in node.objects or ():
                if isinstance(name, tuple):  # a qualified name: a tuple of String nodes
                    self.relations.add(RelationName(*_dotted(name)))
        return False

    def _alter_table(self, node: ast.AlterTableStmt, ctes: frozenset[str], executes: bool) -> bool:
        subcommands = {getattr(c, "subtype", None) for c in node.cmds or ()}
        if executes and subcommands & _DROPPING_SUBCOMMANDS:
            self.classes.append(("drop", "ALTER TABLE ... DROP"))
        return False

    def _call(self, node: ast.CallStmt, ctes: frozenset[str], executes: bool) -> bool:
        call = node.funccall
        if isinstance(call, ast.FuncCall):
            procedure = FunctionName(*_dotted(call.funcname))
            self.procedures.add(procedure)
            if executes:
                self.writes.append(f"CALL {procedure}")
            self.visit(call.args, ctes, executes=executes)
        return True

    def _do(self, node: ast.DoStmt, ctes: frozenset[str], executes: bool) -> bool:
        self.opaque.append("a DO block runs procedural code the rules cannot judge")
        return True

    def _execute(self, node: ast.ExecuteStmt, ctes: frozenset[str], executes: bool) -> bool:
        self.prepared_names.append(node.name or "")
        return False

    def _create_function(
        self, node: ast.CreateFunctionStmt, ctes: frozenset[str], executes: bool
    ) -> bool:
        if node.sql_body is not None:
            return False  # BEGIN ATOMIC ... END: parsed already, walked as children
        options = {o.defname: o.arg for o in node.options or () if isinstance(o, ast.DefElem)}
        language = options.get("language")
        body = options.get("as")
        if isinstance(language, ast.String) and language.sval == "sql" and body:
            self._visit_sql_body(body, ctes)
        else:
            self.opaque.append("CREATE FUNCTION with a body in a language the rules cannot judge")
        return False

    def _visit_sql_body(self, body: object, ctes: frozenset[str]) -> None:
        parts = body if isinstance(body, tuple) else ()
        for text in [_text(b) for b in parts if isinstance(b, ast.String)]:
            self._visit_sql_text(text, "a LANGUAGE sql function body", executes=True)

    def _visit_sql_text(self, text: str, source: str, executes: bool) -> None:
        """Parse SQL found inside a statement and walk it (in its own scope: no outer CTEs)."""
        try:
            inner = parse_sql(text)
        except ParseError as error:
            self.opaque.append(f"{source} does not parse ({error})")
            return
        for raw in inner:
            self.visit(raw.stmt, frozenset(), executes=executes)


_Pending = tuple[object, frozenset[str], bool]  # a node to visit, its CTE scope, whether it runs


def _cte_scopes(
    clause: ast.WithClause, outer: frozenset[str], executes: bool
) -> tuple[frozenset[str], list[_Pending]]:
    """The names a WITH makes visible to its statement, and each CTE body with its own scope.

    A non-recursive CTE sees the CTEs before it, not itself (its own name there is a table);
    WITH RECURSIVE makes every name visible to every body.
    """
    ctes = [c for c in clause.ctes or () if isinstance(c, ast.CommonTableExpr)]
    every = outer | {c.ctename for c in ctes if c.ctename}
    visible = set(outer)
    bodies: list[_Pending] = []
    for cte in ctes:
        scope = every if clause.recursive else frozenset(visible)
        bodies.append((cte.ctequery, scope, executes))
        if cte.ctename:
            visible.add(cte.ctename)
    return every, bodies


def _text(node: ast.String) -> str:
    return node.sval or ""


def _explain_runs(node: ast.ExplainStmt) -> bool:
    """EXPLAIN ANALYZE runs its statement; plain EXPLAIN (or ANALYZE false) only plans it."""
    for option in node.options or ():
        if isinstance(option, ast.DefElem) and option.defname == "analyze":
            arg = option.arg
            if isinstance(arg, ast.String):
                return _text(arg).lower() not in {"false", "off", "0", "no", "f", "n"}
            if isinstance(arg, ast.Boolean):
                return bool(arg.boolval)
            if isinstance(arg, ast.Integer):
                return arg.ival != 0
            return True
    return False


_NodeVisitor = Callable[[_Walk, Any, frozenset[str], bool], bool]
_SPECIAL: dict[str, _NodeVisitor] = {
    "RangeVar": _Walk._range_var,
    "FuncCall": _Walk._func_call,
    "VariableSetStmt": _Walk._variable_set,
    "InsertStmt": _Walk._modify,
    "UpdateStmt": _Walk._modify,
    "DeleteStmt": _Walk._modify,
    "MergeStmt": _Walk._modify,
    "SelectStmt": _Walk._select,
    "CopyStmt": _Walk._copy,
    "ExplainStmt": _Walk._explain,
    "DropStmt": _Walk._drop,
    "AlterTableStmt": _Walk._alter_table,
    "CallStmt": _Walk._call,
    "DoStmt": _Walk._do,
    "ExecuteStmt": _Walk._execute,
    "CreateFunctionStmt": _Walk._create_function,
}
