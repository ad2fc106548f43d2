"""The tamper-evident audit log core: standalone (stdlib + ``cryptography`` only).

RFC 8785 canonical leaves (`canonical`, `leaf`), an RFC 9162 Merkle tree with proofs
(`merkle`), C2SP signed notes (`note`), checkpoints (`checkpoint`) and witness cosignatures
(`cosignature`). The control plane, the witness (`ledger.witness`), the export bundle
(`ledger.bundle`) and the offline verifier (`ledger.verify`) build on these modules; nothing
here imports Django, the control plane or the data plane (import-linter enforces it).
"""
