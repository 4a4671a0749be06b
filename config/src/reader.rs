//! Reading raw variables: presence, `_FILE` secrets and typed parsing, collecting problems as it
//! goes instead of stopping at the first one.
//!
//! Rules that apply to every variable:
//! - an empty value counts as unset (compose files and `.env` files often write `VAR=`);
//! - plain values are trimmed of surrounding whitespace before parsing; secrets are taken as given,
//!   except that a secret read from a file loses one trailing newline (editors add one);
//! - a secret may come from `VAR` or from the file named by `VAR_FILE`, never from both.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::{ConfigError, Problem};

/// The suffix that turns a secret's variable into the path of a file holding it.
pub const FILE_SUFFIX: &str = "_FILE";

/// The variables being read and the problems found so far.
pub(crate) struct Reader {
    vars: HashMap<String, String>,
    problems: Vec<Problem>,
}

impl Reader {
    /// Takes the variables as given; empty values are dropped so they read as unset.
    pub(crate) fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = vars.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        Self {
            vars,
            problems: Vec::new(),
        }
    }

    /// Records a problem with `variable`.
    pub(crate) fn problem(&mut self, variable: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            variable: variable.to_owned(),
            message: message.into(),
        });
    }

    /// The value if every check passed, else every problem found.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }

    /// A plain (non-secret) value, trimmed; `None` when unset or blank.
    pub(crate) fn plain(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Whether a secret is given in either form, without reading a file.
    pub(crate) fn secret_is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name) || self.vars.contains_key(&file_var(name))
    }

    /// A secret from `name` or from the file named by `name_FILE`. Problems (both given, file
    /// unreadable or empty) are recorded and read as `None`; the value never appears in them.
    pub(crate) fn secret(&mut self, name: &str) -> Option<SecretString> {
        let file_name = file_var(name);
        match (self.vars.get(name), self.vars.get(&file_name)) {
            (None, None) => None,
            (Some(value), None) => Some(SecretString::from(value.clone())),
            (Some(_), Some(_)) => {
                self.problem(name, format!("set either {name} or {file_name}, not both"));
                None
            }
            (None, Some(path)) => {
                let path = path.trim().to_owned();
                match std::fs::read_to_string(&path) {
                    Ok(content) => {
                        let content = content.strip_suffix('\n').unwrap_or(&content);
                        let content = content.strip_suffix('\r').unwrap_or(content);
                        if content.is_empty() {
                            self.problem(&file_name, format!("the file {path} is empty"));
                            None
                        } else {
                            Some(SecretString::from(content.to_owned()))
                        }
                    }
                    Err(error) => {
                        // The io::Error names the failure (not found, permission denied, not
                        // UTF-8), never the file's content.
                        self.problem(&file_name, format!("cannot read the file {path}: {error}"));
                        None
                    }
                }
            }
        }
    }

    /// A plain value parsed with `parse`, or `default` when unset. A value that does not parse is
    /// recorded as a problem saying what was `expected`, and reads as `default`.
    pub(crate) fn parsed_or<T>(
        &mut self,
        name: &str,
        default: T,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> T {
        match self.plain(name) {
            None => default,
            Some(raw) => match parse(&raw) {
                Some(value) => value,
                None => {
                    self.problem(name, format!("expected {expected}, got {raw:?}"));
                    default
                }
            },
        }
    }

    /// A value of any `FromStr` type, e.g. a socket address.
    pub(crate) fn parse_or<T: FromStr>(&mut self, name: &str, default: T, expected: &str) -> T {
        self.parsed_or(name, default, expected, |raw| raw.parse().ok())
    }

    /// A whole number of at least `min`.
    pub(crate) fn number_or<T>(&mut self, name: &str, default: T, min: T) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let expected = format!("a whole number of at least {min}");
        self.parsed_or(name, default, &expected, |raw| {
            raw.parse::<T>().ok().filter(|n| *n >= min)
        })
    }

    /// A duration given in whole milliseconds, at least 1 ms.
    pub(crate) fn millis_or(&mut self, name: &str, default_ms: u64) -> Duration {
        Duration::from_millis(self.number_or(name, default_ms, 1))
    }

    /// A boolean: `true`/`false`, `1`/`0`, `yes`/`no`, in any case.
    pub(crate) fn bool_or(&mut self, name: &str, default: bool) -> bool {
        self.parsed_or(name, default, "true, false, 1, 0, yes or no", parse_bool)
    }

    /// A switch: `on`/`off` or any boolean [`Reader::bool_or`] accepts.
    pub(crate) fn on_off_or(&mut self, name: &str, default: bool) -> bool {
        self.parsed_or(
            name,
            default,
            "on, off, true, false, 1, 0, yes or no",
            |raw| match raw.to_ascii_lowercase().as_str() {
                "on" => Some(true),
                "off" => Some(false),
                _ => parse_bool(raw),
            },
        )
    }

    /// An `http://` or `https://` URL with trailing slashes removed, so callers can append
    /// `/path` without doubling the slash.
    pub(crate) fn http_url(&mut self, name: &str) -> Option<String> {
        let raw = self.plain(name)?;
        match normalize_http_url(&raw) {
            Some(url) => Some(url),
            None => {
                self.problem(
                    name,
                    format!("expected an http:// or https:// URL, got {raw:?}"),
                );
                None
            }
        }
    }

    /// Like [`Reader::http_url`] with a default for when it is unset or invalid.
    pub(crate) fn http_url_or(&mut self, name: &str, default: &str) -> String {
        self.http_url(name).unwrap_or_else(|| default.to_owned())
    }
}

/// `NAME_FILE` for `NAME`.
pub(crate) fn file_var(name: &str) -> String {
    format!("{name}{FILE_SUFFIX}")
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn normalize_http_url(raw: &str) -> Option<String> {
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))?;
    let trimmed = raw.trim_end_matches('/');
    // Something must follow the scheme: "https://" alone is not a URL.
    (!rest.trim_end_matches('/').is_empty() && !raw.contains(char::is_whitespace))
        .then(|| trimmed.to_owned())
}
