"""Offline verifier for audit export bundles: `python -m ledger.verify BUNDLE`."""

from ledger.verify.bundle_check import VerifyOptions, verify_bundle
from ledger.verify.report import Problem, Report

__all__ = ["Problem", "Report", "VerifyOptions", "verify_bundle"]
