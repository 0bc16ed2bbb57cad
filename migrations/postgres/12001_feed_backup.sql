-- A live feed's backup clip (issue 11): what fills the air instead of the slate while the
-- feed is down, looped — a catalog work (its accepted file, resolved each time the air plan
-- reads the days) or a file path on the playout machine. At most one of the two is set;
-- both NULL: the slate, as before.

ALTER TABLE live_feeds ADD COLUMN backup_work_id BIGINT REFERENCES works (id);
ALTER TABLE live_feeds ADD COLUMN backup_path TEXT;
