# Exercises the parts of Python a real program leans on: C extensions (json, sqlite3, ssl,
# hashlib), a subprocess, and a multiprocessing pool.
import hashlib
import json
import multiprocessing
import sqlite3
import ssl
import subprocess
import sys


def square(x):
    return x * x


def main():
    print(json.dumps({"json": "ok"}))
    db = sqlite3.connect(":memory:")
    db.execute("create table t (x)")
    db.executemany("insert into t values (?)", [(i,) for i in range(10)])
    print("sqlite3:", db.execute("select sum(x) from t").fetchone()[0])
    print("ssl:", ssl.OPENSSL_VERSION.split()[0])
    print("sha256:", hashlib.sha256(b"lamina").hexdigest()[:16])
    out = subprocess.run([sys.executable, "-c", "print('subprocess ok')"],
                         capture_output=True, text=True, check=True)
    print(out.stdout.strip())
    with multiprocessing.Pool(4) as pool:
        print("pool:", pool.map(square, range(8)))


if __name__ == "__main__":
    main()
