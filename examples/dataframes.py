"""Kinto records as dataframes: typed records -> pandas -> analysis -> changes saved back
through the model's validation -> a Parquet file.

Run it with ``.venv/bin/python examples/dataframes.py``: it starts an embedded local Kinto
(memory backend). Needs ``pip install "kinto-orm[pandas]"``. Pass a server URL to use
another one: ``python examples/dataframes.py http://localhost:8888/v1``.
"""

from __future__ import annotations

import datetime
import enum
import sys
import tempfile
from pathlib import Path

import pandas as pd

from kinto_orm import Client, Record, dataframes
from kinto_orm.testing import KintoServer, new_credentials


class Sky(enum.Enum):
    CLEAR = "clear"
    CLOUDY = "cloudy"
    RAIN = "rain"


class Reading(Record, bucket="weather", collection="readings"):
    """One reading of a weather station."""

    station: str
    day: datetime.date
    celsius: float
    sky: Sky = Sky.CLEAR
    rain_mm: int | None = None


def january() -> list[Reading]:
    skies = [Sky.CLEAR, Sky.CLOUDY, Sky.RAIN]
    return [
        Reading(id=f"{station}-{day:02d}", station=station, day=datetime.date(2026, 1, day),
                celsius=round(base + day / 4, 2), sky=skies[day % 3],
                rain_mm=day % 7 if skies[day % 3] is Sky.RAIN else None)
        for station, base in (("north", -3.0), ("south", 4.0)) for day in range(1, 32)
    ]


def run(server_url: str) -> None:
    client = Client(server_url, auth=new_credentials())
    client.bucket("weather").create(if_not_exists=True)
    client.collection("readings", bucket="weather").create(if_not_exists=True)
    readings = client.records(Reading)
    print(f"saved {readings.bulk_save(january()).done} readings")

    # Kinto -> pandas, page by page, with typed columns from the model.
    frame = readings.to_pandas()
    print(f"frame: {len(frame)} rows; day is {frame['day'].dtype}, sky is {frame['sky'].dtype}, "
          f"rain_mm is {frame['rain_mm'].dtype}")
    means = frame.groupby("station")["celsius"].mean().round(2)
    print("mean temperature: " + ", ".join(f"{k} {v}" for k, v in means.items()))
    rainy = sum(1 for station, sky in zip(frame["station"], frame["sky"])
                if station == "north" and sky == "rain")
    print(f"rainy days in the north: {rainy}")

    # A correction computed in pandas, saved back: every row is validated by Reading.
    frame["celsius"] = frame["celsius"] - 0.5
    late = pd.DataFrame({"id": ["east-01", "east-02"], "station": ["east", "east"],
                         "day": [datetime.date(2026, 1, 1)] * 2, "celsius": [1.0, 2.0],
                         "sky": ["clear", "snow"]})  # "snow" is not a Sky
    result = readings.bulk_save(frame)
    print(f"saved back {result.done} rows")
    result = readings.bulk_save(late)
    print(f"late rows: {result.done} saved; refused: "
          + ", ".join(f"{f.id} ({f.error.__class__.__name__})" for f in result.failed))
    print(f"north-01 is now {readings.get('north-01').celsius} C")

    # The same query as a Parquet file (streamed page by page).
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "readings.parquet"
        rows = dataframes.write_parquet(readings.filter(sky="rain"), str(target))
        print(f"wrote {rows} rainy readings to {target.name} "
              f"({target.stat().st_size:,} bytes)")


def main() -> None:
    if len(sys.argv) > 1:
        run(sys.argv[1])
        return
    with KintoServer(history=False, attachments=False) as server:
        print(f"embedded Kinto at {server.url}")
        run(server.url)


if __name__ == "__main__":
    main()
