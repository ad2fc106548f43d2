"""Audit export bundle, format 1: a directory an auditor verifies offline (see FORMAT.md)."""

from ledger.bundle.layout import FORMAT, BundleError
from ledger.bundle.reader import BundleReader, UnsupportedFormat
from ledger.bundle.writer import BundleWriter

__all__ = ["FORMAT", "BundleError", "BundleReader", "BundleWriter", "UnsupportedFormat"]
