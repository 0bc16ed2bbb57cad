-- Where a work or lead came from (issue 15): 'online' (a partner's 报送 form in the
-- dashboard), 'table' (a unit's 信息采集表 in the notice's key–value layout: .docx, .xlsx or
-- .csv) or 'spreadsheet' (a one-row-per-work CSV/XLSX). NULL for records made before.
ALTER TABLE works ADD COLUMN source TEXT;
ALTER TABLE leads ADD COLUMN source TEXT;
