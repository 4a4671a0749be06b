//! The access settings (issue 10): `STRANGERS` (Home), `SLACK_TEAM_IDS` and `CRM_READERS` (Biz).

mod common;

use alfred_config::Strangers;
use common::{fail, load};

const SLACK: [(&str, &str); 3] = [
    ("INSTANCE", "biz"),
    ("SLACK_BOT_TOKEN", "xoxb-test"),
    ("SLACK_SIGNING_SECRET", "secret"),
];

#[test]
fn strangers_are_refused_by_default_and_may_be_ignored() {
    assert_eq!(load(&[]).strangers, Strangers::Refuse);
    assert_eq!(
        load(&[("STRANGERS", "IGNORE")]).strangers,
        Strangers::Ignore
    );
    let err = fail(&[("STRANGERS", "welcome")]);
    assert!(err.names("STRANGERS"));
    assert!(err.problems[0].message.contains("refuse or ignore"));
}

#[test]
fn without_slack_team_ids_the_bots_own_workspace_is_learned() {
    let settings = load(&SLACK);
    assert!(settings.slack.unwrap().team_ids.is_empty());
}

#[test]
fn slack_team_ids_are_a_comma_separated_list_of_workspace_ids() {
    let mut vars = SLACK.to_vec();
    vars.push(("SLACK_TEAM_IDS", " T024BE7LD, T0TEAM001 ,"));
    assert_eq!(
        load(&vars).slack.unwrap().team_ids,
        ["T024BE7LD", "T0TEAM001"]
    );

    let mut vars = SLACK.to_vec();
    vars.push(("SLACK_TEAM_IDS", "T024BE7LD,U0ANNA001"));
    let err = fail(&vars);
    assert!(err.names("SLACK_TEAM_IDS"));
    assert!(err.problems[0].message.contains("U0ANNA001"));
}

#[test]
fn crm_readers_are_read_like_inbox_readers_and_unset_means_nobody() {
    assert!(load(&[("INSTANCE", "biz")]).crm_readers.is_empty());
    let settings = load(&[
        ("INSTANCE", "biz"),
        ("CRM_READERS", "U024BE7LH, +4917011111111"),
    ]);
    assert_eq!(settings.crm_readers, ["U024BE7LH", "+4917011111111"]);
}

#[test]
fn each_instance_refuses_the_others_access_settings() {
    assert!(fail(&[("INSTANCE", "biz"), ("STRANGERS", "ignore")]).names("STRANGERS"));
    assert!(fail(&[("INSTANCE", "home"), ("CRM_READERS", "U1")]).names("CRM_READERS"));
    assert!(fail(&[("INSTANCE", "home"), ("SLACK_TEAM_IDS", "T1")]).names("SLACK_TEAM_IDS"));
}
