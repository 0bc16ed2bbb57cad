-- Epoch fencing of the once-only jobs (cluster::fence): the epoch a leased job's write ran
-- under is kept on its rows (NULL on a single node, which holds no lease).
ALTER TABLE feedback_events ADD COLUMN lease_epoch INTEGER;
ALTER TABLE certificates ADD COLUMN lease_epoch INTEGER;
