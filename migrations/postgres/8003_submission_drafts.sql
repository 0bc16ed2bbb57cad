-- A unit's 报送 form kept as a draft (issue 15): the page's JSON as it was last saved, one
-- per unit. Times are integer ms since the Unix epoch (UTC).
CREATE TABLE submission_drafts (
    unit_id       BIGINT PRIMARY KEY,
    body          TEXT   NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
