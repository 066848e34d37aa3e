-- The application register: proposals AU turned down (not proposed again),
-- and a lookup of applications by call.
CREATE TABLE application_proposals_declined (
    call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    who     TEXT NOT NULL
);
CREATE INDEX applications_call ON applications(call_id);
