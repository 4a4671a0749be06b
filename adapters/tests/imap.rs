//! The IMAP client against a private Dovecot over real TLS (a test CA): cursors, limits,
//! UIDVALIDITY changes, read-only fetching, and how each failure is classified — with the
//! password kept out of sight.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use alfred_adapters::imap::{Cursor, Fetched, ImapClient, ImapError, MAX_MAIL_BYTES};
use alfred_config::{ImapSettings, ImapTls};
use alfred_testkit::dovecot::PrivateDovecot;

const USER: &str = "alfred@example.com";

/// Settings for [`USER`] on `host:port` over implicit TLS, trusting only the system's CAs.
fn settings_at(host: &str, port: u16) -> ImapSettings {
    ImapSettings {
        host: host.to_owned(),
        port,
        tls: ImapTls::Implicit,
        user: USER.to_owned(),
        password: "secret-never-sent".into(),
        mailbox: "INBOX".to_owned(),
        ca_file: None,
        poll_interval: Duration::from_secs(60),
        timeout: Duration::from_secs(10),
        readers: Vec::new(),
    }
}

/// Settings for `user` on `dovecot`, taken from the environment the testkit gives an Alfred
/// process (so that environment is checked too).
fn settings(dovecot: &PrivateDovecot, user: &str) -> ImapSettings {
    let env: HashMap<String, String> = dovecot.env(user).into_iter().collect();
    ImapSettings {
        user: env["IMAP_USER"].clone(),
        password: env["IMAP_PASSWORD"].as_str().into(),
        ca_file: Some(PathBuf::from(&env["IMAP_CA_FILE"])),
        timeout: Duration::from_secs(20),
        ..settings_at(&env["IMAP_HOST"], env["IMAP_PORT"].parse().unwrap())
    }
}

/// What a first fetch with `settings` fails with.
async fn fetch_error(settings: &ImapSettings) -> ImapError {
    let client = ImapClient::new(settings).unwrap();
    client.fetch_new(None, 10).await.unwrap_err()
}

fn client(dovecot: &PrivateDovecot, user: &str) -> ImapClient {
    ImapClient::new(&settings(dovecot, user)).unwrap()
}

/// A small RFC 5322 message with CRLF line ends, as mail travels on the wire.
fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@example.org>\r\n\
         To: Alfred <alfred@example.com>\r\n\
         Subject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\
         Date: Mon, 6 May 2024 09:30:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Hello Alfred,\r\n\
         this is about {subject}.\r\n"
    )
    .into_bytes()
}

fn cursor_after(fetched: &Fetched) -> Cursor {
    Cursor {
        uid_validity: fetched.uid_validity,
        last_uid: fetched.mails.last().expect("a mail was fetched").uid,
    }
}

fn uids(fetched: &Fetched) -> Vec<u32> {
    fetched.mails.iter().map(|mail| mail.uid).collect()
}

#[tokio::test]
async fn a_new_mail_is_fetched_once_and_then_only_later_mails() {
    let dovecot = PrivateDovecot::start();
    let client = client(&dovecot, USER);
    dovecot.append(USER, &mail("first")).await;

    let first = client.fetch_new(None, 10).await.unwrap();
    assert_eq!(first.mails.len(), 1);
    assert_eq!(
        first.mails[0].raw,
        mail("first"),
        "the raw bytes as appended"
    );
    assert!(!first.more);
    let cursor = cursor_after(&first);

    let again = client.fetch_new(Some(cursor), 10).await.unwrap();
    assert!(again.mails.is_empty(), "nothing new after the cursor");
    assert!(!again.more);
    assert_eq!(again.uid_validity, first.uid_validity);

    dovecot.append(USER, &mail("second")).await;
    let later = client.fetch_new(Some(cursor), 10).await.unwrap();
    assert_eq!(later.mails.len(), 1, "only the new mail");
    assert_eq!(later.mails[0].raw, mail("second"));
    assert!(later.mails[0].uid > cursor.last_uid);
}

#[tokio::test]
async fn fetched_mails_stay_unseen() {
    let dovecot = PrivateDovecot::start();
    let client = client(&dovecot, USER);
    dovecot.append(USER, &mail("one")).await;
    dovecot.append(USER, &mail("two")).await;

    let fetched = client.fetch_new(None, 10).await.unwrap();

    assert_eq!(fetched.mails.len(), 2);
    assert_eq!(
        dovecot.unseen_uids(USER).await,
        uids(&fetched),
        "reading must not set \\Seen"
    );
}

#[tokio::test]
async fn the_limit_is_honoured_and_more_says_mails_are_waiting() {
    let dovecot = PrivateDovecot::start();
    let client = client(&dovecot, USER);
    for subject in ["a", "b", "c"] {
        dovecot.append(USER, &mail(subject)).await;
    }

    let page = client.fetch_new(None, 2).await.unwrap();
    assert_eq!(page.mails.len(), 2);
    assert!(page.more);
    assert_eq!(page.mails[0].raw, mail("a"), "lowest UIDs first");
    assert_eq!(page.mails[1].raw, mail("b"));
    assert!(page.mails[0].uid < page.mails[1].uid);

    let rest = client
        .fetch_new(Some(cursor_after(&page)), 2)
        .await
        .unwrap();
    assert_eq!(rest.mails.len(), 1);
    assert_eq!(rest.mails[0].raw, mail("c"));
    assert!(!rest.more);
}

#[tokio::test]
async fn a_cursor_from_another_uid_validity_starts_again_from_the_first_mail() {
    let dovecot = PrivateDovecot::start();
    let client = client(&dovecot, USER);
    dovecot.append(USER, &mail("old")).await;
    dovecot.append(USER, &mail("older")).await;
    let all = client.fetch_new(None, 10).await.unwrap();
    let stale = Cursor {
        uid_validity: all.uid_validity.wrapping_add(1),
        last_uid: cursor_after(&all).last_uid,
    };

    let again = client.fetch_new(Some(stale), 10).await.unwrap();

    assert_eq!(uids(&again), uids(&all));
    assert_eq!(again.mails[0].raw, mail("old"));
}

#[tokio::test]
async fn a_cursor_beyond_the_last_uid_returns_nothing() {
    // `UID n:*` matches the highest UID even when it is below n.
    let dovecot = PrivateDovecot::start();
    let client = client(&dovecot, USER);
    dovecot.append(USER, &mail("only")).await;
    let fetched = client.fetch_new(None, 10).await.unwrap();
    let ahead = Cursor {
        uid_validity: fetched.uid_validity,
        last_uid: cursor_after(&fetched).last_uid + 5,
    };

    let none = client.fetch_new(Some(ahead), 10).await.unwrap();

    assert!(none.mails.is_empty());
    assert!(!none.more);
}

#[tokio::test]
async fn an_empty_mailbox_returns_nothing() {
    let dovecot = PrivateDovecot::start();
    let client = client(&dovecot, "nobody-writes-to-me");

    let fetched = client.fetch_new(None, 10).await.unwrap();

    assert!(fetched.mails.is_empty());
    assert!(!fetched.more);
    assert_ne!(fetched.uid_validity, 0);
}

#[tokio::test]
async fn users_have_separate_mailboxes() {
    let dovecot = PrivateDovecot::start();
    dovecot
        .append("someone-else", &mail("not for alfred"))
        .await;
    dovecot.append(USER, &mail("for alfred")).await;

    let fetched = client(&dovecot, USER).fetch_new(None, 10).await.unwrap();

    assert_eq!(fetched.mails.len(), 1);
    assert_eq!(fetched.mails[0].raw, mail("for alfred"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_showing_it() {
    let dovecot = PrivateDovecot::start();
    let wrong = "wrong-Pa55word-that-must-not-leak";
    let mut settings = settings(&dovecot, USER);
    settings.password = wrong.into();
    let client = ImapClient::new(&settings).unwrap();

    let error = client.fetch_new(None, 10).await.unwrap_err();

    assert!(
        matches!(&error, ImapError::Auth(user) if user == USER),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert!(!error.to_string().contains(wrong));
    assert!(!format!("{error:?}").contains(wrong));
    assert!(!format!("{client:?}").contains(wrong));
    assert!(!format!("{client:?}").contains(PrivateDovecot::PASSWORD));
}

#[tokio::test]
async fn a_missing_mailbox_is_a_mailbox_error() {
    let dovecot = PrivateDovecot::start();
    let mut settings = settings(&dovecot, USER);
    settings.mailbox = "Does-Not-Exist".to_owned();

    let error = fetch_error(&settings).await;

    assert!(
        matches!(&error, ImapError::Mailbox(name) if name == "Does-Not-Exist"),
        "{error:?}"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_is_a_tls_error() {
    let dovecot = PrivateDovecot::start();
    let mut settings = settings(&dovecot, USER);
    settings.ca_file = None;

    let error = fetch_error(&settings).await;

    assert!(matches!(error, ImapError::Tls(_)), "{error:?}");
    assert!(!error.is_transient());
    assert!(!error.to_string().contains(PrivateDovecot::PASSWORD));
}

#[tokio::test]
async fn the_host_name_localhost_matches_the_certificate_too() {
    let dovecot = PrivateDovecot::start();
    let mut settings = settings(&dovecot, USER);
    settings.host = "localhost".to_owned();
    dovecot.append(USER, &mail("by name")).await;

    let fetched = ImapClient::new(&settings)
        .unwrap()
        .fetch_new(None, 10)
        .await
        .unwrap();

    assert_eq!(fetched.mails.len(), 1);
}

#[tokio::test]
async fn nothing_listening_is_a_transient_connect_error() {
    let port = alfred_testkit::free_port();
    let settings = settings_at("127.0.0.1", port);

    let error = fetch_error(&settings).await;

    assert!(matches!(error, ImapError::Connect(_)), "{error:?}");
    assert!(error.is_transient());
    assert!(error.to_string().contains(&format!("127.0.0.1:{port}")));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Connections are queued by the kernel but nobody speaks TLS on them.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let settings = ImapSettings {
        timeout: Duration::from_millis(300),
        ..settings_at("127.0.0.1", silent.local_addr().unwrap().port())
    };

    let error = fetch_error(&settings).await;

    assert!(
        matches!(error, ImapError::TimedOut(limit) if limit == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(error.is_transient());
    drop(silent);
}

#[test]
fn an_unreadable_or_empty_ca_file_is_a_configuration_error() {
    let dir = std::env::temp_dir().join(format!("alfred-imap-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pem = dir.join("not-pem.txt");
    std::fs::write(&not_pem, "this is no certificate\n").unwrap();
    let base = settings_at("imap.example.com", 993);

    for path in [dir.join("missing.pem"), not_pem] {
        let settings = ImapSettings {
            ca_file: Some(path.clone()),
            ..base.clone()
        };
        let error = ImapClient::new(&settings).unwrap_err();
        assert!(matches!(error, ImapError::Config(_)), "{path:?}: {error:?}");
        assert!(!error.is_transient());
    }
    std::fs::remove_dir_all(&dir).unwrap();

    let bad_host = ImapSettings {
        host: "not a host".to_owned(),
        ..base.clone()
    };
    assert!(matches!(
        ImapClient::new(&bad_host).unwrap_err(),
        ImapError::Config(_)
    ));
    let line_break = ImapSettings {
        password: "two\r\nlines".into(),
        ..base
    };
    let error = ImapClient::new(&line_break).unwrap_err();
    assert!(matches!(error, ImapError::Config(_)), "{error:?}");
    assert!(!error.to_string().contains("two\r\nlines"));
}

#[test]
fn the_account_names_user_host_port_and_mailbox() {
    let settings = ImapSettings {
        password: "secret".into(),
        mailbox: "Work".to_owned(),
        ..settings_at("imap.example.com", 993)
    };

    let client = ImapClient::new(&settings).unwrap();

    assert_eq!(
        client.account(),
        "alfred@example.com@imap.example.com:993/Work"
    );
    assert!(!format!("{client:?}").contains("secret"));
}

/// The poll can run on any worker thread (actix arbiters, tokio::spawn).
#[allow(dead_code)]
fn fetch_new_is_send(client: &ImapClient) -> impl Send + '_ {
    client.fetch_new(None, 1)
}

#[tokio::test]
async fn a_huge_mail_is_fetched_only_up_to_its_first_bytes() {
    let dovecot = PrivateDovecot::start();
    let user = USER;
    let mut raw = b"Message-ID: <huge-1@example.com>\r\nFrom: a@example.com\r\nSubject: Big\r\n\r\nHello, see the attachment.\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 3 * MAX_MAIL_BYTES));
    raw.extend_from_slice(b"\r\n");
    dovecot.append(user, &raw).await;

    let fetched = client(&dovecot, user).fetch_new(None, 10).await.unwrap();

    assert_eq!(fetched.mails.len(), 1);
    let mail = &fetched.mails[0].raw;
    assert_eq!(mail.len(), MAX_MAIL_BYTES);
    assert!(mail.starts_with(b"Message-ID: <huge-1@example.com>"));
}

#[tokio::test]
async fn starttls_upgrades_a_plain_connection_before_logging_in() {
    let dovecot = PrivateDovecot::start();
    dovecot.append(USER, &mail("upgraded")).await;
    let starttls = ImapSettings {
        port: dovecot.starttls_port(),
        tls: ImapTls::StartTls,
        ..settings(&dovecot, USER)
    };

    let fetched = ImapClient::new(&starttls)
        .unwrap()
        .fetch_new(None, 10)
        .await
        .unwrap();

    assert_eq!(fetched.mails.len(), 1);
    assert_eq!(fetched.mails[0].raw, mail("upgraded"));
}

#[tokio::test]
async fn starttls_against_an_implicit_tls_port_fails_without_logging_in() {
    let dovecot = PrivateDovecot::start();
    let wrong = ImapSettings {
        tls: ImapTls::StartTls,
        timeout: Duration::from_secs(3),
        ..settings(&dovecot, USER)
    };

    let error = fetch_error(&wrong).await;

    // The TLS port never greets in plain text: whatever the failure, it is not a login.
    assert!(!matches!(error, ImapError::Auth(_)), "{error:?}");
    assert!(!format!("{error:?}").contains(PrivateDovecot::PASSWORD));
}
