-- Issue 13: every stream of a probed file, in words for people (the whole report stays in
-- probe_json): the picture's codec, size, bit depth, chroma, scan, field order and rotation,
-- then every audio stream with its channels and layout.
ALTER TABLE media_files ADD COLUMN streams TEXT;
