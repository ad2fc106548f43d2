"""Tests for the built-in recognizers and their validators."""
