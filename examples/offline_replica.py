"""An offline-first tool: a local replica of a collection, synced both ways.

A field app reads and writes its inspections in a SQLite file; when the network is back
it synchronizes with Kinto: what others changed comes in, what it wrote goes out, and a
record both sides changed is a conflict the app settles itself.

    python examples/offline_replica.py      # embedded local Kinto
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from kinto_orm import Client, Record, Replica
from kinto_orm.testing import KintoServer, new_credentials


class Inspection(Record, bucket="field", collection="inspections"):
    site: str
    status: str = "todo"
    notes: str = ""


def settle(replica: Replica[Inspection]) -> None:
    """Synchronize; on a conflict keep the server's status and both notes."""
    report = replica.synchronize()
    sent = list(report.published)
    for conflict in report.conflicts:
        mine, theirs = conflict.local, conflict.remote
        if mine is None or theirs is None:  # deleted on one side: the server decides
            continue
        print(f"conflict on {conflict.id}: {mine.notes!r} / {theirs.notes!r}")
        merged = theirs.model_copy(update={"notes": f"{theirs.notes}; {mine.notes}"})
        replica.resolve(conflict, merged)
    if report.conflicts:
        report = replica.synchronize()
        sent += report.published
    print(f"synchronized: {len(sent)} sent, ok={report.ok}")


def run(server_url: str, folder: Path) -> None:
    office = Client(server_url, auth=new_credentials())
    office.bucket("field").create(if_not_exists=True)
    office.collection("inspections", bucket="field").create(if_not_exists=True)
    office.records(Inspection).bulk_save(
        [Inspection(id=f"site-{i}", site=f"Site {i}") for i in range(200)]
    )

    app = Client(server_url, auth=office.session.auth)
    replica = app.records(Inspection).replica(folder / "inspections.sqlite")
    print(f"first pull: {len(replica.pull().created)} inspections")

    # Offline: the app works on its local copy only.
    todo = replica.records().filter(status="todo").sort("site").limit(3).all()
    for inspection in todo:
        inspection.status = "done"
        inspection.notes = "checked"
        replica.save(inspection)
    print(f"done offline: {[i.id for i in todo]}, todo left: "
          f"{replica.records().filter(status='todo').count()}")

    # Meanwhile the office changes one of them, and another one.
    office.records(Inspection).get("site-0").patch({"notes": "call the owner"})
    office.records(Inspection).get("site-150").delete()

    settle(replica)
    print(f"site-0 on the server: {office.records(Inspection).get('site-0').notes!r}")
    print(f"local records: {replica.records().count()}")
    replica.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        if len(sys.argv) > 1:
            run(sys.argv[1], Path(folder))
        else:
            with KintoServer() as server:
                run(server.url, Path(folder))
