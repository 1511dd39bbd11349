#!/usr/bin/env python3
"""F-A without a held lock: spawn a server, replace its SQLite file (db, -wal, -shm moved away, a
fresh database renamed in) after a delay swept across its start-up, and count the starts that end
with the server renewing in the moved-away file while its checks pass (it still answers 200 after
3 probes, its live lease is in the old file only). Usage: open_race_natural.py [binary] [tries]"""
import os, random, shutil, sqlite3, subprocess, sys, tempfile, time, urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else "/tmp/sqlite4/rt/snowfall"
TRIES = int(sys.argv[2]) if len(sys.argv) > 2 else 40
PORT = 28181
W = tempfile.mkdtemp(prefix="natural.", dir="/tmp/sqlite4/rt")
tmpl, fresh = W + "/tmpl.db", W + "/fresh.db"
subprocess.run([BIN, "schema", "create", "--db", "sqlite://" + tmpl, "--probe", "1s"], capture_output=True, check=True)
c = sqlite3.connect(tmpl); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()
c = sqlite3.connect(fresh); c.execute("PRAGMA journal_mode=WAL"); c.execute("CREATE TABLE x(y)"); c.commit(); c.close()

def status():
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{PORT}/ids?n=1", timeout=2).status
    except Exception as e:
        return getattr(e, "code", None)

def live(path, pid):
    try:
        c = sqlite3.connect(path)
        n = c.execute("SELECT COUNT(*) FROM snowfall_manifest WHERE pid=? AND expires_ms > ?", (pid, int(time.time()*1000))).fetchone()[0]
        c.close(); return n
    except Exception:
        return 0

def start(r):
    return subprocess.Popen([BIN, "serve", "--port", str(PORT), "--db", "sqlite://" + r + "/leases.db", "--exit-on-start-failure"],
                            stdout=open(r + "/a.log", "w"), stderr=subprocess.STDOUT)

# Calibrate: how long until the lease is acquired.
r = W + "/cal"; os.makedirs(r); shutil.copy(tmpl, r + "/leases.db")
t0 = time.perf_counter(); p = start(r)
while "lease acquired" not in open(r + "/a.log").read(): time.sleep(0.0005)
T = time.perf_counter() - t0; p.terminate(); p.wait()
print(f"start-up to lease acquired: {T*1000:.1f} ms", flush=True)

hits = 0
for i in range(TRIES):
    r = f"{W}/r{i}"; os.makedirs(r + "/old"); shutil.copy(tmpl, r + "/leases.db"); shutil.copy(fresh, r + "/new.db")
    d = random.uniform(0.2 * T, 1.0 * T)
    t0 = time.perf_counter(); p = start(r)
    while time.perf_counter() - t0 < d: pass
    for s in ("", "-wal", "-shm"):
        try: os.rename(r + "/leases.db" + s, r + "/old/leases.db" + s)
        except FileNotFoundError: pass
    os.rename(r + "/new.db", r + "/leases.db")
    time.sleep(3.2)
    code, old, new = status(), live(r + "/old/leases.db", p.pid), live(r + "/leases.db", p.pid)
    log = open(r + "/a.log").read()
    what = "refused" if p.poll() is not None else ("fenced" if "lease lost" in log else "serving")
    if code == 200 and old == 1 and new != 1:
        hits += 1; what = "HIT: serving, renewing in the moved-away file"
    print(f"swap at {d*1000:5.1f} ms: {what}", flush=True)
    p.terminate(); p.wait()
print(f"hits: {hits} of {TRIES} starts")
