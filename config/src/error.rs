//! The one error of this crate: every configuration problem found, each naming its variable.
//!
//! Messages never contain a secret's value: a problem with a secret says what is wrong (missing,
//! unreadable file, both forms given) without repeating what was given.

use std::fmt;

/// One thing wrong with the configuration, attributed to the variable an operator must change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The environment variable at fault, e.g. `HTTP_ADDR` or `META_TOKEN_FILE`.
    pub variable: String,
    /// What is wrong with it, as a sentence fragment an operator can act on.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Start-up validation failed. Holds *all* problems found, not just the first, so an operator
/// can fix a deployment in one round trip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every problem, in the order the variables were checked.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// The problems reported for `variable`, for callers and tests that look for one.
    pub fn problems_for<'a>(&'a self, variable: &'a str) -> impl Iterator<Item = &'a Problem> + 'a {
        self.problems.iter().filter(move |p| p.variable == variable)
    }

    /// Whether some problem names `variable`.
    pub fn names(&self, variable: &str) -> bool {
        self.problems_for(variable).next().is_some()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}
