//! Private Dovecot IMAP servers for tests (being written).
