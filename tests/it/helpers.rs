//! Shared test helpers: temporary stores, fixture paths.
#![allow(dead_code)]

use std::path::PathBuf;

/// A path under the crate's `fixtures/` directory.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// A fresh in-memory store with the schema applied.
pub async fn store() -> psi_radar::store::Store {
    psi_radar::store::Store::memory().await.expect("in-memory store")
}

/// A validated config for tests: SQLite in memory, SMTP to 127.0.0.1:`smtp_port`
/// without TLS (or the file transport into `file_dir` when `smtp_port` is 0).
pub fn config(smtp_port: u16, file_dir: &std::path::Path) -> psi_radar::config::Config {
    let transport = if smtp_port == 0 {
        format!("transport = \"file\"\noutbox_dir = \"{}\"\n", file_dir.display())
    } else {
        format!(
            "transport = \"smtp\"\nmax_attempts = 3\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\nper_minute = 6000\n"
        )
    };
    let src = format!(
        "[partnership]\nname = \"Partnerskapet för sociala innovationer i Örebro län\"\n[database]\nurl = \"sqlite::memory:\"\n\
         [sources]\ncontact = \"psi@example.org\"\n[mail]\nfrom = \"radar@psi.example.org\"\nreply_to = \"svar@psi.example.org\"\n\
         au = [\"au1@example.org\", \"au2@example.org\"]\n{transport}"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/test.toml");
    psi_radar::config::Config::from_str(&src, &root).expect("test config")
}
