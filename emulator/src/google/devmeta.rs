//! Developer metadata as the Sheets API keeps it
//! (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.developerMetadata>):
//! a key, an optional value, a visibility (`DOCUMENT`: any project with access to the document;
//! `PROJECT`: the project that wrote it) and a location (the spreadsheet, or a sheet), and the
//! `DeveloperMetadataLookup` of a `DataFilter` that selects it. Plain data: this module uses no
//! other module of the crate.

use serde_json::{Value, json};

/// Who may see a metadata entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// `DOCUMENT`: any developer project with access to the document.
    Document,
    /// `PROJECT`: only the developer project that created it.
    Project,
}

impl Visibility {
    /// The enum's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Document => "DOCUMENT",
            Visibility::Project => "PROJECT",
        }
    }
}

/// Where a metadata entry is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The spreadsheet itself (`locationType: SPREADSHEET`).
    Spreadsheet,
    /// A sheet, by `sheetId` (`locationType: SHEET`).
    Sheet(i32),
}

/// One developer metadata entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeveloperMetadata {
    /// `metadataId`, unique in the spreadsheet, positive.
    pub id: i32,
    /// `metadataKey`.
    pub key: String,
    /// `metadataValue`.
    pub value: Option<String>,
    /// `visibility`.
    pub visibility: Visibility,
    /// `location`.
    pub location: Location,
}

impl DeveloperMetadata {
    /// The `DeveloperMetadata` resource.
    pub fn to_json(&self) -> Value {
        let location = match self.location {
            Location::Spreadsheet => json!({"locationType": "SPREADSHEET", "spreadsheet": true}),
            Location::Sheet(id) => json!({"locationType": "SHEET", "sheetId": id}),
        };
        let mut out = json!({
            "metadataId": self.id,
            "metadataKey": self.key,
            "location": location,
            "visibility": self.visibility.as_str(),
        });
        if let Some(value) = &self.value {
            out["metadataValue"] = json!(value);
        }
        out
    }

    /// Whether a `DeveloperMetadataLookup` selects this entry: every field the lookup sets must
    /// match (`metadataId`, `metadataKey`, `metadataValue`, `visibility`, `locationType`,
    /// `metadataLocation.spreadsheet` / `.sheetId`); a lookup that sets none selects nothing.
    pub fn matches(&self, lookup: &Value) -> bool {
        let Some(fields) = lookup.as_object() else {
            return false;
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str);
        let checks = [
            fields
                .get("metadataId")
                .and_then(Value::as_i64)
                .map(|id| id == i64::from(self.id)),
            text("metadataKey").map(|k| k == self.key),
            text("metadataValue").map(|v| Some(v) == self.value.as_deref()),
            text("visibility").map(|v| v == self.visibility.as_str()),
            text("locationType").map(|t| t == self.location_type()),
            fields
                .get("metadataLocation")
                .map(|l| self.location_matches(l)),
        ];
        checks.iter().any(Option::is_some) && checks.iter().flatten().all(|ok| *ok)
    }

    fn location_type(&self) -> &'static str {
        match self.location {
            Location::Spreadsheet => "SPREADSHEET",
            Location::Sheet(_) => "SHEET",
        }
    }

    fn location_matches(&self, location: &Value) -> bool {
        match (
            self.location,
            location.get("sheetId").and_then(Value::as_i64),
        ) {
            (Location::Sheet(id), Some(want)) => i64::from(id) == want,
            (Location::Spreadsheet, None) => location.get("spreadsheet") == Some(&json!(true)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_matches_on_every_field_it_sets_and_an_empty_one_on_nothing() {
        let m = DeveloperMetadata {
            id: 7,
            key: "k".into(),
            value: Some("v".into()),
            visibility: Visibility::Document,
            location: Location::Spreadsheet,
        };
        assert!(m.matches(&json!({"metadataKey": "k", "metadataValue": "v"})));
        assert!(m.matches(&json!({"metadataId": 7})));
        assert!(m.matches(
            &json!({"metadataKey": "k", "locationType": "SPREADSHEET", "visibility": "DOCUMENT"})
        ));
        assert!(!m.matches(&json!({"metadataKey": "k", "metadataValue": "w"})));
        assert!(!m.matches(&json!({"metadataKey": "k", "visibility": "PROJECT"})));
        assert!(!m.matches(&json!({})));
        assert_eq!(m.to_json()["location"]["locationType"], "SPREADSHEET");
    }
}
