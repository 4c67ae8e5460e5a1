#!/usr/bin/env python3
"""Builds a k3s kine datastore (state.db + state.db-wal) with SQLite, in kine's
own write pattern, for atrest's tests.

Usage: make_kine_db.py OUTDIR VECTORS_JSON [--old-value-by-select]

--old-value-by-select writes old_value as newer kine does (generic.go `InsertSQL`:
`(SELECT value FROM kine WHERE id = prev_revision)`), so a first create's old_value
is the value of another key's row (its prev_revision is the store's revision then).

The writes follow k3s-io/kine:
- schema: pkg/drivers/sqlite/sqlite.go (table kine and its indexes), opened in
  WAL mode as k3s does (`_journal=WAL`);
- pkg/logstructured/sqllog/sql.go `compactStart` creates the compact_rev_key row,
  then pkg/logstructured/logstructured.go `Start` creates /registry/health;
- Create / Update / Delete: pkg/logstructured/logstructured.go, written by
  sqllog `Append` through pkg/drivers/generic/generic.go `Insert`: every write is
  a new row; prev_revision is the previous row's id (for a fresh create, the
  store's current revision), old_value the previous row's value; a delete row
  carries the deleted value in value and old_value;
- Fill (generic.go): a gap-<rev> row for a revision an insert lost;
- compaction (CompactSQL in sqlite.go): rows superseded by a later row, and
  delete rows, up to the target, are removed; compact_rev_key's prev_revision
  records the target. old_value of the surviving rows is left as it is. Unlike
  CompactSQL, a first create's prev_revision is not followed (`kp.created = 0`):
  it names another key's row (here compact_rev_key's), not a superseded one.

Writes after the last checkpoint stay in state.db-wal: the files are copied to
OUTDIR while the writing connection is still open (as a running k3s leaves them).

What is written (the tests check each verdict and each surviving copy):
  1 compact_rev_key            2 /registry/health (JSON)
  3 secret default/a plain     4 secret default/b plain
  5 secret default/c aescbckey (the first k3s key)
  6 secret default/e plain     7 configmap default/cm plain
  8 a <- new key (old_value: plaintext of 3)
  9 c <- new key (old_value: old-key value of 5)
 10 e <- new key   11 e <- new key again
  compaction to 11: removes 3, 5, 6, 10 (superseded)
 12 b <- new key (old_value: plaintext of 4; row 4 is still there)
 13 secret default/d plain     14 d deleted (value and old_value: plaintext of 13)
 15 gap-15 (filled)            then a checkpoint (TRUNCATE), so 16+ live in the WAL only
 16 secret default/f plain (only in state.db-wal)
"""
import json
import os
import shutil
import sqlite3
import sys

OLD_KEY = "aescbckey"
NEW_KEY = "aescbckey-2024-05-01T10:20:30Z"

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS kine
        (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name INTEGER,
            created INTEGER,
            deleted INTEGER,
            create_revision INTEGER,
            prev_revision INTEGER,
            lease INTEGER,
            value BLOB,
            old_value BLOB
        )""",
    "CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)",
    "CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)",
    "CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)",
    "CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)",
    "CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex ON kine (name, prev_revision)",
]


class Kine:
    def __init__(self, path, old_value_by_select=False):
        self.old_value_by_select = old_value_by_select
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        for statement in SCHEMA:
            self.db.execute(statement)

    def current_revision(self):
        return self.db.execute("SELECT COALESCE(MAX(id), 0) FROM kine").fetchone()[0]

    def latest(self, name):
        return self.db.execute(
            "SELECT id, deleted, create_revision, created, value FROM kine WHERE name = ? ORDER BY id DESC LIMIT 1",
            (name,)).fetchone()

    def insert(self, name, created, deleted, create_revision, prev_revision, lease, value, old_value):
        if self.old_value_by_select:
            row = self.db.execute("SELECT value FROM kine WHERE id = ?", (prev_revision,)).fetchone()
            old_value = row[0] if row else None
        cursor = self.db.execute(
            "INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value)"
            " values(?, ?, ?, ?, ?, ?, ?, ?)",
            (name, created, deleted, create_revision, prev_revision, lease, value, old_value))
        return cursor.lastrowid

    def create(self, name, value, lease=0):
        previous = self.latest(name)
        if previous is None:
            return self.insert(name, 1, 0, 0, self.current_revision(), lease, value, None)
        row, deleted, _, _, old = previous
        assert deleted, "key exists"
        return self.insert(name, 1, 0, 0, row, lease, value, old)

    def update(self, name, value, lease=0):
        row, deleted, create_revision, created, old = self.latest(name)
        assert not deleted
        return self.insert(name, 0, 0, row if created else create_revision, row, lease, value, old)

    def delete(self, name):
        row, deleted, create_revision, created, old = self.latest(name)
        assert not deleted
        return self.insert(name, 0, 1, row if created else create_revision, row, 0, old, old)

    def fill(self, revision):
        self.db.execute(
            "INSERT INTO kine(id, name, created, deleted, create_revision, prev_revision, lease, value, old_value)"
            " values(?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (revision, "gap-%d" % revision, 0, 1, 0, 0, 0, None, None))

    def compact(self, target):
        self.db.execute("BEGIN")
        self.db.execute(
            """DELETE FROM kine WHERE id IN (
                 SELECT kp.prev_revision FROM kine AS kp
                  WHERE kp.name != 'compact_rev_key' AND kp.created = 0 AND kp.prev_revision != 0 AND kp.id <= ?
                 UNION
                 SELECT kd.id FROM kine AS kd WHERE kd.deleted != 0 AND kd.id <= ?)""",
            (target, target))
        self.db.execute("UPDATE kine SET prev_revision = ? WHERE name = 'compact_rev_key'", (target,))
        self.db.execute("COMMIT")


def main():
    out, vectors_path = sys.argv[1], sys.argv[2]
    old_value_by_select = "--old-value-by-select" in sys.argv[3:]
    vectors = json.load(open(vectors_path))
    plaintext = bytes.fromhex(vectors["plaintext_hex"])
    new_vector, old_vector = vectors["aescbc_key1_aes128"], vectors["aescbc_key2_aes256"]

    def body(vector):
        value = bytes.fromhex(vector["etcd_value_hex"])
        prefix = b"k8s:enc:aescbc:v1:" + vector["key_name"].encode() + b":"
        assert value.startswith(prefix)
        return value[len(prefix):]

    def sealed(name):
        # aescbc binds no authenticated data: a vector's IV and ciphertext under k3s's key name.
        return b"k8s:enc:aescbc:v1:" + name.encode() + b":" + body(new_vector if name == NEW_KEY else old_vector)

    work = os.path.join(out, "writer")
    os.makedirs(work)
    kine = Kine(os.path.join(work, "state.db"), old_value_by_select)
    kine.insert("compact_rev_key", 1, 0, 0, 0, 0, b"", None)                 # 1
    kine.create("/registry/health", b'{"health":"true"}')                    # 2
    kine.create("/registry/secrets/default/a", plaintext)                    # 3
    kine.create("/registry/secrets/default/b", plaintext)                    # 4
    kine.create("/registry/secrets/default/c", sealed(OLD_KEY))              # 5
    kine.create("/registry/secrets/default/e", plaintext)                    # 6
    kine.create("/registry/configmaps/default/cm", plaintext)                # 7
    kine.update("/registry/secrets/default/a", sealed(NEW_KEY))              # 8
    kine.update("/registry/secrets/default/c", sealed(NEW_KEY))              # 9
    kine.update("/registry/secrets/default/e", sealed(NEW_KEY))              # 10
    kine.update("/registry/secrets/default/e", sealed(NEW_KEY))              # 11
    kine.compact(11)
    kine.update("/registry/secrets/default/b", sealed(NEW_KEY))              # 12
    kine.create("/registry/secrets/default/d", plaintext)                    # 13
    kine.delete("/registry/secrets/default/d")                               # 14
    kine.fill(15)                                                            # 15
    kine.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    kine.create("/registry/secrets/default/f", plaintext)                    # 16

    for name in ["state.db", "state.db-wal"]:
        shutil.copyfile(os.path.join(work, name), os.path.join(out, name))
    kine.db.close()
    shutil.rmtree(work)

    config = {
        "kind": "EncryptionConfiguration",
        "apiVersion": "apiserver.config.k8s.io/v1",
        "resources": [{
            "resources": ["secrets"],
            "providers": [
                {"aescbc": {"keys": [
                    {"name": NEW_KEY, "secret": new_vector["config_secret_b64"]},
                    {"name": OLD_KEY, "secret": old_vector["config_secret_b64"]},
                ]}},
                {"identity": {}},
            ],
        }],
    }
    with open(os.path.join(out, "encryption-config.json"), "w") as f:
        json.dump(config, f)


if __name__ == "__main__":
    main()
