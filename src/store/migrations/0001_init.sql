-- psi-radar schema. All instants are UTC RFC 3339 text; dates are YYYY-MM-DD.

-- Sources and their fetch state.
CREATE TABLE sources (
    name                 TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL,
    url                  TEXT NOT NULL,
    last_attempt_at      TEXT,
    last_success_at      TEXT,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_check_at        TEXT,
    etag                 TEXT,
    last_modified        TEXT,
    -- adapter-specific cursor, e.g. Vinnova's changed-since date
    cursor               TEXT,
    last_new             INTEGER NOT NULL DEFAULT 0,
    last_changed         INTEGER NOT NULL DEFAULT 0,
    last_seen            INTEGER NOT NULL DEFAULT 0
);

-- Calls. The reference PSI-0042 is the row id: AUTOINCREMENT never reuses one.
CREATE TABLE calls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT NOT NULL,
    url             TEXT NOT NULL,
    funder          TEXT NOT NULL,
    programme       TEXT,
    summary         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    lang            TEXT NOT NULL DEFAULT 'sv',
    translations    TEXT NOT NULL DEFAULT '[]',
    opens_at        TEXT,
    status          TEXT NOT NULL,
    budget_amount   REAL,
    budget_currency TEXT,
    decision_dates  TEXT NOT NULL DEFAULT '[]',
    eligibility     TEXT,
    canonical_url   TEXT NOT NULL,
    title_key       TEXT NOT NULL,
    first_seen_at   TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- last material change (deadline moved, reopened, retitled), for the digest
    changed_at      TEXT,
    manual          INTEGER NOT NULL DEFAULT 0,
    -- AU: "ej aktuell" hides the call; "bevaka" keeps it on top until its deadline
    dismissed_at    TEXT,
    watched_at      TEXT
);
CREATE INDEX calls_canonical_url ON calls(canonical_url);
CREATE INDEX calls_first_seen ON calls(first_seen_at);

-- One row per source that lists a call.
CREATE TABLE call_listings (
    id            INTEGER PRIMARY KEY,
    call_id       INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    source        TEXT NOT NULL,
    source_key    TEXT NOT NULL,
    url           TEXT NOT NULL,
    raw           TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    UNIQUE (source, source_key)
);
CREATE INDEX call_listings_call ON call_listings(call_id);

CREATE TABLE call_deadlines (
    call_id   INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    tz        TEXT NOT NULL,
    date_only INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (call_id, at)
);
CREATE INDEX call_deadlines_at ON call_deadlines(at);

-- Material changes to a call (deadline moved, status, title), newest last.
CREATE TABLE call_changes (
    id        INTEGER PRIMARY KEY,
    call_id   INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX call_changes_call ON call_changes(call_id);

CREATE TABLE call_categories (
    call_id  INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    score    REAL NOT NULL,
    evidence TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (call_id, category)
);

-- Members and contacts.
CREATE TABLE members (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    org_type     TEXT NOT NULL,
    municipality TEXT NOT NULL DEFAULT '',
    categories   TEXT NOT NULL DEFAULT '',
    keywords     TEXT NOT NULL DEFAULT '',
    can_lead     INTEGER NOT NULL DEFAULT 0,
    languages    TEXT NOT NULL DEFAULT 'sv',
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL DEFAULT '',
    is_primary      INTEGER NOT NULL DEFAULT 0,
    unsubscribed_at TEXT,
    token           TEXT
);
CREATE INDEX contacts_member ON contacts(member_id);

-- Interests declared by reply or on the command line. The current answer of
-- a member to a call is the row with superseded_at NULL; older rows are history.
CREATE TABLE interests (
    id            INTEGER PRIMARY KEY,
    call_id       INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    member_id     TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    contact_id    INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    intent        TEXT NOT NULL,
    role          TEXT,
    comment       TEXT NOT NULL DEFAULT '',
    reply_id      INTEGER REFERENCES replies(id) ON DELETE SET NULL,
    recorded_at   TEXT NOT NULL,
    superseded_at TEXT
);
CREATE INDEX interests_call ON interests(call_id, member_id);

-- Every inbound message: accepted, held (unknown sender), unreadable, auto-reply.
CREATE TABLE replies (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT NOT NULL UNIQUE,
    imap_uid      INTEGER,
    from_addr     TEXT,
    contact_id    INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    member_id     TEXT REFERENCES members(id) ON DELETE SET NULL,
    received_at   TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT,
    reading       TEXT NOT NULL DEFAULT '{}',
    raw           BLOB,
    raw_deleted_at TEXT,
    shown_in_digest TEXT
);

-- The outbox: a message is stored here before any send attempt.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    period          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    body            BLOB NOT NULL,
    html            TEXT NOT NULL DEFAULT '',
    call_refs       TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    server_response TEXT,
    sent_at         TEXT,
    UNIQUE (kind, period, recipient)
);
CREATE INDEX outbox_status ON outbox(status, next_attempt_at);

-- The application register.
CREATE TABLE applications (
    id             INTEGER PRIMARY KEY,
    title          TEXT NOT NULL,
    call_id        INTEGER REFERENCES calls(id) ON DELETE SET NULL,
    external_call  TEXT,
    lead           TEXT NOT NULL DEFAULT '',
    partners       TEXT NOT NULL DEFAULT '[]',
    psi_role       TEXT NOT NULL,
    status         TEXT NOT NULL,
    status_dates   TEXT NOT NULL DEFAULT '{}',
    amount_applied REAL,
    amount_granted REAL,
    currency       TEXT,
    notes          TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE application_events (
    id             INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    who            TEXT NOT NULL,
    change         TEXT NOT NULL
);

-- One row per job run, for `status`.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    ok          INTEGER,
    summary     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job ON job_runs(job, started_at);
