-- De-duplication that never loses a call (issue 20).
--
-- Each listing registers the keys by which another source's listing of the
-- same call can find it (its stable identifiers, its canonical URL, its
-- funder and title words; computed in normalize/dedup.rs), so that ingest
-- looks candidates up by index instead of reading every call. `keys_version`
-- says which derivation wrote them: rows below the current one (every row
-- here, before this migration) are keyed again on the next ingest.
ALTER TABLE call_listings ADD COLUMN funder TEXT;
ALTER TABLE call_listings ADD COLUMN keys_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX call_listings_keys_version ON call_listings(keys_version);

CREATE TABLE listing_keys (
    key        TEXT NOT NULL,
    source     TEXT NOT NULL,
    listing_id INTEGER NOT NULL REFERENCES call_listings(id) ON DELETE CASCADE,
    PRIMARY KEY (key, source, listing_id)
) WITHOUT ROWID;
CREATE INDEX listing_keys_listing ON listing_keys(listing_id);

-- How each listing joined the call it is in: merged by de-duplication (with
-- the typed reason as JSON and the listing it matched) or split out of
-- another call by a person. A listing with no row founded its call.
CREATE TABLE listing_joins (
    id                 INTEGER PRIMARY KEY,
    listing_id         INTEGER NOT NULL REFERENCES call_listings(id) ON DELETE CASCADE,
    call_id            INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    kind               TEXT NOT NULL,
    reason             TEXT,
    matched_listing_id INTEGER REFERENCES call_listings(id) ON DELETE SET NULL,
    from_call_id       INTEGER REFERENCES calls(id) ON DELETE SET NULL,
    at                 TEXT NOT NULL
);
CREATE INDEX listing_joins_listing ON listing_joins(listing_id, call_id);
CREATE INDEX listing_joins_from ON listing_joins(from_call_id);

-- Listings merged before this migration: their reason was never recorded.
INSERT INTO listing_joins (listing_id, call_id, kind, at)
SELECT l.id, l.call_id, 'unrecorded', l.first_seen_at
FROM call_listings l
WHERE l.id <> (SELECT p.id FROM call_listings p WHERE p.call_id = l.call_id ORDER BY p.first_seen_at, p.id LIMIT 1);
