"""The CDNOW transaction data (Fader & Hardie), the public set CLV models are checked against.

``CDNOW_master.txt``: header line, then ``customer_id date number_of_cds dollar_value``;
``CDNOW_sample.txt``: no header, ``master_id sample_id date number_of_cds dollar_value``.
Fields are separated by runs of spaces. Each line is one paid order on a shop-local day; the
customer id is the master id as written in the file.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from userops.core.errors import InvalidInput
from userops.core.sql import literal
from userops.ingest.files import spooled
from userops.ingest.schemas import ImportSummary
from userops.ingest.service import BATCH_ROWS, Progress, _quiet, import_file
from userops.warehouse import Warehouse


def import_cdnow(
    *,
    engine: Engine,
    warehouse: Warehouse,
    rejects_dir: Path,
    path: Path,
    encoding: str | None = None,
    progress: Progress = _quiet,
    now: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, ImportSummary]:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="file")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty: nothing to import", field="file")
    # The input and the two files derived from it live in the warehouse's spool (the one place
    # its DuckDB may touch files); the derived files are imported like any customer/order file.
    spool = warehouse.spool_dir
    with (
        tempfile.TemporaryDirectory(prefix="cdnow-", dir=spool) as tmp,
        spooled(path, "csv", spool, encoding) as source,
    ):
        orders_file = Path(tmp) / "cdnow_orders.csv"
        customers_file = Path(tmp) / "cdnow_customers.csv"
        src = literal(str(source))
        with warehouse.writer() as cur:
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE _cd AS SELECT row_number() OVER () AS line, "
                f"regexp_split_to_array(trim(l), '\\s+') AS f FROM read_csv({src}, "
                "columns={'l': 'VARCHAR'}, header=false, delim='\\x01', quote='', escape='', "
                "auto_detect=false)"
            )
            width = cur.execute(
                "SELECT mode(len(f)) FROM _cd WHERE NOT regexp_matches(f[1], '[a-zA-Z]')"
            ).fetchall()
            if not width or width[0][0] not in (4, 5):
                raise InvalidInput(
                    f"{path.name} is not a CDNOW file: expected 4 columns (master) or 5 (sample)",
                    field="file",
                )
            shift = int(width[0][0]) - 4  # the sample file has the sample id second
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE _cdo AS SELECT line, f[1] AS customer_id, "
                f"f[{2 + shift}] AS day, f[{3 + shift}] AS cds, f[{4 + shift}] AS dollars, "
                f"len(f) = {width[0][0]} AS well_formed FROM _cd "
                "WHERE NOT regexp_matches(f[1], '[a-zA-Z]')"
            )
            cur.execute(
                "COPY (SELECT customer_id || '-' || day || '-' || row_number() OVER (PARTITION BY "
                "customer_id, day ORDER BY line) AS order_id, customer_id, "
                "strftime(try_strptime(day, '%Y%m%d'), '%Y-%m-%d') AS created_at, "
                "strftime(try_strptime(day, '%Y%m%d'), '%Y-%m-%d') AS paid_at, 'paid' AS status, "
                "CASE WHEN well_formed THEN CAST(round(try_cast(dollars AS DECIMAL(18, 2)) * 100)"
                " AS BIGINT)::VARCHAR ELSE 'malformed line' END AS amount_fen, "
                "'cdnow' AS channel FROM _cdo ORDER BY line) "
                f"TO {literal(str(orders_file))} (HEADER)"
            )
            cur.execute(
                "COPY (SELECT DISTINCT customer_id FROM _cdo ORDER BY customer_id) "
                f"TO {literal(str(customers_file))} (HEADER)"
            )
            cur.execute("DROP TABLE _cd")
            cur.execute("DROP TABLE _cdo")
        common = {
            "engine": engine,
            "warehouse": warehouse,
            "rejects_dir": rejects_dir,
            "progress": progress,
            "now": now,
            "batch_rows": batch_rows,
        }
        return {
            "customers": import_file(entity="customers", path=customers_file, **common),
            "orders": import_file(entity="orders", path=orders_file, **common),
        }
