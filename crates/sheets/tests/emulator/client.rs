//! Black-box tests of `almanac_sheets::SheetsClient` against the emulator: the real google-sheets4
//! and yup-oauth2 code paths (service-account JWT → `/token` → Bearer calls) over plain http on
//! 127.0.0.1, with the emulator standing in for Google. They check the number of calls as well as
//! the cells, since "one batchGetByDataFilter to read, one batchUpdateByDataFilter to write, by
//! sheetId" is part of the contract.

use almanac_core::domain::{Generated, RowId, SpreadsheetId};
use almanac_emulator::{Emulator, EmulatorConfig};
use almanac_protocol::RowSpan;
use almanac_sheets::{
    CellBlock, GridRange, SheetsClient, SheetsError, WRITE_REQUEST_MAX_BYTES, WriteProblem, a1,
    plan_writes,
};

const HEADER: [&str; 8] = [
    "id",
    "title",
    "year",
    "content_simple",
    "content_detailed",
    "related_movies",
    "imageUrl",
    "relatedMovieId",
];

async fn start() -> (Emulator, SheetsClient) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let client = SheetsClient::new(
        &emu.service_account_key_json(),
        Some(&emu.sheets_base_url()),
    )
    .await
    .expect("client builds from the emulator's key");
    (emu, client)
}

fn sid(s: &str) -> SpreadsheetId {
    SpreadsheetId::parse(s).unwrap()
}

fn id(s: &str) -> RowId {
    RowId::parse(s).unwrap()
}

fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

fn with_header(rows: &[&[&str]]) -> Vec<Vec<String>> {
    let mut all = grid(&[&HEADER]);
    all.extend(grid(rows));
    all
}

fn generated(tag: &str) -> Generated {
    Generated {
        year: format!("{tag} year"),
        simple: format!("{tag} simple"),
        detail: format!("{tag} detail"),
        related_movies: format!("{tag} movies"),
    }
}

#[tokio::test]
async fn reads_and_writes_address_the_sheet_by_id_so_a_rename_in_between_changes_nothing() {
    let (emu, client) = start().await;
    emu.add_sheet("book-1", 0, "Cover", grid(&[&["x"]]));
    emu.add_sheet("book-1", 1234, "Events", with_header(&[&["a", "A"]]));
    let book = sid("book-1");

    let read = client.read_ids_and_outputs(&book, 1234).await.unwrap();
    assert_eq!(read.title, "Events", "the title comes back with the values");
    assert_eq!(read.rows.len(), 2);
    emu.rename_sheet("book-1", 1234, "Events (2024)");
    let plan = plan_writes(1234, &read.rows, &[(id("a"), generated("A"))], false);
    let report = client.write_blocks(&book, &plan.blocks).await.unwrap();
    assert_eq!(report.updated_ranges, ["'Events (2024)'!C2:F2"]);
    assert_eq!(emu.cell("book-1", 1234, 1, 5), "A movies");
    assert_eq!(
        emu.cell("book-1", 0, 1, 5),
        "",
        "the other sheet is untouched"
    );
    let again = client.read_ids_and_outputs(&book, 1234).await.unwrap();
    assert_eq!(again.title, "Events (2024)");

    let missing = client.read_ids_and_outputs(&book, 99).await.unwrap_err();
    assert!(
        matches!(&missing, SheetsError::Other(m) if m.contains("99")),
        "{missing:?}"
    );
    let calls = emu.calls();
    assert_eq!(calls.values_batch_get_by_data_filter, 3);
    assert_eq!(calls.values_batch_update_by_data_filter, 1);
    assert_eq!(calls.sheets(), 4, "no spreadsheets.get, no A1 call");
    assert_eq!(calls.token, 1, "the access token is cached between calls");
}

#[tokio::test]
async fn reading_spans_gives_one_row_of_eight_cells_per_requested_row_in_one_batch_get() {
    let (emu, client) = start().await;
    emu.add_sheet(
        "book-2",
        0,
        "Events",
        with_header(&[
            &["01", "Alpha", "", "", "", "", "img-01"],
            &["02", "Beta"],
            &[],
            &["04", "Delta", "1945", "s", "d", "m", "img-04", "42"],
            &["05", "Epsilon", "", "kept"],
        ]),
    );
    let spans = [
        RowSpan {
            start_row: 5,
            end_row: 6,
        },
        RowSpan {
            start_row: 2,
            end_row: 3,
        },
        RowSpan {
            start_row: 3,
            end_row: 3,
        },
        RowSpan {
            start_row: 20,
            end_row: 21,
        },
    ];
    let read = client.read_rows(&sid("book-2"), 0, &spans).await.unwrap();
    let rows = read.rows;

    assert_eq!(read.title, "Events");
    assert_eq!(emu.calls().values_batch_get_by_data_filter, 1);
    assert_eq!(emu.calls().sheets(), 1);
    let numbers: Vec<u32> = rows.iter().map(|r| r.row_number).collect();
    assert_eq!(numbers, [2, 3, 5, 6, 20, 21]);
    assert!(rows.iter().all(|r| r.cells.len() == 8));
    assert_eq!(rows[0].cells, ["01", "Alpha", "", "", "", "", "img-01", ""]);
    assert_eq!(rows[1].cells, ["02", "Beta", "", "", "", "", "", ""]);
    assert_eq!(
        rows[2].cells,
        ["04", "Delta", "1945", "s", "d", "m", "img-04", "42"]
    );
    assert_eq!(
        almanac_sheets::filled_columns(&rows[3]),
        [false, true, false, false]
    );
    assert_eq!(rows[4].cells, vec![String::new(); 8]);
}

#[tokio::test]
async fn a_sheet_titled_with_a_quote_an_emoji_and_a_cell_name_is_read_and_written() {
    let (emu, client) = start().await;
    let title = "It's 🌵 D3";
    emu.add_sheet(
        "book-3",
        7,
        title,
        with_header(&[&["a", "First"], &["b", "Second", "1990"]]),
    );
    let book = sid("book-3");

    let read = client
        .read_rows(
            &book,
            7,
            &[RowSpan {
                start_row: 2,
                end_row: 3,
            }],
        )
        .await
        .unwrap();
    assert_eq!(read.title, title);
    assert_eq!(read.rows[1].cells[..3], ["b", "Second", "1990"]);

    let current = client.read_ids_and_outputs(&book, 7).await.unwrap();
    assert_eq!(current.title, title);
    let current = current.rows;
    assert_eq!(current.len(), 3);
    assert!(current.iter().all(|r| r.cells.len() == 6));
    let plan = plan_writes(
        7,
        &current,
        &[(id("a"), generated("A")), (id("b"), generated("B"))],
        false,
    );
    let planned: Vec<String> = plan.blocks.iter().map(|b| b.range.a1(title)).collect();
    assert_eq!(planned, ["'It''s 🌵 D3'!C2:F2", "'It''s 🌵 D3'!D3:F3"]);

    let report = client.write_blocks(&book, &plan.blocks).await.unwrap();
    assert_eq!(
        report.updated_ranges, planned,
        "the API reports back exactly the ranges sent"
    );
    for range in &report.updated_ranges {
        let parsed = a1::parse_range(range).unwrap();
        assert_eq!(parsed.sheet_title.as_deref(), Some(title));
    }
    assert_eq!(emu.cell("book-3", 7, 1, 2), "A year");
    assert_eq!(emu.cell("book-3", 7, 2, 2), "1990");
    assert_eq!(emu.cell("book-3", 7, 2, 5), "B movies");
}

#[tokio::test]
async fn a_whole_job_is_written_in_one_batch_update_at_the_rows_where_the_ids_are_now() {
    let (emu, client) = start().await;
    emu.add_sheet(
        "book-4",
        0,
        "Events",
        with_header(&[
            &["08-14", "Tokyo", "", "", "", "", "img14", "m14"],
            &["08-15", "Liberation", "1945", "typed by hand"],
            &["08-16", "Other", "", "", "", "", "img16"],
        ]),
    );
    // A person inserts two rows above the data after submission.
    emu.insert_rows(
        "book-4",
        0,
        1,
        grid(&[&["new-1", "Inserted"], &["new-2", "Inserted"]]),
    );
    let book = sid("book-4");

    let current = client.read_ids_and_outputs(&book, 0).await.unwrap().rows;
    let results = [
        (id("08-14"), generated("a")),
        (id("08-15"), generated("b")),
        (id("08-16"), generated("c")),
        (id("gone"), generated("d")),
    ];
    let plan = plan_writes(0, &current, &results, false);
    assert_eq!(plan.problems, [(id("gone"), WriteProblem::IdMissing)]);

    let report = client.write_blocks(&book, &plan.blocks).await.unwrap();

    assert_eq!(emu.calls().values_batch_update_by_data_filter, 1);
    assert_eq!(report.calls, 1);
    assert_eq!(report.updated_cells, 4 + 2 + 4);
    assert_eq!(
        report.updated_ranges,
        ["Events!C4:F4", "Events!E5:F5", "Events!C6:F6"]
    );
    let rows = emu.sheet_rows("book-4", 0);
    assert_eq!(
        rows[1],
        ["new-1", "Inserted"],
        "inserted rows are untouched"
    );
    assert_eq!(
        rows[3],
        [
            "08-14", "Tokyo", "a year", "a simple", "a detail", "a movies", "img14", "m14"
        ]
    );
    assert_eq!(
        rows[4],
        [
            "08-15",
            "Liberation",
            "1945",
            "typed by hand",
            "b detail",
            "b movies"
        ]
    );
    assert_eq!(rows[5][6], "img16", "G and H are never written");
}

#[tokio::test]
async fn text_starting_with_equals_is_stored_as_text_not_as_a_formula() {
    let (emu, client) = start().await;
    emu.add_sheet("book-5", 0, "Events", with_header(&[&["f1", "Formula"]]));
    let blocks = [CellBlock {
        range: GridRange::rows(0, 2, 2, 2, 5),
        values: vec![
            "=SUM(1,2)".into(),
            "'quoted".into(),
            "=A1".into(),
            "+1".into(),
        ],
    }];
    client.write_blocks(&sid("book-5"), &blocks).await.unwrap();

    assert_eq!(emu.cell("book-5", 0, 1, 2), "=SUM(1,2)");
    assert!(!emu.cell_is_formula("book-5", 0, 1, 2));
    assert!(!emu.cell_is_formula("book-5", 0, 1, 4));
    assert_eq!(
        emu.cell("book-5", 0, 1, 3),
        "'quoted",
        "RAW keeps a leading quote"
    );
}

#[tokio::test]
async fn a_write_larger_than_the_request_bound_is_split_into_few_batch_updates() {
    let (emu, client) = start().await;
    let ids: Vec<String> = (0..600).map(|i| format!("r{i}")).collect();
    let rows: Vec<Vec<String>> = std::iter::once(HEADER.iter().map(|h| (*h).to_owned()).collect())
        .chain(ids.iter().map(|i| vec![i.clone(), "t".into()]))
        .collect();
    emu.add_sheet("book-6", 0, "Big", rows);
    let book = sid("book-6");
    let long = "가".repeat(350); // 1,050 bytes of UTF-8 per cell, 4 cells per row
    let results: Vec<(RowId, Generated)> = ids
        .iter()
        .map(|i| {
            (
                id(i),
                Generated {
                    year: long.clone(),
                    simple: long.clone(),
                    detail: long.clone(),
                    related_movies: long.clone(),
                },
            )
        })
        .collect();
    let current = client.read_ids_and_outputs(&book, 0).await.unwrap().rows;
    let plan = plan_writes(0, &current, &results, false);
    let payload: usize = plan
        .blocks
        .iter()
        .flat_map(|b| &b.values)
        .map(String::len)
        .sum();
    assert!(
        payload > WRITE_REQUEST_MAX_BYTES,
        "the test needs a large write"
    );

    let report = client.write_blocks(&book, &plan.blocks).await.unwrap();

    assert_eq!(report.calls, 2);
    assert_eq!(emu.calls().values_batch_update_by_data_filter, 2);
    assert_eq!(report.updated_cells, 600 * 4);
    assert_eq!(report.updated_ranges.len(), 600);
    assert_eq!(emu.cell("book-6", 0, 600, 5), long);
}

#[tokio::test]
async fn nothing_to_write_makes_no_call() {
    let (emu, client) = start().await;
    let report = client.write_blocks(&sid("book-7"), &[]).await.unwrap();
    assert_eq!(report.calls, 0);
    assert_eq!(emu.calls().sheets(), 0);
}

#[tokio::test]
async fn an_unknown_spreadsheet_is_not_found_and_says_whom_to_share_it_with() {
    let (emu, client) = start().await;
    let email = emu.service_account_email();
    assert_eq!(client.service_account_email(), email);

    for err in [
        client
            .take_access_proof(&sid("nope"), "k", "v")
            .await
            .unwrap_err(),
        client
            .read_rows(
                &sid("nope"),
                0,
                &[RowSpan {
                    start_row: 2,
                    end_row: 2,
                }],
            )
            .await
            .unwrap_err(),
        client
            .read_ids_and_outputs(&sid("nope"), 0)
            .await
            .unwrap_err(),
    ] {
        let SheetsError::NotFound(message) = &err else {
            panic!("expected NotFound, got {err:?}")
        };
        assert!(
            message.contains(&format!("share the sheet with {email}")),
            "{message}"
        );
        assert!(message.contains("nope"), "{message}");
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn a_spreadsheet_not_shared_with_the_service_account_is_permission_denied_naming_it() {
    let (emu, client) = start().await;
    let email = emu.service_account_email();
    emu.add_sheet("book-8", 0, "Events", with_header(&[&["a", "A"]]));
    emu.unshare("book-8", &email);
    let err = client
        .read_ids_and_outputs(&sid("book-8"), 0)
        .await
        .unwrap_err();
    let SheetsError::PermissionDenied(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains(&email), "{message}");
    let err = client
        .take_access_proof(&sid("book-8"), "k", "v")
        .await
        .unwrap_err();
    assert!(matches!(err, SheetsError::PermissionDenied(_)), "{err:?}");
}

#[tokio::test]
async fn an_access_proof_written_by_an_editor_is_found_and_deleted_in_one_call() {
    let (emu, client) = start().await;
    emu.add_sheet("book-11", 0, "Events", with_header(&[]));
    emu.share("book-11", "ada@example.com");
    let book = sid("book-11");
    assert!(
        !client
            .take_access_proof(&book, "almanac", "n-1")
            .await
            .unwrap()
    );
    emu.add_developer_metadata_as("ada@example.com", "book-11", "almanac", "n-1")
        .unwrap();
    emu.add_developer_metadata_as("ada@example.com", "book-11", "almanac", "n-2")
        .unwrap();
    assert!(
        client
            .take_access_proof(&book, "almanac", "n-1")
            .await
            .unwrap()
    );
    assert!(
        !client
            .take_access_proof(&book, "almanac", "n-1")
            .await
            .unwrap(),
        "used once"
    );
    let left: Vec<_> = emu
        .developer_metadata("book-11")
        .into_iter()
        .map(|m| m.value.unwrap_or_default())
        .collect();
    assert_eq!(left, ["n-2"], "only the matching entry is deleted");
    assert_eq!(emu.calls().spreadsheets_batch_update, 3);
    assert_eq!(emu.calls().sheets(), 3);
}

#[tokio::test]
async fn without_a_key_the_runtime_service_account_is_used_through_the_metadata_server() {
    let (emu, _) = start().await;
    emu.add_sheet("book-12", 0, "Events", with_header(&[&["a", "A"]]));
    let client = SheetsClient::from_metadata_server(
        Some(&emu.metadata_host()),
        Some(&emu.sheets_base_url()),
    )
    .await
    .unwrap();
    assert_eq!(client.service_account_email(), emu.service_account_email());
    let read = client
        .read_ids_and_outputs(&sid("book-12"), 0)
        .await
        .unwrap();
    assert_eq!(read.rows.len(), 2);
    client
        .read_ids_and_outputs(&sid("book-12"), 0)
        .await
        .unwrap();
    let calls = emu.calls();
    assert_eq!(calls.metadata_token, 1, "the token is cached");
    assert_eq!(calls.token, 0, "no key, no JWT assertion");

    let nowhere = SheetsClient::from_metadata_server(Some("127.0.0.1:9"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(nowhere, SheetsError::Auth(ref m) if m.contains("GOOGLE_APPLICATION_CREDENTIALS")),
        "{nowhere:?}"
    );
}

#[tokio::test]
async fn a_key_the_token_endpoint_refuses_is_an_auth_error_without_secrets() {
    let (emu, _) = start().await;
    emu.add_sheet("book-9", 0, "Events", with_header(&[]));
    let mut key: serde_json::Value = serde_json::from_str(&emu.service_account_key_json()).unwrap();
    key["client_email"] = "someone-else@almanac-demo.iam.gserviceaccount.com".into();
    let client = SheetsClient::new(&key.to_string(), Some(&emu.sheets_base_url()))
        .await
        .unwrap();

    let err = client
        .read_ids_and_outputs(&sid("book-9"), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, SheetsError::Auth(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("someone-else@"), "{message}");
    assert!(!message.contains("PRIVATE KEY"), "{message}");
    assert_eq!(emu.calls().sheets(), 0);
}

#[tokio::test]
async fn an_unusable_key_is_refused_when_the_client_is_built() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let not_json = SheetsClient::new("not json", None).await.unwrap_err();
    assert!(matches!(not_json, SheetsError::Auth(_)), "{not_json:?}");

    let mut key: serde_json::Value = serde_json::from_str(
        &almanac_emulator::oauth::service_account_key_json("http://127.0.0.1:9/token"),
    )
    .unwrap();
    key["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into();
    let bad_pem = SheetsClient::new(&key.to_string(), Some("http://127.0.0.1:9/"))
        .await
        .unwrap_err();
    assert!(matches!(bad_pem, SheetsError::Auth(_)), "{bad_pem:?}");
    assert!(!bad_pem.to_string().contains("AAAA"), "{bad_pem}");
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_transient() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Port 9 (discard) on loopback: nothing listens in the test environment.
    let key = almanac_emulator::oauth::service_account_key_json("http://127.0.0.1:9/token");
    let client = SheetsClient::new(&key, Some("http://127.0.0.1:9/"))
        .await
        .unwrap();
    let err = client
        .read_ids_and_outputs(&sid("book-10"), 0)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}
