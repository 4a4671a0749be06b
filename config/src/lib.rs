//! Typed settings for Alfred, loaded from environment variables (DESIGN.md §6).
//!
//! Layout:
//! - [`settings`]: the [`Settings`] types, their documented [`defaults`] and helpers such as
//!   [`Settings::is_ephemeral`];
//! - `load`: [`Settings::from_env`] / [`Settings::from_vars`], which apply every rule and report
//!   all problems at once as a [`ConfigError`];
//! - [`households`]: the households file (`HOUSEHOLDS_FILE`): members, time zones, jobs;
//! - [`redis_tls`]: the TLS files of a `rediss://` `REDIS_URL` (private CA, client certificate);
//! - [`postgres_url`]: `DATABASE_URL`'s libpq TLS parameters (`sslmode`, `sslrootcert`);
//! - `reader`: how one variable is read — empty means unset, secrets may come from `NAME_FILE`.
//!
//! Secrets are [`secrecy::SecretString`]s: `Debug` prints `[REDACTED]`, and no error message
//! repeats a secret's value. Call `expose_secret()` only where the secret is used.
//!
//! This crate knows variable names and value shapes only; it must not know actors, stores or
//! platforms beyond what their settings look like, and it never connects to anything.

mod error;
pub mod households;
mod load;
pub mod postgres_url;
mod reader;
pub mod redis_tls;
pub mod settings;

pub use error::{ConfigError, Problem};
pub use reader::FILE_SUFFIX;
pub use redis_tls::RedisTls;
pub use secrecy::{ExposeSecret, SecretString};
pub use settings::{
    defaults, ClockSetting, ImapSettings, ImapTls, Instance, LlmProvider, LlmSettings, LogFormat,
    SenderLimits, Settings, SlackSettings, StoreSettings, Strangers, TranscribeSettings, Tuning,
    WhatsAppSettings, BIZ_ONLY, HOME_ONLY, SECRET_VARIABLES, VARIABLES,
};
