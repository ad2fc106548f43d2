"""Exports of the audit log for auditors: the verifiable bundle (``bundle``), its derived
views in OCSF 1.3 (``ocsf``) and CSV (``csv``), and the ISO 27001 evidence report
(``evidence``)."""
