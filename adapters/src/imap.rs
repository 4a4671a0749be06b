//! The work inbox over IMAP (being written).
