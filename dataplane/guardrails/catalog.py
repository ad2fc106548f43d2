"""What the rule engine knows about PostgreSQL: statement classes and functions with side effects.

These lists are the engine's documented judgement, kept in one place so a reviewer can read
them whole. Function names match in any schema (``nextval`` and ``pg_catalog.nextval`` alike);
an entry ending in ``*`` matches every name with that prefix.
"""

from __future__ import annotations

# Statement classes a `DenyStatements` rule may name. `drop` is also `ddl`; `truncate` is not
# (it is data, not schema), nor is `maintenance`.
STATEMENT_CLASSES: frozenset[str] = frozenset(
    {
        "ddl",  # CREATE/ALTER/DROP of schema objects, COMMENT, SELECT INTO, any unknown utility
        "drop",  # DROP of anything, ALTER TABLE ... DROP COLUMN/CONSTRAINT, DROP OWNED
        "truncate",
        "alter_system",
        "grant_revoke",  # GRANT, REVOKE, ALTER DEFAULT PRIVILEGES, GRANT role TO role
        "role_management",  # CREATE/ALTER/DROP ROLE|USER|GROUP, REASSIGN/DROP OWNED
        "copy_program",  # COPY ... TO/FROM PROGRAM: runs a shell command on the server
        "copy_server_file",  # COPY ... TO/FROM 'file' on the server's file system
        "load",  # LOAD 'library': loads code into the backend
        "set_parameter",  # SET/RESET/SET LOCAL, set_config(); narrowed by a parameter list
        "maintenance",  # VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT, REFRESH MATERIALIZED VIEW
        "listen_notify",  # LISTEN, UNLISTEN, NOTIFY, pg_notify()
        "lock",  # LOCK TABLE
    }
)

# Statement node -> classes. A statement node that is neither here nor in PLAIN_STATEMENTS
# is `ddl`: an unknown utility statement is treated as a schema change (fail closed).
STATEMENT_NODE_CLASSES: dict[str, frozenset[str]] = {
    "DropStmt": frozenset({"ddl", "drop"}),
    "DropdbStmt": frozenset({"ddl", "drop"}),
    "DropTableSpaceStmt": frozenset({"ddl", "drop"}),
    "DropSubscriptionStmt": frozenset({"ddl", "drop"}),
    "DropUserMappingStmt": frozenset({"ddl", "drop"}),
    "DropRoleStmt": frozenset({"role_management", "drop"}),
    "DropOwnedStmt": frozenset({"role_management", "drop"}),
    "ReassignOwnedStmt": frozenset({"role_management"}),
    "CreateRoleStmt": frozenset({"role_management"}),
    "AlterRoleStmt": frozenset({"role_management"}),
    "AlterRoleSetStmt": frozenset({"role_management"}),
    "GrantStmt": frozenset({"grant_revoke"}),
    "GrantRoleStmt": frozenset({"grant_revoke"}),
    "AlterDefaultPrivilegesStmt": frozenset({"grant_revoke"}),
    "TruncateStmt": frozenset({"truncate"}),
    "AlterSystemStmt": frozenset({"alter_system"}),
    "LoadStmt": frozenset({"load"}),
    "VariableSetStmt": frozenset({"set_parameter"}),
    "VacuumStmt": frozenset({"maintenance"}),
    "ClusterStmt": frozenset({"maintenance"}),
    "ReindexStmt": frozenset({"maintenance"}),
    "CheckPointStmt": frozenset({"maintenance"}),
    "RefreshMatViewStmt": frozenset({"maintenance"}),
    "ListenStmt": frozenset({"listen_notify"}),
    "UnlistenStmt": frozenset({"listen_notify"}),
    "NotifyStmt": frozenset({"listen_notify"}),
    "LockStmt": frozenset({"lock"}),
}

# Statements that belong to no class: queries, DML (judged by read_only/where_required),
# transaction control and session plumbing that drivers send on their own.
PLAIN_STATEMENTS: frozenset[str] = frozenset(
    {
        "SelectStmt",
        "InsertStmt",
        "UpdateStmt",
        "DeleteStmt",
        "MergeStmt",
        "TransactionStmt",
        "VariableShowStmt",
        "ExplainStmt",
        "PrepareStmt",
        "ExecuteStmt",
        "DeallocateStmt",
        "DiscardStmt",
        "DeclareCursorStmt",
        "FetchStmt",
        "ClosePortalStmt",
        "ConstraintsSetStmt",
        "CallStmt",
        "DoStmt",
        "CopyStmt",  # classified by its options: PROGRAM, server file, FROM
    }
)

# Classes whose statements change the database or the server (read_only denies them).
# set_parameter and LISTEN/UNLISTEN are session state, as PostgreSQL's own read-only
# transactions allow them; NOTIFY is a write (it reaches other sessions).
WRITING_CLASSES: frozenset[str] = frozenset(
    {
        "ddl",
        "drop",
        "truncate",
        "alter_system",
        "grant_revoke",
        "role_management",
        "copy_program",
        "copy_server_file",
        "load",
        "maintenance",
        "lock",
    }
)

# Functions that write or act on the server: a SELECT calling one is a write for read_only.
# User-defined functions are unknown to the parser and assumed not to write; a read-only
# resource should also run with default_transaction_read_only (defence in depth).
WRITING_FUNCTIONS: tuple[str, ...] = (
    "nextval",
    "setval",
    "set_config",
    "pg_notify",
    "pg_advisory_*",
    "pg_try_advisory_*",
    "lo_*",
    "lowrite",
    "dblink*",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_create_*_replication_slot",
    "pg_copy_*_replication_slot",
    "pg_drop_replication_slot",
    "pg_replication_origin_*",
    "pg_logical_emit_message",
    "pg_stat_reset*",
    "pg_promote",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_import_system_collations",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "pg_file_sync",
    "pg_log_backend_memory_contexts",
)

# The default list of a DeniedFunctions rule: server file access, large objects on the
# server's file system, remote connections, and control over other sessions or the server.
DEFAULT_DENIED_FUNCTIONS: tuple[str, ...] = (
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_ls_*dir",
    "pg_stat_file",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "lo_import",
    "lo_export",
    "dblink*",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_promote",
    "set_config",
)


def name_matches(name: str, patterns: tuple[str, ...]) -> bool:
    """True if `name` equals a pattern, or starts with a pattern's part before its `*`."""
    for pattern in patterns:
        if pattern.endswith("*") and "*" not in pattern[:-1]:
            if name.startswith(pattern[:-1]):
                return True
        elif "*" in pattern:
            head, _, tail = pattern.partition("*")
            if name.startswith(head) and name.endswith(tail) and len(name) >= len(pattern) - 1:
                return True
        elif name == pattern:
            return True
    return False


# Functions that run SQL given to them as text, with the positions of those arguments. A
# literal text is parsed and judged as part of the statement; a computed one cannot be judged.
SQL_TEXT_ARGUMENTS: dict[str, tuple[int, ...]] = {
    "query_to_xml": (0,),
    "query_to_xmlschema": (0,),
    "query_to_xml_and_xmlschema": (0,),
    "ts_stat": (0,),
    "crosstab": (0, 1),
    "crosstab2": (0,),
    "crosstab3": (0,),
    "crosstab4": (0,),
}

# Functions that read relations named at run time (by a regclass, a schema or a cursor): the
# rules cannot see which, so a statement calling one cannot be judged.
RUNTIME_RELATION_FUNCTIONS: tuple[str, ...] = (
    "table_to_xml*",
    "schema_to_xml*",
    "database_to_xml*",
    "cursor_to_xml*",
    "connectby",
)
