//! Tests of the output module: recorded and documented lines, every row error, chunked files,
//! and the fast path of a line and of an answer agreeing with the `Value` reading.

use super::content::content_as_value;
use super::line::{parse_line, read_as_value};
use super::*;
use serde_json::Value;

const SAMPLE_OUTPUT: &str = include_str!(
    "../../../../fixtures/reference/openai-batch/sample-output-chat-completions.jsonl"
);
const GUIDE: &str = include_str!("../../../../fixtures/reference/openai-batch/guide-examples.md");

/// The guide's lines under a `## …` heading.
fn guide_lines(heading: &str) -> Vec<&'static str> {
    GUIDE
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading}"))
        .lines()
        .filter(|l| l.starts_with('{'))
        .collect()
}

/// A real recorded success line with its content replaced by `content`.
fn recorded_line_with_content(content: &str) -> String {
    let mut v: Value = serde_json::from_str(SAMPLE_OUTPUT.lines().next().unwrap()).unwrap();
    v["response"]["body"]["choices"][0]["message"]["content"] = Value::String(content.into());
    v["custom_id"] = Value::String("04-01".into());
    v.to_string()
}

const GOOD: &str = r#"{"year":"1945","simple":"오키나와 전투가 시작되었다.","detail":"1945년 4월 1일 미군이 오키나와에 상륙했다.","related_movies":"핵소 고지"}"#;

#[test]
fn the_recorded_sample_output_lines_parse_with_their_custom_ids_and_usage() {
    let lines: Vec<ParsedLine> = parse_file(SAMPLE_OUTPUT.as_bytes())
        .map(Result::unwrap)
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].custom_id, "request-1");
    assert_eq!(
        lines[0].usage,
        Some(Usage {
            prompt_tokens: 20,
            completion_tokens: 10,
            cached_tokens: 0,
            reasoning_tokens: 0
        })
    );
    // request-1's content is prose, not our JSON object.
    let err = lines[0].outcome.as_ref().unwrap_err();
    assert_eq!(err.code, "invalid_json");
    assert!(
        err.message
            .starts_with("the model's answer is not valid JSON: "),
        "{}",
        err.message
    );
    assert!(err.message.contains("Hello! How can I assist you today?"));
    assert!(err.is_retryable());
    // request-2 stopped at max_tokens.
    assert_eq!(lines[1].custom_id, "request-2");
    let err = lines[1].outcome.as_ref().unwrap_err();
    assert_eq!(err.code, "truncated");
    assert!(
        err.message
            .contains("the answer was cut off (finish_reason: length) after 10 tokens"),
        "{}",
        err.message
    );
}

#[test]
fn the_guides_out_of_order_output_is_matched_by_custom_id_not_position() {
    let lines = guide_lines("Output file");
    assert_eq!(lines.len(), 2);
    let joined = lines.join("\n");
    let results = collect_results(Some(joined.as_bytes()), None);
    assert!(results.bad_lines.is_empty());
    // request-2 comes first in the file; its own usage must stay with it.
    assert_eq!(
        results.by_custom_id["request-1"]
            .usage
            .unwrap()
            .prompt_tokens,
        20
    );
    assert_eq!(
        results.by_custom_id["request-2"]
            .usage
            .unwrap()
            .prompt_tokens,
        22
    );
    let first_in_file = parse_file(joined.as_bytes()).next().unwrap().unwrap();
    assert_eq!(first_in_file.custom_id, "request-2");
}

#[test]
fn the_guides_expired_lines_become_retryable_row_errors() {
    let lines = guide_lines("Error file lines for an EXPIRED batch");
    assert_eq!(lines.len(), 2);
    for line in lines {
        let parsed = parse_line(line).unwrap();
        assert!(parsed.custom_id == "request-3" || parsed.custom_id == "request-7");
        assert_eq!(parsed.usage, None);
        let err = parsed.outcome.unwrap_err();
        assert_eq!(err.code, "batch_expired");
        assert_eq!(
            err.message,
            "the batch expired before this row was processed (batch_expired); retry the row"
        );
        assert!(err.is_retryable());
    }
}

#[test]
fn a_valid_answer_becomes_the_four_columns() {
    let parsed = parse_line(&recorded_line_with_content(GOOD)).unwrap();
    assert_eq!(parsed.custom_id, "04-01");
    let g = parsed.outcome.unwrap();
    assert_eq!(g.year, "1945");
    assert_eq!(g.simple, "오키나와 전투가 시작되었다.");
    assert_eq!(g.related_movies, "핵소 고지");
    assert!(parsed.usage.is_some());
}

#[test]
fn a_status_400_line_reports_openais_message() {
    let line = r#"{"id":"batch_req_1","custom_id":"r9","response":{"status_code":400,"request_id":"req_1","body":{"error":{"message":"Invalid value: 'gpt-9'.","type":"invalid_request_error","param":"model","code":"invalid_value"}}},"error":null}"#;
    let parsed = parse_line(line).unwrap();
    assert_eq!(parsed.custom_id, "r9");
    let err = parsed.outcome.unwrap_err();
    assert_eq!(err.code, "http_400");
    assert_eq!(
        err.message,
        "OpenAI refused the request (400 invalid_value): Invalid value: 'gpt-9'."
    );
    assert!(!err.is_retryable());
}

#[test]
fn a_status_429_line_is_retryable() {
    let line = r#"{"id":"b","custom_id":"r1","response":{"status_code":429,"request_id":"x","body":{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}},"error":null}"#;
    let err = parse_line(line).unwrap().outcome.unwrap_err();
    assert_eq!(err.code, "http_429");
    assert!(err.is_retryable());
    assert!(err.message.ends_with("; retry the row"), "{}", err.message);
}

#[test]
fn a_cancelled_line_says_so() {
    let line = r#"{"id":"b","custom_id":"r1","response":null,"error":{"code":"batch_cancelled","message":"This request was cancelled."}}"#;
    let err = parse_line(line).unwrap().outcome.unwrap_err();
    assert_eq!(err.code, "batch_cancelled");
    assert!(
        err.message
            .contains("cancelled before this row was processed")
    );
}

#[test]
fn a_refusal_is_reported_as_such() {
    let mut v: Value = serde_json::from_str(&recorded_line_with_content(GOOD)).unwrap();
    v["response"]["body"]["choices"][0]["message"]["content"] = Value::Null;
    v["response"]["body"]["choices"][0]["message"]["refusal"] =
        Value::String("I can't help with that.".into());
    let err = parse_line(&v.to_string()).unwrap().outcome.unwrap_err();
    assert_eq!(err.code, "refusal");
    assert_eq!(
        err.message,
        "the model refused to answer: I can't help with that."
    );
    assert!(!err.is_retryable());
}

#[test]
fn a_missing_field_is_named() {
    let err = parse_content(r#"{"year":"1945","simple":"s","related_movies":""}"#).unwrap_err();
    assert_eq!(err.code, "missing_field");
    assert_eq!(err.message, "the model's answer has no `detail` field");
    let err = parse_content(r#"{"year":"1945"}"#).unwrap_err();
    assert_eq!(
        err.message,
        "the model's answer has no `simple`, `detail`, `related_movies` fields"
    );
}

#[test]
fn invalid_json_content_is_reported_with_its_beginning() {
    let err = parse_content(r#"{"year": "1945", "simple": "unterminated"#).unwrap_err();
    assert_eq!(err.code, "invalid_json");
    assert!(
        err.message
            .starts_with("the model's answer is not valid JSON: ")
    );
    assert!(err.message.contains("unterminated"));
    let err = parse_content("[1, 2]").unwrap_err();
    assert_eq!(err.code, "invalid_json");
    assert!(err.message.contains("not an object"));
}

#[test]
fn a_numeric_year_is_accepted_as_text_but_other_non_text_fields_are_not() {
    let g =
        parse_content(r#"{"year":1945,"simple":" s ","detail":"d","related_movies":""}"#).unwrap();
    assert_eq!(g.year, "1945");
    assert_eq!(g.simple, "s");
    let g = parse_content(r#"{"year":-44,"simple":"s","detail":"d","related_movies":""}"#).unwrap();
    assert_eq!(g.year, "-44");
    let err =
        parse_content(r#"{"year":"1945","simple":"s","detail":"d","related_movies":["a","b"]}"#)
            .unwrap_err();
    assert_eq!(err.code, "invalid_field");
    assert_eq!(
        err.message,
        "the model's answer has a `related_movies` field that is not text (a list)"
    );
    let err = parse_content(r#"{"year":1945.5,"simple":"s","detail":"d","related_movies":""}"#)
        .unwrap_err();
    assert_eq!(err.code, "invalid_field");
}

#[test]
fn a_code_fenced_answer_is_tolerated() {
    let fenced = format!("```json\n{GOOD}\n```");
    assert_eq!(
        parse_content(&fenced).unwrap(),
        parse_content(GOOD).unwrap()
    );
}

#[test]
fn a_line_without_custom_id_or_not_json_is_a_line_error_with_its_number() {
    assert!(parse_line(r#"{"id":"x","response":null,"error":null}"#).is_err());
    let file = format!(
        "{}\n\n   \nnot json\n{{\"custom_id\":5}}\n",
        recorded_line_with_content(GOOD)
    );
    let items: Vec<_> = parse_file(file.as_bytes()).collect();
    assert_eq!(items.len(), 3, "blank lines are skipped");
    assert!(items[0].is_ok());
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.line, Some(4));
    assert!(e.to_string().starts_with("line 4: not a JSON line"), "{e}");
    assert_eq!(items[2].as_ref().unwrap_err().line, Some(5));
}

#[test]
fn lines_cut_anywhere_by_chunks_come_out_as_from_the_whole_file() {
    let file = format!(
        "{}\r\n\n  \nnot json\nBADbad\n{}",
        recorded_line_with_content(GOOD),
        guide_lines("Error file")[0]
    );
    let mut bytes = file.into_bytes();
    let bad = bytes.windows(3).position(|w| w == b"BAD").unwrap();
    bytes[bad] = 0xFF;
    let whole: Vec<_> = parse_file(&bytes).collect();
    for size in [1, 2, 7, 64, bytes.len()] {
        let mut splitter = LineSplitter::new();
        let mut got = Vec::new();
        let mut each = |line: Result<(usize, &str), LineError>| {
            got.push(line.and_then(|(n, text)| parse_numbered(n, text)));
            Ok::<(), ()>(())
        };
        for chunk in bytes.chunks(size) {
            splitter.push(chunk, &mut each).unwrap();
        }
        splitter.finish(&mut each).unwrap();
        assert_eq!(got, whole, "chunks of {size}");
    }
    assert_eq!(whole.len(), 4);
}

#[test]
fn windows_line_endings_are_accepted() {
    let file = format!(
        "{}\r\n{}\r\n",
        recorded_line_with_content(GOOD),
        guide_lines("Error file")[0]
    );
    let items: Vec<_> = parse_file(file.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(items.len(), 2);
}

#[test]
fn output_and_error_files_merge_by_custom_id_and_a_success_wins() {
    let ok = recorded_line_with_content(GOOD);
    let expired = r#"{"id":"b","custom_id":"04-01","response":null,"error":{"code":"batch_expired","message":"x"}}"#;
    let other = r#"{"id":"b","custom_id":"01-27","response":null,"error":{"code":"batch_expired","message":"x"}}"#;
    let errors = format!("{expired}\n{other}\n");
    let results = collect_results(Some(ok.as_bytes()), Some(errors.as_bytes()));
    assert_eq!(results.by_custom_id.len(), 2);
    assert!(results.by_custom_id["04-01"].outcome.is_ok());
    assert_eq!(
        results.by_custom_id["01-27"]
            .outcome
            .as_ref()
            .unwrap_err()
            .code,
        "batch_expired"
    );
    // A batch whose every request failed has only an error file.
    let only_errors = collect_results(None, Some(errors.as_bytes()));
    assert_eq!(only_errors.by_custom_id.len(), 2);
    assert!(
        only_errors
            .by_custom_id
            .values()
            .all(|p| p.outcome.is_err())
    );
}

#[test]
fn lines_read_as_typed_structs_come_out_as_lines_read_as_values() {
    let ok = recorded_line_with_content(GOOD);
    let weird = [
        ok.clone(),
        ok.replace("\"status_code\":200", "\"status_code\":200.0"),
        ok.replace("\"usage\":{", "\"usage\":{\"prompt_tokens\":\"9\",\"x\":{"),
        r#"{"custom_id":"a","response":[200,{"choices":[]}],"error":null}"#.into(),
        r#"{"custom_id":"a","response":{"status_code":200,"body":{"choices":[5]}}}"#.into(),
        r#"{"custom_id":"a","response":{"status_code":200,"body":{"choices":[{"message":{"content":["x"]}}]}}}"#.into(),
        r#"{"custom_id":"a","custom_id":"b","response":null,"error":{"code":"batch_expired"}}"#.into(),
        r#"{"custom_id":"a","error":"boom"}"#.into(),
        r#"{"custom_id":"a","response":{"status_code":503,"body":{"error":{"type":"server_error","message":"m"}}}}"#.into(),
        r#"{"custom_id":"a","response":{"status_code":200,"body":null}}"#.into(),
        r#"[{"custom_id":"a"}]"#.into(),
        r#"{"custom_id":null}"#.into(),
    ];
    for line in &weird {
        assert_eq!(parse_line_and_model(line), read_as_value(line), "{line}");
    }
    let contents = [
        GOOD,
        r#"["1945","s","d","m"]"#,
        r#"{"year":1945,"simple":" s ","detail":"d","related_movies":""}"#,
        r#"{"year":1945.5,"simple":"s","detail":"d","related_movies":""}"#,
        r#"{"year":"1","year":"2","simple":"s","detail":"d","related_movies":""}"#,
        r#"{"year":"1","simple":"s","detail":null,"related_movies":""}"#,
    ];
    for content in contents {
        let line = recorded_line_with_content(content);
        assert_eq!(
            parse_line_and_model(&line),
            read_as_value(&line),
            "{content}"
        );
        assert_eq!(
            parse_content(content),
            content_as_value(content),
            "{content}"
        );
    }
}
