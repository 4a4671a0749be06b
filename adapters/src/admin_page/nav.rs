//! The admin page's navigation: one entry per page, in the order shown.
//!
//! Adding a page: a file beside this one with its handlers (see `jobs.rs` for a read view,
//! `tree.rs` for one with forms), an entry here, and its routes in `mod.rs`.

/// One entry of the navigation.
pub struct NavEntry {
    pub path: &'static str,
    pub label: &'static str,
}

/// The supervision tree's page (the home page).
pub const TREE: &str = "/admin/";
pub const JOBS: &str = "/admin/page/jobs";
pub const INBOX: &str = "/admin/page/inbox";
pub const CLOCK: &str = "/admin/page/clock";
/// Fed by `GET /admin/streams` (depths, lag) and pause/resume.
pub const STREAMS: &str = "/admin/page/streams";
/// Fed by the dead-letter service (filter, show, replay, discard, bulk); one entry is
/// `{DEAD_LETTERS}/{stream}/{id}`.
pub const DEAD_LETTERS: &str = "/admin/page/dead-letters";
/// A bulk action on the dead letters a filter matches: its confirmation (GET) and the action
/// (POST).
pub const BULK: &str = "/admin/page/dead-letters/bulk";
pub const LOGIN: &str = "/admin/login";
pub const LOGOUT: &str = "/admin/logout";

/// Every page, in the order of the navigation.
pub const NAV: &[NavEntry] = &[
    NavEntry {
        path: TREE,
        label: "Supervision tree",
    },
    NavEntry {
        path: JOBS,
        label: "Jobs",
    },
    NavEntry {
        path: INBOX,
        label: "Work inbox",
    },
    NavEntry {
        path: CLOCK,
        label: "Clock",
    },
    NavEntry {
        path: STREAMS,
        label: "Streams",
    },
    NavEntry {
        path: DEAD_LETTERS,
        label: "Dead letters",
    },
];
