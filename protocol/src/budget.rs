//! A spreadsheet's monthly budget (`GET/PUT /api/v1/spreadsheets/{spreadsheet_id}/budget`):
//! [`Budget`] and the body that sets it, [`SetBudgetRequest`].

use serde::{Deserialize, Serialize};

/// `GET/PUT /api/v1/spreadsheets/{spreadsheet_id}/budget`: a spreadsheet's monthly budget and
/// what this calendar month (UTC) has used of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    /// The spreadsheet's `spreadsheetId`.
    pub spreadsheet_id: String,
    /// The monthly budget in US dollars; `None` means no budget.
    pub monthly_usd: Option<f64>,
    /// The month counted, `YYYY-MM` (UTC).
    pub month: String,
    /// This month's jobs and chat turns: actual cost of finished requests and turns plus the
    /// estimate of those still to run, USD.
    pub committed_usd: f64,
    /// `monthly_usd − committed_usd`, when there is a budget (may be negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_usd: Option<f64>,
}

/// The body of `PUT /api/v1/spreadsheets/{spreadsheet_id}/budget`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetBudgetRequest {
    /// US dollars per calendar month (UTC), `>= 0`; `null` removes the budget.
    pub monthly_usd: Option<f64>,
}
