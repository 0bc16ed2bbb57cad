-- Loudness on air (issue 13): the correction the air plan gave an airing, milli-dB
-- (the edition's target less the item's measured integrated loudness); NULL when none was
-- applied (an unmeasured item, a slate, a live feed, or a row from before corrections).

ALTER TABLE asrun ADD COLUMN gain_mdb BIGINT;
