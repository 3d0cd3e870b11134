//! The spreadsheet-level methods of the Sheets API v4 beyond `spreadsheets.get`:
//! `spreadsheets.getByDataFilter`, `spreadsheets.batchUpdate` (the developer-metadata requests
//! `createDeveloperMetadata` and `deleteDeveloperMetadata`), `spreadsheets.developerMetadata.get`
//! and `.search` (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/batchUpdate>,
//! <https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.developerMetadata/search>).
//!
//! Every REST caller here is another developer project than the one that wrote `PROJECT`-visible
//! metadata (Apps Script writes through [`crate::Emulator::add_developer_metadata_as`]), so only
//! `DOCUMENT`-visible entries are seen, found or deleted, as Google does for a project that did
//! not create them. Other `batchUpdate` requests are refused with 400 (not implemented), and so is
//! the whole batch: Google applies a batch all or nothing.

use serde_json::{Value, json};

use crate::google::devmeta::{DeveloperMetadata, Location, Visibility};
use crate::google::error::{GoogleError, bad_request, not_found};
use crate::google::spreadsheet::Spreadsheet;
use crate::google::values::spreadsheet_json;

/// The entries a `DeveloperMetadataLookup` selects, among those visible to a REST caller.
fn lookup<'a>(
    spreadsheet: &'a Spreadsheet,
    filter: &'a Value,
) -> impl Iterator<Item = &'a DeveloperMetadata> + 'a {
    let lookup = filter.get("developerMetadataLookup");
    spreadsheet.developer_metadata.iter().filter(move |m| {
        m.visibility == Visibility::Document && lookup.is_some_and(|l| m.matches(l))
    })
}

fn lookup_filter(filter: &Value, at: &str) -> Result<(), GoogleError> {
    if filter.get("developerMetadataLookup").is_some() {
        Ok(())
    } else {
        Err(bad_request(&format!(
            "[emulated] {at}: only developerMetadataLookup filters are implemented for developer metadata"
        )))
    }
}

/// `POST {id}/developerMetadata:search`: `{"matchedDeveloperMetadata":[{developerMetadata,
/// dataFilters}]}` (no key when nothing matched).
///
/// # Errors
/// 400 for a filter other than `developerMetadataLookup`.
pub fn search(spreadsheet: &Spreadsheet, request: &Value) -> Result<Value, GoogleError> {
    let filters = request
        .get("dataFilters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut matched = Vec::new();
    for (i, filter) in filters.iter().enumerate() {
        lookup_filter(filter, &format!("dataFilters[{i}]"))?;
        for m in lookup(spreadsheet, filter) {
            matched.push(json!({"developerMetadata": m.to_json(), "dataFilters": [filter]}));
        }
    }
    Ok(if matched.is_empty() {
        json!({})
    } else {
        json!({ "matchedDeveloperMetadata": matched })
    })
}

/// `GET {id}/developerMetadata/{metadataId}`.
///
/// # Errors
/// 404 when no visible entry has that id.
pub fn get(spreadsheet: &Spreadsheet, metadata_id: &str) -> Result<Value, GoogleError> {
    let id: i32 = metadata_id.parse().map_err(|_| not_found())?;
    spreadsheet
        .developer_metadata
        .iter()
        .find(|m| m.id == id && m.visibility == Visibility::Document)
        .map(DeveloperMetadata::to_json)
        .ok_or_else(not_found)
}

/// `POST {id}:getByDataFilter`: the Spreadsheet resource (without grid data) limited to the sheets
/// the `gridRange` filters name (every sheet when none does).
pub fn get_by_data_filter(spreadsheet: &Spreadsheet, request: &Value) -> Value {
    let ids: Vec<i64> = request
        .get("dataFilters")
        .and_then(Value::as_array)
        .map(|filters| {
            filters
                .iter()
                .filter_map(|f| f.get("gridRange"))
                .map(|g| g.get("sheetId").and_then(Value::as_i64).unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    let mut out = spreadsheet_json(spreadsheet);
    if !ids.is_empty()
        && let Some(Value::Array(sheets)) = out.get_mut("sheets")
    {
        sheets.retain(|s| {
            let id = s["properties"]["sheetId"].as_i64().unwrap_or(0);
            ids.contains(&id)
        });
    }
    out
}

/// `POST {id}:batchUpdate` with developer-metadata requests only, applied all or nothing; one
/// reply per request.
///
/// # Errors
/// 400 for a request kind the emulator does not implement, or a malformed one.
pub fn batch_update(spreadsheet: &mut Spreadsheet, request: &Value) -> Result<Value, GoogleError> {
    let requests = request
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut staged = spreadsheet.developer_metadata.clone();
    let mut replies = Vec::with_capacity(requests.len());
    for (i, req) in requests.iter().enumerate() {
        let reply = if let Some(delete) = req.get("deleteDeveloperMetadata") {
            delete_metadata(spreadsheet, &mut staged, delete, i)?
        } else if let Some(create) = req.get("createDeveloperMetadata") {
            create_metadata(&mut staged, create, i)?
        } else {
            return Err(bad_request(&format!(
                "[emulated] requests[{i}]: only createDeveloperMetadata and deleteDeveloperMetadata are implemented"
            )));
        };
        replies.push(reply);
    }
    spreadsheet.developer_metadata = staged;
    Ok(json!({"spreadsheetId": spreadsheet.id, "replies": replies}))
}

fn delete_metadata(
    spreadsheet: &Spreadsheet,
    staged: &mut Vec<DeveloperMetadata>,
    delete: &Value,
    i: usize,
) -> Result<Value, GoogleError> {
    let at = format!("requests[{i}].deleteDeveloperMetadata.dataFilter");
    let filter = delete
        .get("dataFilter")
        .ok_or_else(|| bad_request(&format!("{at} is required")))?;
    lookup_filter(filter, &at)?;
    let doomed: Vec<i32> = lookup(spreadsheet, filter).map(|m| m.id).collect();
    let deleted: Vec<Value> = staged
        .iter()
        .filter(|m| doomed.contains(&m.id))
        .map(DeveloperMetadata::to_json)
        .collect();
    staged.retain(|m| !doomed.contains(&m.id));
    Ok(if deleted.is_empty() {
        json!({"deleteDeveloperMetadata": {}})
    } else {
        json!({"deleteDeveloperMetadata": {"deletedDeveloperMetadata": deleted}})
    })
}

fn create_metadata(
    staged: &mut Vec<DeveloperMetadata>,
    create: &Value,
    i: usize,
) -> Result<Value, GoogleError> {
    let m = &create["developerMetadata"];
    let key = m["metadataKey"]
        .as_str()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            bad_request(&format!(
                "requests[{i}]: Developer metadata must always have a key specified"
            ))
        })?;
    let visibility = match m["visibility"].as_str() {
        Some("DOCUMENT") => Visibility::Document,
        Some("PROJECT") => Visibility::Project,
        _ => {
            return Err(bad_request(&format!(
                "requests[{i}]: Developer metadata visibility must be specified"
            )));
        }
    };
    let location = match m["location"]["sheetId"].as_i64() {
        Some(id) => Location::Sheet(i32::try_from(id).unwrap_or(0)),
        None => Location::Spreadsheet,
    };
    let entry = DeveloperMetadata {
        id: next_id(staged),
        key: key.to_string(),
        value: m["metadataValue"].as_str().map(str::to_string),
        visibility,
        location,
    };
    let reply = json!({"createDeveloperMetadata": {"developerMetadata": entry.to_json()}});
    staged.push(entry);
    Ok(reply)
}

/// A fresh positive `metadataId` (one more than the largest in use).
pub fn next_id(entries: &[DeveloperMetadata]) -> i32 {
    entries.iter().map(|m| m.id).max().unwrap_or(1_000_000) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spreadsheet() -> Spreadsheet {
        let mut s = Spreadsheet {
            id: "s".into(),
            ..Default::default()
        };
        for (id, value, visibility) in [
            (1, "n1", Visibility::Document),
            (2, "n2", Visibility::Document),
            (3, "n1", Visibility::Project),
        ] {
            s.developer_metadata.push(DeveloperMetadata {
                id,
                key: "proof".into(),
                value: Some(value.into()),
                visibility,
                location: Location::Spreadsheet,
            });
        }
        s
    }

    #[test]
    fn a_delete_by_lookup_removes_and_reports_the_visible_matches_only() {
        let mut s = spreadsheet();
        let filter =
            json!({"developerMetadataLookup": {"metadataKey": "proof", "metadataValue": "n1"}});
        let req = json!({"requests": [{"deleteDeveloperMetadata": {"dataFilter": filter}}]});
        let out = batch_update(&mut s, &req).unwrap();
        let deleted = &out["replies"][0]["deleteDeveloperMetadata"]["deletedDeveloperMetadata"];
        assert_eq!(deleted.as_array().unwrap().len(), 1);
        assert_eq!(deleted[0]["metadataId"], 1);
        assert_eq!(
            s.developer_metadata.len(),
            2,
            "the PROJECT entry is not seen"
        );
        let again = batch_update(&mut s, &req).unwrap();
        assert_eq!(again["replies"][0], json!({"deleteDeveloperMetadata": {}}));
        let found = search(
            &s,
            &json!({"dataFilters": [{"developerMetadataLookup": {"metadataKey": "proof"}}]}),
        )
        .unwrap();
        assert_eq!(
            found["matchedDeveloperMetadata"].as_array().unwrap().len(),
            1
        );
        assert!(get(&s, "3").is_err());
    }

    #[test]
    fn a_batch_with_an_unknown_request_changes_nothing() {
        let mut s = spreadsheet();
        let req = json!({"requests": [
            {"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {"metadataKey": "proof"}}}},
            {"addSheet": {}},
        ]});
        assert!(batch_update(&mut s, &req).is_err());
        assert_eq!(s.developer_metadata.len(), 3);
    }
}
