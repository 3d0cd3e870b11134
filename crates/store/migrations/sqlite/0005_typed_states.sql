-- Typed states: why a row failed is a code programs read (`failure_code`, an
-- almanac_protocol::FailureCode in snake_case) beside the reason people read; a batch's validation
-- errors are a JSON list of {line, code, message, param} as OpenAI sent them. No decision reads a
-- reason text any more. Job, batch and row states were already stored as their snake_case names.

ALTER TABLE job_rows ADD COLUMN failure_code TEXT;     -- set on failed rows only

-- Rows that failed before this migration: their code is recovered once, here, from the texts the
-- earlier versions wrote (the only place that ever reads a reason). A failed row whose text is not
-- recognised gets `request_error` when it was sent (retryable, as before) and `id_invalid` when it
-- never was (not retryable, as before).
UPDATE job_rows SET failure_code = CASE
    WHEN reason LIKE 'not sent:%cancel%' THEN 'not_sent_cancelled'
    WHEN reason LIKE 'not sent:%max_cost_usd%' OR reason LIKE 'not sent:%cap of%' THEN 'not_sent_over_cap'
    WHEN reason LIKE 'not sent:%' THEN 'not_sent_refused'
    WHEN reason LIKE 'cancelled before it was sent%' THEN 'not_sent_cancelled'
    WHEN reason LIKE '%batch_expired%' THEN 'batch_expired'
    WHEN reason LIKE '%batch_cancelled%' OR reason LIKE 'cancelled before this row%' THEN 'batch_cancelled'
    WHEN reason LIKE 'OpenAI rejected this row''s request%' THEN 'line_invalid'
    WHEN reason LIKE 'OpenAI rejected the batch%' THEN 'batch_rejected'
    WHEN reason LIKE 'OpenAI returned no result%' OR reason LIKE 'OpenAI returned neither%' THEN 'no_response'
    WHEN reason LIKE 'OpenAI kept failing after%' THEN 'retries_exhausted'
    WHEN reason LIKE 'the id in column A is empty%' THEN 'id_missing'
    WHEN reason LIKE 'the id in column A%' THEN 'id_invalid'
    WHEN reason LIKE 'the title in column B is empty%' THEN 'title_missing'
    WHEN reason LIKE 'the title in column B is longer%' THEN 'title_too_long'
    WHEN reason LIKE 'id % appears on rows % of the selection%' THEN 'id_duplicated'
    WHEN reason LIKE '%is no longer in column A%' THEN 'id_not_in_sheet'
    WHEN reason LIKE '%appears in rows%' THEN 'id_duplicated_in_sheet'
    WHEN reason LIKE '%characters for column%' THEN 'value_too_long'
    WHEN reason LIKE 'the model refused%' THEN 'refusal'
    WHEN reason LIKE 'the answer was cut off%' THEN 'truncated'
    WHEN reason LIKE '%content filter%' THEN 'content_filter'
    WHEN reason LIKE '%has no answer%' OR reason LIKE '%answer is empty%' THEN 'empty_answer'
    WHEN reason LIKE '%answer has no%field%' THEN 'missing_field'
    WHEN reason LIKE '%not JSON%' OR reason LIKE '%not valid JSON%' THEN 'invalid_json'
    WHEN batch IS NOT NULL OR requests > 0 THEN 'request_error'
    ELSE 'id_invalid'
END
WHERE state = 'failed';

-- Validation errors were one human line each (`line 3: code: message`); they become one JSON
-- entry holding that text as its message (their line numbers only mattered while collecting, which
-- earlier versions did before writing this text).
UPDATE batches SET errors = json_array(json_object('message', errors))
WHERE errors IS NOT NULL AND json_valid(errors) = 0;

CREATE INDEX job_rows_by_failure ON job_rows (job_id, state, failure_code);
