"""Results of imports."""

from __future__ import annotations

from pydantic import BaseModel


class ImportSummary(BaseModel):
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejects_file: str | None = None
    customers_created: int = 0
    suppressed: int = 0
    """Rows refused because they name an erased person (not stored, not in the rejects file)."""

    def public(self) -> dict[str, int | str | None]:
        """The documented ``--json`` shape, plus the counts that explain it."""
        return self.model_dump()
