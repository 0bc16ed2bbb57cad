-- Epoch fencing of the once-only jobs (cluster::fence): a write of the lease holder carries
-- the epoch it ran under, checked against node_leases in the same transaction. The epoch is
-- kept on the rows it wrote (NULL: a single node, a form or an upload — not a leased job).
ALTER TABLE feedback_events ADD COLUMN lease_epoch BIGINT;
ALTER TABLE certificates ADD COLUMN lease_epoch BIGINT;
