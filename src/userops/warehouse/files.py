"""Writing query results to the user's files without DuckDB's ``COPY … TO``.

The warehouse's DuckDB may not touch files outside its spool (docs/decisions/0009), and the
user picks where an export or a rejects file goes, so results are streamed as Arrow record
batches into pyarrow's writers: bounded memory, any path the process may write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def write_csv(batches: Any, target: Path) -> int:
    """Stream an Arrow record batch reader to a CSV file with a header; returns the rows.

    Files userops writes for the user (rejects, exports) go through pyarrow rather than DuckDB's
    ``COPY … TO``: the warehouse may not write outside its spool, and the user picks the place.
    Written to ``<target>.part`` and renamed, so a reader never sees half a file."""
    import pyarrow.csv as pacsv

    rows = 0
    tmp = target.with_name(target.name + ".part")
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    with pacsv.CSVWriter(tmp, batches.schema, write_options=options) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    os.replace(tmp, target)
    return rows


def write_parquet(batches: Any, target: Path) -> int:
    """Stream an Arrow record batch reader to a Parquet file; returns the rows."""
    import pyarrow.parquet as pq

    rows = 0
    tmp = target.with_name(target.name + ".part")
    with pq.ParquetWriter(tmp, batches.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    os.replace(tmp, target)
    return rows
