"""An independent witness for the audit log: C2SP tlog-witness over HTTP."""
