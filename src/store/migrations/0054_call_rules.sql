-- Call rules read from each call's own text (issue 15): deadlines, opening,
-- who may apply and lead, areas and whether the home county may apply,
-- co-financing, amounts, consortium requirements — as JSON
-- (normalize::rules::CallRules). `read_from` fingerprints what they were read
-- from (title, text, funder, home county, reader version): the poll reads
-- them again when it differs, so a changed text is never shown with stale rules.
CREATE TABLE call_rules (
    call_id   INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    rules     TEXT NOT NULL,
    read_from TEXT NOT NULL,
    read_at   TEXT NOT NULL
);
