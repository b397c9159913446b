"""Deliberate mistakes: every line marked ``# expect-error`` must be flagged by pyright
strict and by mypy --strict (with and without the pydantic plugin)."""

from __future__ import annotations

import datetime

from kinto_orm import Client, Record


class Task(Record, bucket="work", collection="tasks"):
    title: str
    due: datetime.date
    done: bool = False


def mistakes(client: Client) -> None:
    Task(titel="x", due=datetime.date.today())  # expect-error: misspelled field
    Task(title="x")  # expect-error: required field missing
    Task(title=3, due=datetime.date.today())  # expect-error: wrong type in constructor
    task = client.records(Task).get("t1")
    task.done = "yes"  # expect-error: wrong type assigned
    task.colour = "red"  # expect-error: unknown attribute
    n: int = task.title  # expect-error: wrong type used
    when: datetime.datetime = client.records(Task).first()  # expect-error: optional result
    count: str = client.records(Task).count()  # expect-error: count() is an int
    task.sav()  # expect-error: misspelled method
    tasks = client.records(Task)
    tasks.where(lambda t: t.titel == "x")  # expect-error: misspelled field in a filter
    tasks.where(lambda t: t.due >= "soon")  # expect-error: wrong type in a filter
    tasks.where(lambda t: t.title == 3)  # expect-error: a comparison that is never true
    tasks.where(lambda t: t.done, lambda t: t.title > "m")  # fine: not flagged
    print(n, when, count)
