"""The audit log: who changed what, when, from what to what (docs/decisions/0016)."""
