-- Live windows' recordings in the as-run (issue 11's gaps): the recording of a live airing,
-- added once the recording is finished (moments after the airing's end): the window's
-- directory name under `[recording] dir` (never an absolute path), the segments it holds and
-- its bytes on disk as `GET /api/v1/recordings` lists them. NULL: not a recorded live airing.

ALTER TABLE asrun ADD COLUMN recording TEXT;
ALTER TABLE asrun ADD COLUMN recording_segments BIGINT;
ALTER TABLE asrun ADD COLUMN recording_bytes BIGINT;
