//! The handles of the spreadsheet layer ([`Spreadsheets`]), built once by whoever owns the
//! clients (`jobs::Services::spreadsheets`) and handed to `chat` by the app.

use std::sync::Arc;

use almanac_core::catalog::Catalog;
use almanac_sheets::SheetsClient;
use almanac_store::Store;

use crate::auth::access::AccessKeys;
use crate::config::SpendingSettings;

/// The handles the spreadsheet layer works with: cheap to clone (a pool, two `Arc`s, a key, four settings).
#[derive(Clone)]
pub struct Spreadsheets {
    /// The database (budgets, jobs' and chat runs' spending, admission).
    pub store: Store,
    /// Google Sheets, as the service account.
    pub sheets: Arc<SheetsClient>,
    /// Known models and prices (what this month's spending cost).
    pub catalog: &'static Catalog,
    /// The secret of access challenges and proofs.
    pub access: AccessKeys,
    /// The operator's caps on spending (per user, in all, the spreadsheets' default budget).
    pub spending: SpendingSettings,
}
