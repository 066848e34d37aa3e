-- Send once (issue 20): a sender claims an outbox row (status 'sending', who
-- holds it, until when) before it hands the message to SMTP, and records it
-- as sent only while the claim is still its own. An expired claim, or one
-- whose holder on this host is gone, becomes due again.
ALTER TABLE outbox ADD COLUMN claim_owner TEXT;
ALTER TABLE outbox ADD COLUMN claim_host TEXT;
ALTER TABLE outbox ADD COLUMN claim_pid INTEGER;
ALTER TABLE outbox ADD COLUMN claim_expires_at TEXT;
CREATE INDEX outbox_claims ON outbox(status, claim_expires_at);

-- One `serve` per database: the holder of the named lease runs the jobs,
-- renews `expires_at` every few seconds and deletes the row when it stops.
CREATE TABLE instance_lease (
    name        TEXT PRIMARY KEY,
    holder_id   TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
