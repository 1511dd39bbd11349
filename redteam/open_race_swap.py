#!/usr/bin/env python3
"""Hold the SQLite write lock of the lease file P while a server is inside sqlassign.Open (after its
nonce check, before holdFile), replace P (with its -wal/-shm) by a fresh database meanwhile, then
let the server go on. Usage: open_race_swap.py PATH READYFILE"""
import os, sqlite3, sys, time

path, ready = sys.argv[1], sys.argv[2]
old = os.path.join(os.path.dirname(path), "old")
os.makedirs(old, exist_ok=True)
c = sqlite3.connect(path, isolation_level=None, timeout=0)
open(ready, "w").close()
deadline = time.time() + 30
while time.time() < deadline:
    try:
        n = c.execute("SELECT COUNT(*) FROM snowfall_checks").fetchone()[0]
    except sqlite3.OperationalError:
        n = 0
    if n == 0:
        continue  # busy poll (a copy's change: the 0.2 ms sleep missed the nonce's window here)
    try:
        c.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        continue  # the server holds it (its lock check): try again
    n = c.execute("SELECT COUNT(*) FROM snowfall_checks").fetchone()[0]
    if n == 0:
        c.execute("ROLLBACK")
        print("too late: the server's check already ended", flush=True)
        sys.exit(1)
    print("holding the write lock while the server's nonce is in the table", flush=True)
    time.sleep(1.0)
    for s in ("", "-wal", "-shm"):
        if os.path.exists(path + s):
            os.rename(path + s, os.path.join(old, "leases.db" + s))
    tmp = path + ".new"
    n2 = sqlite3.connect(tmp)
    n2.execute("PRAGMA journal_mode=WAL")
    n2.execute("CREATE TABLE IF NOT EXISTS x (y)")
    n2.commit()
    n2.close()
    os.rename(tmp, path)
    print("replaced", path, "by a fresh database; old one in", old, flush=True)
    time.sleep(0.2)
    c.execute("ROLLBACK")
    c.close()
    sys.exit(0)
print("no nonce seen", flush=True)
sys.exit(2)
