"""Facts extraction: what the parser tells the rules about a statement."""

from __future__ import annotations

from dataplane.guardrails.extract import extract_facts
from dataplane.guardrails.facts import FunctionName, RelationName, StatementFacts


def _one(sql: str) -> StatementFacts:
    (facts,) = extract_facts(sql)
    return facts


def test_each_statement_of_a_text_gets_its_own_facts_in_order() -> None:
    statements = extract_facts("SELECT 1; DELETE FROM t WHERE id = 1; DROP TABLE t")
    assert [f.index for f in statements] == [0, 1, 2]
    assert [f.command for f in statements] == ["SELECT", "DELETE", "DROP TABLE"]


def test_empty_text_has_no_statements() -> None:
    assert extract_facts("") == ()
    assert extract_facts("  -- only a comment\n") == ()


def test_a_text_that_does_not_parse_is_one_opaque_statement() -> None:
    facts = _one("SELEC 1")
    assert facts.opaque and "does not parse" in facts.opaque[0]


def test_cte_names_are_not_relations_but_their_bodies_are_read() -> None:
    facts = _one(
        "WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN customers c ON true"
    )
    assert facts.relations == {RelationName(None, "orders"), RelationName(None, "customers")}


def test_a_non_recursive_cte_reading_its_own_name_reads_the_real_table() -> None:
    facts = _one("WITH secrets AS (SELECT * FROM secrets) SELECT * FROM secrets")
    assert facts.relations == {RelationName(None, "secrets")}


def test_a_recursive_cte_does_not_count_as_a_relation_inside_itself() -> None:
    facts = _one(
        "WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n) SELECT * FROM n"
    )
    assert facts.relations == frozenset()


def test_a_schema_qualified_name_is_not_a_cte() -> None:
    facts = _one("WITH keys AS (SELECT 1) SELECT * FROM vault.keys")
    assert facts.relations == {RelationName("vault", "keys")}


def test_names_fold_to_lower_case_unless_quoted_and_unicode_escapes_decode() -> None:
    facts = _one('SELECT * FROM Sales.Q1, "Sales"."Q2", U&"d\\0061ta".t')
    assert facts.relations == {
        RelationName("sales", "q1"),
        RelationName("Sales", "Q2"),
        RelationName("data", "t"),
    }


def test_functions_are_found_anywhere_in_the_tree() -> None:
    facts = _one(
        "SELECT a FROM (SELECT f1(f2(x)) AS a FROM t WHERE x IN (SELECT f3())) s ORDER BY f4()"
    )
    assert {f.name for f in facts.functions} == {"f1", "f2", "f3", "f4"}


def test_functions_in_a_column_default_are_found() -> None:
    facts = _one("CREATE TABLE leak (c text DEFAULT pg_catalog.pg_read_file('/etc/passwd'))")
    assert FunctionName("pg_catalog", "pg_read_file") in facts.functions


def test_writable_cte_is_a_write_and_its_missing_where_is_found() -> None:
    facts = _one("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d")
    assert facts.writes == ("DELETE FROM t",)
    assert facts.unguarded and "DELETE FROM t" in facts.unguarded[0]


def test_a_restricting_where_is_not_unguarded() -> None:
    assert _one("UPDATE t SET a = 1 WHERE id = $1").unguarded == ()
    assert _one("DELETE FROM t WHERE CURRENT OF c").unguarded == ()
    assert _one("DELETE FROM t USING u WHERE t.id = u.id").unguarded == ()


def test_tautological_wheres_are_unguarded() -> None:
    for where in ("true", "1 = 1", "'x' = 'x'", "id = id", "NOT false", "false OR 1=1", "'yes'"):
        assert _one(f"DELETE FROM t WHERE {where}").unguarded, where


def test_plain_explain_plans_without_running_so_its_write_does_not_count() -> None:
    plain = _one("EXPLAIN DELETE FROM t")
    assert plain.writes == () and plain.unguarded == ()
    assert plain.relations == {RelationName(None, "t")}


def test_explain_analyze_runs_its_statement() -> None:
    assert _one("EXPLAIN ANALYZE DELETE FROM t").writes == ("DELETE FROM t",)
    assert _one("EXPLAIN (ANALYZE true) DELETE FROM t").writes == ("DELETE FROM t",)
    assert _one("EXPLAIN (ANALYZE false) DELETE FROM t").writes == ()
    assert _one("EXPLAIN (ANALYZE off) DELETE FROM t").writes == ()


def test_prepare_is_judged_by_its_statement() -> None:
    facts = _one("PREPARE p AS UPDATE t SET a = 1")
    assert facts.command == "PREPARE"
    assert facts.writes == ("UPDATE t",) and facts.unguarded


def test_copy_is_classified_by_its_options() -> None:
    assert _one("COPY t TO PROGRAM 'x'").classes == (("copy_program", "COPY TO PROGRAM"),)
    assert _one("COPY t FROM '/f'").classes == (("copy_server_file", "COPY FROM server file"),)
    to_stdout = _one("COPY t TO STDOUT")
    assert to_stdout.classes == () and to_stdout.writes == ()
    assert _one("COPY t FROM STDIN").writes == ("COPY FROM",)


def test_set_records_the_parameter_and_set_config_its_literal_name() -> None:
    assert _one("SET LOCAL Search_Path = x").parameters == {"search_path"}
    assert _one("SELECT set_config('Work_Mem', '1MB', false)").parameters == {"work_mem"}
    assert _one("SELECT set_config(name, 'x', false) FROM p").parameters == {"*"}
    assert _one("RESET ALL").parameters == {"*"}


def test_unknown_utility_statements_count_as_ddl() -> None:
    trigger = _one("CREATE EVENT TRIGGER t ON ddl_command_start EXECUTE FUNCTION f()")
    assert trigger.classes_named(frozenset({"ddl"}))
    assert _one("CREATE PUBLICATION p FOR ALL TABLES").classes_named(frozenset({"ddl"}))


def test_drop_names_the_dropped_relations() -> None:
    facts = _one("DROP TABLE a.b, c")
    assert facts.relations == {RelationName("a", "b"), RelationName(None, "c")}
    assert {cls for cls, _ in facts.classes} == {"ddl", "drop"}


def test_do_execute_and_call_are_opaque_or_named() -> None:
    assert _one("DO $$ BEGIN NULL; END $$").opaque
    assert _one("EXECUTE p(1)").prepared_names == ("p",)
    call = _one("CALL app.refresh(nextval('s'))")
    assert call.procedures == {FunctionName("app", "refresh")}
    assert "nextval()" in call.writes


def test_sql_function_bodies_are_walked_and_other_languages_are_opaque() -> None:
    sql_body = _one("CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT pg_ls_dir('.') $$")
    assert FunctionName(None, "pg_ls_dir") in sql_body.functions and not sql_body.opaque
    atomic = _one("CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT nextval('s'); END")
    assert FunctionName(None, "nextval") in atomic.functions
    plpgsql = _one("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$")
    assert plpgsql.opaque


def test_sql_given_as_text_to_a_function_is_judged_with_the_statement() -> None:
    facts = _one("SELECT query_to_xml('SELECT * FROM secrets; DELETE FROM t', true, false, '')")
    assert RelationName(None, "secrets") in facts.relations
    assert facts.writes == ("DELETE FROM t",) and facts.unguarded
    assert _one("SELECT query_to_xml(q, true, false, '') FROM p").opaque
    assert _one("SELECT schema_to_xml('vault', true, false, '')").opaque


def test_a_nul_character_makes_the_text_opaque() -> None:
    facts = _one("SELECT 1\x00; DROP TABLE t")
    assert facts.opaque == ("the text contains a NUL character",)


def test_backslashes_in_plain_strings_are_escape_sensitive() -> None:
    assert _one("SELECT '\\', 'x; DROP TABLE t; --'").escape_sensitive
    assert _one("SELECT 'é', '\\d'").escape_sensitive
    assert not _one("SELECT E'\\n', $$\\$$, 'plain'").escape_sensitive


def test_deeply_nested_statements_are_walked_without_exhausting_the_stack() -> None:
    depth = 1500
    nested = "SELECT * FROM " + "(SELECT * FROM " * depth + "secrets" + ") x" * depth
    assert _one(nested).relations == {RelationName(None, "secrets")}
    long_sum = _one("SELECT " + " + ".join(["pg_read_file('f')"] * depth))
    assert FunctionName(None, "pg_read_file") in long_sum.functions


def test_a_dml_target_is_a_table_even_when_a_cte_has_its_name() -> None:
    facts = _one("WITH t AS (SELECT 1) UPDATE t SET a = 1 WHERE id = 2")
    assert facts.relations == {RelationName(None, "t")}
