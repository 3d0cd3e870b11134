//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations at compile time but cannot tell cargo which files it read (sqlx's documented
//! workaround, <https://docs.rs/sqlx/latest/sqlx/macro.migrate.html>).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
