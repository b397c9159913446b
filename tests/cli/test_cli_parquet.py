"""``kinto-orm export --format parquet``: a collection as a Parquet file, through
:mod:`kinto_orm.dataframes`, run as a user runs it against the real Kinto of the fixtures.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .conftest import SCRIPT, Cli


def test_export_a_collection_to_parquet(cli: Cli, tmp_path: Path) -> None:
    cli.seed("posts", [{"id": f"p{i:02d}", "title": f"Post {i}", "views": i, "tags": ["a"],
                        **({"score": 1.5} if i % 2 else {})} for i in range(23)])
    target = tmp_path / "posts.parquet"
    run = subprocess.run([SCRIPT, "export", "-b", cli.bucket, "-c", "posts", "-o", str(target)],
                         env=cli.env(), capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "exported 23 record(s)\n")
    table = pq.read_table(target)
    assert table.num_rows == 23
    types = {field.name: field.type for field in table.schema}
    assert types["views"] == pa.int64() and types["title"] == pa.string()
    assert types["tags"] == pa.list_(pa.string()) and types["score"] == pa.float64()
    assert types["last_modified"] == pa.int64()
    rows = {row["id"]: row for row in table.to_pylist()}
    assert rows["p03"]["score"] == 1.5 and rows["p04"]["score"] is None
    assert rows["p03"]["tags"] == ["a"] and rows["p03"]["views"] == 3

    # --format parquet to a pipe; a Parquet export needs one collection.
    piped = subprocess.run([SCRIPT, "export", "--format", "parquet", "-b", cli.bucket,
                            "-c", "posts"], env=cli.env(), capture_output=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert pq.read_table(io.BytesIO(piped.stdout)).num_rows == 23
    whole = subprocess.run([SCRIPT, "export", "-b", cli.bucket, "-o", str(target)],
                           env=cli.env(), capture_output=True, text=True, timeout=60)
    assert whole.returncode == 2
    assert whole.stderr == "kinto-orm: error: --collection is required for 'export'.\n"
