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
