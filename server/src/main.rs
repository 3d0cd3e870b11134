//! The `almanac` binary: a thin `main` over [`almanac::cli`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match almanac::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
