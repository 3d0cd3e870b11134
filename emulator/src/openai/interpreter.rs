//! The emulated code interpreter (<https://platform.openai.com/docs/guides/tools-code-interpreter>):
//! when the model decides to analyze ([`crate::openai::model`] rule 3), this runs the canned
//! [`crate::openai::analysis`] on the container's first `.csv` file, writes the PNG chart
//! ([`crate::openai::chart`]) into the container as `/mnt/data/events_per_decade.png`
//! (`source: "assistant"`, replacing an earlier one), and returns the output items: a
//! `code_interpreter_call` (`id` `ci_…`, `status: "completed"`, `container_id`, `code`,
//! `outputs: [{"type":"logs","logs"}]`) and the answering `message`.
//!
//! The container is the tool's `cntr_…` id, else (`"auto"`) the container of the latest
//! `code_interpreter_call` in the context when it still exists, else a new one holding copies of
//! the tool's `file_ids`. Without a CSV, or when the CSV has no year column or no years, the call's
//! logs and the message say so and no chart is written.

use serde_json::{Value, json};

use crate::openai::analysis::{self, DecadeCounts};
use crate::openai::containers;
use crate::openai::model::message_item;
use crate::openai::tools::ContainerSpec;
use crate::state::State;

/// Name of the chart file the analysis writes.
pub const CHART_FILENAME: &str = "events_per_decade.png";

/// The container to run in (see the module docs).
fn container_for(state: &mut State, spec: &ContainerSpec, context: &[Value]) -> String {
    match spec {
        ContainerSpec::Id(id) => id.clone(),
        ContainerSpec::Auto {
            file_ids,
            memory_limit,
        } => {
            let earlier = context
                .iter()
                .rev()
                .filter(|i| i["type"] == "code_interpreter_call")
                .filter_map(|i| i["container_id"].as_str())
                .find(|id| state.containers.contains_key(*id));
            match earlier {
                Some(id) => id.to_string(),
                None => containers::create(state, "code-interpreter-auto", memory_limit, file_ids)
                    .unwrap_or_else(|_| String::new()),
            }
        }
    }
}

fn call_item(container_id: &str, code: &str, logs: &str) -> Value {
    json!({
        "type": "code_interpreter_call",
        "id": crate::openai::wire::new_id("ci_"),
        "status": "completed",
        "container_id": container_id,
        "code": code,
        "outputs": [{"type": "logs", "logs": logs}],
    })
}

/// `the 1940s` / `the 1940s and 1950s`.
fn decades_phrase(decades: &[i64]) -> String {
    let names: Vec<String> = decades.iter().map(|d| format!("{d}s")).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("the {one}"),
        [init @ .., last] => format!("the {} and {last}", init.join(", ")),
    }
}

/// Writes the chart and returns the message with its `container_file_citation`.
fn chart_message(
    state: &mut State,
    container_id: &str,
    csv_name: &str,
    counts: &DecadeCounts,
) -> Value {
    let bars: Vec<(String, usize)> = counts
        .counts
        .iter()
        .map(|(d, n)| (d.to_string(), *n))
        .collect();
    let png = crate::openai::chart::bar_chart_png(&bars);
    let file_id = match state.containers.get_mut(container_id) {
        Some(c) => {
            c.files.retain(|f| f.filename() != CHART_FILENAME);
            c.add_file(CHART_FILENAME, png.into(), "assistant")
        }
        None => String::new(),
    };
    let (busiest, max) = counts.busiest();
    let link = format!("[Download the chart](sandbox:/mnt/data/{CHART_FILENAME})");
    let head = format!(
        "[emulated] Events per decade in {csv_name} (column '{}'): {}. The most events are in {} ({max} events). ",
        counts.column,
        counts.listing(),
        decades_phrase(&busiest),
    );
    let start = head.chars().count();
    let annotation = json!({
        "type": "container_file_citation",
        "container_id": container_id,
        "file_id": file_id,
        "filename": CHART_FILENAME,
        "start_index": start,
        "end_index": start + link.chars().count(),
    });
    message_item(&format!("{head}{link}"), vec![annotation])
}

/// Moves every `container_file_citation` of `output`'s messages to a copy of its file in a new
/// container (the [`ResponseFaultKind::ForeignCitation`](crate::ResponseFaultKind) fault).
pub(crate) fn cite_elsewhere(state: &mut State, output: &mut [Value]) {
    let citations = output
        .iter_mut()
        .filter(|i| i["type"] == "message")
        .filter_map(|i| i["content"][0]["annotations"].as_array_mut())
        .flatten()
        .filter(|a| a["type"] == "container_file_citation");
    for a in citations {
        let (Some(from), Some(file_id)) = (a["container_id"].as_str(), a["file_id"].as_str())
        else {
            continue;
        };
        let file = state
            .containers
            .get(from)
            .and_then(|c| c.files.iter().find(|f| f.id == file_id))
            .map(|f| (f.filename().to_string(), f.content.clone()));
        let Some((name, content)) = file else {
            continue;
        };
        let Ok(other) = containers::create(state, "elsewhere", "1g", &[]) else {
            continue;
        };
        if let Some(c) = state.containers.get_mut(&other) {
            a["file_id"] = json!(c.add_file(&name, content, "assistant"));
            a["container_id"] = json!(other);
        }
    }
}

/// Runs the analysis and returns the output items (see the module docs).
pub(crate) fn run(state: &mut State, spec: &ContainerSpec, context: &[Value]) -> Vec<Value> {
    let container_id = container_for(state, spec, context);
    let csv = state.containers.get(&container_id).and_then(|c| {
        c.files
            .iter()
            .find(|f| f.filename().to_lowercase().ends_with(".csv"))
            .map(|f| (f.path.clone(), f.filename().to_string(), f.content.clone()))
    });
    let chart_path = format!("/mnt/data/{CHART_FILENAME}");
    let Some((path, name, content)) = csv else {
        let code = "# [emulated]\nimport os\nprint(os.listdir('/mnt/data'))";
        return vec![
            call_item(
                &container_id,
                code,
                "[emulated] no .csv file in /mnt/data\n",
            ),
            message_item(
                "[emulated] I found no CSV file in the container to analyze.",
                vec![],
            ),
        ];
    };
    let counts = analysis::decades(&String::from_utf8_lossy(&content));
    let column = counts
        .as_ref()
        .map(|c| c.column.clone())
        .unwrap_or_else(|_| "year".into());
    let code = analysis::python_code(&path, &column, &chart_path);
    match counts {
        Err(why) => vec![
            call_item(&container_id, &code, &format!("[emulated] {why}\n")),
            message_item(
                &format!("[emulated] I could not analyze {name}: {why}."),
                vec![],
            ),
        ],
        Ok(counts) if counts.with_year == 0 => vec![
            call_item(&container_id, &code, &counts.logs()),
            message_item(
                &format!(
                    "[emulated] The column '{}' of {name} has no years to count.",
                    counts.column
                ),
                vec![],
            ),
        ],
        Ok(counts) => {
            let call = call_item(&container_id, &code, &counts.logs());
            let message = chart_message(state, &container_id, &name, &counts);
            vec![call, message]
        }
    }
}
