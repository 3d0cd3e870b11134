//! Shared set-up of the command-line tests: an in-process emulator standing in for OpenAI and
//! Google, a temporary working folder with its own job store, and the `almanac` binary pointed at
//! both through the same environment variables a user sets.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use almanac_emulator::{Emulator, EmulatorConfig};

/// The seed workflow's `historical_events.json` (16 Korean events; `08-15` has a year and a
/// simple description already).
pub const SEED_JSON: &str = almanac_emulator::SAMPLE_KO_JSON;
/// 348 English events, one per calendar day.
pub const EN_CSV: &str = almanac_emulator::SAMPLE_EN_CSV;

/// One test's world.
pub struct World {
    /// The stand-in for OpenAI and Google.
    pub emulator: Emulator,
    /// The working folder (removed at the end).
    pub dir: tempfile::TempDir,
}

impl World {
    /// Starts an emulator with quick batches.
    pub async fn start() -> World {
        let emulator = Emulator::start(EmulatorConfig {
            step: Duration::from_millis(20),
            rows_per_step: 64,
        })
        .await
        .expect("emulator starts");
        World {
            emulator,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A path in the working folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the working folder and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }

    /// `almanac` with the emulator's endpoints and this world's store, run in the working folder.
    pub fn almanac(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.almanac_std())
    }

    /// The same as a plain `std::process::Command` (for tests that kill the child).
    pub fn almanac_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_almanac"));
        self.configure(&mut cmd);
        cmd
    }

    fn configure(&self, cmd: &mut std::process::Command) {
        let key = self.write("sa.json", self.emulator.service_account_key_json());
        cmd.current_dir(self.dir.path())
            .env("OPENAI_API_KEY", "sk-emulated-test-key")
            .env("OPENAI_BASE_URL", self.emulator.openai_base_url())
            .env("GOOGLE_APPLICATION_CREDENTIALS", key)
            .env("SHEETS_BASE_URL", self.emulator.sheets_base_url())
            .env("ALMANAC_DATABASE_URL", self.path("store.db"))
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG");
    }
}

/// Runs a command off the async runtime (the emulator needs the runtime's threads meanwhile).
pub async fn output(mut cmd: assert_cmd::Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("almanac runs"))
        .await
        .expect("join")
}

/// stdout parsed as the one JSON document `--json` prints.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The process's exit code.
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("file exists")).expect("valid JSON")
}
