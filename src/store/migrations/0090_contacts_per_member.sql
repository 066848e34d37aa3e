-- no-transaction
-- Issue 17: one person may be a contact of two members (a consultant, a
-- county officer sitting for two organisations), so an address is unique
-- per member, not in the whole table. SQLite cannot drop a column's UNIQUE,
-- so the table is rebuilt. Foreign keys are off while it is (they cannot be
-- switched inside a transaction, hence no-transaction): with them on,
-- dropping the old table would cascade to waiting answers and unlink every
-- interest and reply from its contact. Each step is safe to run again
-- should the process stop before sqlx records the migration.
-- A later migration that adds a column to contacts must come after this one.
PRAGMA foreign_keys = OFF;
BEGIN;
DROP TABLE IF EXISTS contacts_new;
CREATE TABLE contacts_new (
    id              INTEGER PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL DEFAULT '',
    is_primary      INTEGER NOT NULL DEFAULT 0,
    unsubscribed_at TEXT,
    token           TEXT,
    UNIQUE (member_id, email)
);
INSERT INTO contacts_new (id, member_id, name, email, role, is_primary, unsubscribed_at, token)
    SELECT id, member_id, name, email, role, is_primary, unsubscribed_at, token FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE INDEX contacts_member ON contacts(member_id);
CREATE INDEX contacts_email ON contacts(email);
-- Which member a message of ours was about (a notification, a reminder, an
-- ask-back), so that a reply from a person who is a contact of two members
-- is attributed through the mail it answers (In-Reply-To / References).
CREATE TABLE IF NOT EXISTS message_members (
    message_id TEXT PRIMARY KEY REFERENCES outbox(message_id) ON DELETE CASCADE,
    member_id  TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE
);
-- Reply tokens given to AU members' personal addresses (`[mail] au_members`):
-- a command that comes back to one is proven that member's.
CREATE TABLE IF NOT EXISTS au_tokens (
    email TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE
);
COMMIT;
PRAGMA foreign_keys = ON;
