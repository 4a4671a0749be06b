//! Helpers shared by the config test suites.
#![allow(dead_code)]
// Helpers, not `#[test]` functions, so clippy.toml's test allowance does not reach them; an
// unwrap here fails the calling test with the settings' error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use alfred_config::{ConfigError, Settings};

pub fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Loads settings that must be valid.
pub fn load(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_vars(vars(pairs)).unwrap()
}

/// Loads settings that must be invalid.
pub fn fail(pairs: &[(&str, &str)]) -> ConfigError {
    Settings::from_vars(vars(pairs)).unwrap_err()
}

/// A complete WhatsApp configuration.
pub const WHATSAPP: &[(&str, &str)] = &[
    ("META_TOKEN", "meta-token-value"),
    ("PHONE_ID", "1234567890"),
    ("VERIFY_TOKEN", "verify-token-value"),
    ("APP_SECRET", "app-secret-value"),
];

/// A file in the temp dir, removed when dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    pub fn with(content: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("alfred-config-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, content).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
