"""Throwaway local servers for `make run`, the tests and the benchmarks.

Each helper starts a real server (PostgreSQL, pgbouncer, the control plane, an agent) on a
free loopback port in a temporary directory and stops it by the pid it started, never by
name. Nothing here is imported by the data plane or the control plane.
"""
