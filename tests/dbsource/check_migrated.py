#!/usr/bin/env python3
"""Checks a database migrated by dbtool from an old app database (both SQLite files): every
table of OLD is in NEW with every row equal on the columns both have (ids included, password
hashes byte for byte), NEW passes PRAGMA foreign_key_check, the users of --passwords still log
in with their password (werkzeug pbkdf2:sha256), the section nobody joined is there and the
uids that differ only in case stay distinct. Prints each problem; exit status 1 when any.

usage: check_migrated.py OLD.db NEW.db [--passwords FILE] [--expect-dropped TABLE.COLUMN ...]
"""
import argparse, hashlib, hmac, sqlite3, sys


def tables(db):
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                     "AND name NOT LIKE 'sqlite_%' AND name <> 'dbtool_history'")]


def columns(db, table):
    return [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]


def verify(password, stored):
    method, salt, digest = stored.split("$")
    _, algo, iterations = method.split(":")
    got = hashlib.pbkdf2_hmac(algo, password.encode(), salt.encode(), int(iterations)).hex()
    return hmac.compare_digest(got, digest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--passwords")
    ap.add_argument("--expect-dropped", nargs="*", default=[])
    a = ap.parse_args()
    old = sqlite3.connect(f"file:{a.old}?mode=ro", uri=True)
    new = sqlite3.connect(f"file:{a.new}?mode=ro", uri=True)
    problems = []
    for t in tables(old):
        if t not in tables(new):
            problems.append(f"table {t} missing from the new database")
            continue
        oc, nc = columns(old, t), columns(new, t)
        common = [c for c in oc if c in nc]
        for c in oc:
            if c not in nc and f"{t}.{c}" not in a.expect_dropped:
                problems.append(f"column {t}.{c} missing from the new database")
        sel = ", ".join(f'"{c}"' for c in common)
        # typeof() too: an integer that became text or a real would compare equal in Python.
        typed = sel + ", " + ", ".join(f'typeof("{c}")' for c in common)
        rows_old = sorted(old.execute(f'SELECT {typed} FROM "{t}"').fetchall(), key=repr)
        rows_new = sorted(new.execute(f'SELECT {typed} FROM "{t}"').fetchall(), key=repr)
        if rows_old != rows_new:
            diff = [r for r in rows_old if r not in set(rows_new)][:3]
            problems.append(f"table {t}: {len(rows_old)} rows before, {len(rows_new)} after; e.g. lost {diff}")
    for t in tables(new):
        if t not in tables(old):
            n = new.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            if n:
                problems.append(f"table {t} is not in the old database but holds {n} rows")
    fk = new.execute("PRAGMA foreign_key_check").fetchall()
    if fk:
        problems.append(f"foreign_key_check: {fk[:5]}")
    if new.execute("SELECT COUNT(*) FROM sections WHERE _abbreviation = 'EMPTY'").fetchone()[0] != 1:
        problems.append("the section nobody joined is missing")
    uids = [r[0] for r in new.execute("SELECT _uid FROM users")]
    if len(uids) != len(set(uids)) or len({u.lower() for u in uids}) == len(uids):
        problems.append("uids that differ only in case did not stay distinct (or the fixture has none)")
    if a.passwords:
        logged_in = 0
        for line in open(a.passwords, encoding="utf-8"):
            uid, password = line.rstrip("\n").split("\t")
            row = new.execute("SELECT _password FROM users WHERE _uid = ?", (uid,)).fetchone()
            if row is None or not verify(password, row[0]):
                problems.append(f"user {uid!r} cannot log in with their password")
            else:
                logged_in += 1
        if logged_in == 0:
            problems.append("no user of --passwords was checked")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
