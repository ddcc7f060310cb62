-- Alerts with their comments and change history, and API tokens.
-- Times are INTEGER Unix nanoseconds (UTC): exact and ordered.

CREATE TABLE alerts (
	id         TEXT PRIMARY KEY,
	dedup_key  TEXT,            -- rule id, host, window start; NULL when not deduplicated
	rule_id    TEXT NOT NULL,
	rule_title TEXT NOT NULL,
	level      TEXT NOT NULL,
	tags       TEXT NOT NULL,   -- JSON array
	host       TEXT NOT NULL,
	time       INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	status     TEXT NOT NULL,
	assignee   TEXT NOT NULL DEFAULT '',
	event_ids  TEXT NOT NULL,   -- JSON array
	matched    TEXT NOT NULL,   -- JSON array
	retro      INTEGER NOT NULL DEFAULT 0,
	source     TEXT NOT NULL,
	details    TEXT             -- JSON or NULL
);
CREATE UNIQUE INDEX alerts_dedup ON alerts(dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX alerts_time ON alerts(time DESC, id DESC);
CREATE INDEX alerts_rule ON alerts(rule_id, time DESC);
CREATE INDEX alerts_host ON alerts(host, time DESC);
CREATE INDEX alerts_status ON alerts(status, time DESC);

CREATE TABLE alert_comments (
	id       INTEGER PRIMARY KEY,
	alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	time     INTEGER NOT NULL,
	author   TEXT NOT NULL,
	text     TEXT NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments(alert_id, id);

CREATE TABLE alert_history (
	id         INTEGER PRIMARY KEY,
	alert_id   TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	time       INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	field      TEXT NOT NULL,
	from_value TEXT NOT NULL,
	to_value   TEXT NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history(alert_id, id);

CREATE TABLE tokens (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	role    TEXT NOT NULL,
	hash    TEXT NOT NULL UNIQUE,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL DEFAULT 0, -- 0: never
	revoked INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tokens_active_name ON tokens(name) WHERE revoked = 0;
