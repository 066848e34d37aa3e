-- Issue 17: an answer that names no call, to a mail about several calls,
-- waits here while the member is asked which call it meant.
CREATE TABLE waiting_answers (
    id            INTEGER PRIMARY KEY,
    reply_id      INTEGER NOT NULL UNIQUE REFERENCES replies(id) ON DELETE CASCADE,
    contact_id    INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    member_id     TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    -- the calls of the mail it answered, space-separated references (PSI-0042 PSI-0043)
    calls         TEXT NOT NULL,
    intent        TEXT NOT NULL,
    role          TEXT,
    comment       TEXT NOT NULL DEFAULT '',
    asked_at      TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    -- when it stopped waiting: applied to a call the member named, replaced by a later answer
    resolved_at   TEXT,
    -- the calls it was applied to (space-separated), NULL when replaced
    applied_to    TEXT
);
CREATE INDEX waiting_answers_open ON waiting_answers (contact_id, resolved_at, expires_at);
