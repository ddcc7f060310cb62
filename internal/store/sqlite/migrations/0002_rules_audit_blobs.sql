-- Per-rule settings and hit counters, the audit log, and opaque blobs.

CREATE TABLE rule_settings (
	rule_id  TEXT PRIMARY KEY,
	enabled  INTEGER NOT NULL DEFAULT 1,
	hits     INTEGER NOT NULL DEFAULT 0,
	last_hit INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	time   INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT NOT NULL
);
CREATE INDEX audit_time ON audit(time DESC, id DESC);
CREATE INDEX audit_actor ON audit(actor, time DESC);

CREATE TABLE blobs (
	key     TEXT PRIMARY KEY,
	value   BLOB NOT NULL,
	updated INTEGER NOT NULL
);
