#!/usr/bin/env python3
"""What this disk allows SQLite commits: WAL, synchronous=FULL, batches of 1, 8
and 32 rows of ~1.8 KB (a meeting's JSON), one commit (one fsync) per batch,
for 3 s each; first under one sequential key, then under the store's five
B-trees (id, key, join id, join link) with random keys, as meetings are. The
ceiling the SQLite store's group commit works under (BENCHMARKS.md, issue 13).

    python3 scripts/sqlite-commit-ceiling.py [DIRECTORY]   # default: the current one
"""
import os
import sqlite3
import sys
import tempfile
import time
import uuid

d = tempfile.mkdtemp(dir=sys.argv[1] if len(sys.argv) > 1 else ".")
c = sqlite3.connect(os.path.join(d, "x.db"), isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=FULL")
c.execute("CREATE TABLE one(k TEXT PRIMARY KEY, v TEXT)")
c.execute(
    "CREATE TABLE meetings(id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    " external_id TEXT NOT NULL, meeting TEXT NOT NULL, join_meeting_id TEXT, join_web_url TEXT,"
    " UNIQUE (tenant_id, user_id, external_id))"
)
c.execute("CREATE UNIQUE INDEX j ON meetings(join_meeting_id)")
c.execute("CREATE INDEX u ON meetings(join_web_url COLLATE NOCASE)")
payload = "x" * 1800
n = 0


def one():
    global n
    n += 1
    c.execute("INSERT INTO one VALUES(?,?)", (f"k{n:012}", payload))


def meeting():
    r = uuid.uuid4().hex
    c.execute(
        "INSERT INTO meetings VALUES(?,?,?,?,?,?,?)",
        (r, "72f988bf-86f1-41af-91ab-2d7cd011db47", "d4a060b5-a8fc-450c-837b-750b2c2869b5",
         str(uuid.uuid4()), payload, str(uuid.uuid4().int % 10**12),
         "https://teams.example/l/meetup-join/19%3ameeting_" + r * 4 + "%40thread.v2/0"),
    )


for name, insert in (("one sequential key", one), ("five B-trees, random keys", meeting)):
    for batch in (1, 8, 32):
        rows = 0
        commits = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 3:
            c.execute("BEGIN IMMEDIATE")
            for _ in range(batch):
                insert()
            rows += batch
            c.execute("COMMIT")
            commits += 1
        dt = time.perf_counter() - t0
        print(f"{name}, batch {batch:2}: {commits / dt:6.0f} commits/s, {rows / dt:7.0f} rows/s,"
              f" {1000 * dt / commits:.2f} ms/commit")
c.close()
for name in os.listdir(d):
    os.remove(os.path.join(d, name))
os.rmdir(d)
