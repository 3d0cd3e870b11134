-- Where a job's answers go, as typed columns (`records::Destination`): `destination` is `sheet`
-- (the sheet `spreadsheet_id` + `sheet_id`) or `file` (an events file of `almanac run`, at
-- `file_path`: the file its rows were read from; its `file_targets` row says where the result is
-- written). A file job keeps '' and 0 in the sheet's columns. Until now a file job was told apart
-- by a `spreadsheet_id` of `file:<path>`: those jobs are converted here.

ALTER TABLE jobs ADD COLUMN destination TEXT NOT NULL DEFAULT 'sheet';   -- sheet | file
ALTER TABLE jobs ADD COLUMN file_path TEXT;                              -- a file job's events file

UPDATE jobs
   SET destination = 'file', file_path = SUBSTR(spreadsheet_id, 6), spreadsheet_id = '', sheet_id = 0
 WHERE spreadsheet_id LIKE 'file:%';
