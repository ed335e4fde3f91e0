"""The floor for benchmarks/answer_saves.py: a FastAPI endpoint that INSERTs one row.

Served by uvicorn on the database named by BENCH_DATABASE_URL, with the same engine set-up
as the product (make_engine, with the database settings GSR_DATABASE_* of the environment,
pool sizes included), one transaction per request.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import make_engine

engine = make_engine(os.environ["BENCH_DATABASE_URL"], database=get_settings().database)
with engine.begin() as connection:
    connection.execute(
        text("CREATE TABLE IF NOT EXISTS bench_rows (id SERIAL PRIMARY KEY, client INT, n INT)")
    )

app = FastAPI()


class Row(BaseModel):
    client: int
    n: int


@app.post("/insert")
def insert(row: Row) -> dict[str, int]:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bench_rows (client, n) VALUES (:client, :n)"), row.model_dump()
        )
    return {"ok": 1}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
