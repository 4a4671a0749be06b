//! Isolation by construction: each instance refuses the other's own settings, with the rest.

mod common;

use alfred_config::{Instance, BIZ_ONLY, HOME_ONLY, VARIABLES};
use common::{fail, load, TempFile, WHATSAPP};

#[test]
fn biz_with_only_whatsapp_home_settings_refuses_to_start_and_says_why() {
    let households = TempFile::with(b"");
    let mut pairs = WHATSAPP.to_vec();
    pairs.push(("INSTANCE", "biz"));
    pairs.push(("HOUSEHOLDS_FILE", households.path()));
    let err = fail(&pairs);
    let problem = err.problems_for("HOUSEHOLDS_FILE").next().unwrap();
    assert!(problem.message.contains("home-only"), "{problem}");
    assert!(problem.message.contains("INSTANCE=biz"), "{problem}");
    assert_eq!(err.problems.len(), 1, "{err}");
}

#[test]
fn home_refuses_each_slack_setting_by_name_including_secret_files() {
    let token = TempFile::with(b"xoxb-1\n");
    let err = fail(&[
        ("INSTANCE", "home"),
        ("SLACK_BOT_TOKEN_FILE", token.path()),
        ("SLACK_SIGNING_SECRET", "sign"),
        ("SLACK_API_URL", "http://127.0.0.1:9/api"),
    ]);
    for name in [
        "SLACK_BOT_TOKEN_FILE",
        "SLACK_SIGNING_SECRET",
        "SLACK_API_URL",
    ] {
        let problem = err.problems_for(name).next().unwrap();
        assert!(problem.message.contains("biz-only"), "{problem}");
        assert!(problem.message.contains("INSTANCE=home"), "{problem}");
    }
    assert!(!err.to_string().contains("xoxb-1"), "{err}");
}

#[test]
fn the_default_instance_is_home_and_refuses_slack_too() {
    let err = fail(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_SIGNING_SECRET", "s")]);
    assert!(err.names("SLACK_BOT_TOKEN") && err.names("SLACK_SIGNING_SECRET"));
}

#[test]
fn the_refusal_is_reported_with_every_other_problem() {
    let err = fail(&[
        ("INSTANCE", "biz"),
        ("HOUSEHOLDS_FILE", "/nonexistent/households.toml"),
        ("HTTP_ADDR", "nowhere"),
    ]);
    let named: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
    assert!(named.contains(&"HTTP_ADDR"), "{err}");
    assert!(
        err.problems_for("HOUSEHOLDS_FILE")
            .any(|p| p.message.contains("home-only")),
        "{err}"
    );
}

#[test]
fn an_unknown_instance_is_the_only_problem_not_a_flood_of_refusals() {
    let err = fail(&[("INSTANCE", "office"), ("SLACK_SIGNING_SECRET", "s")]);
    assert!(err.names("INSTANCE"));
    assert!(
        err.problems.iter().all(|p| !p.message.contains("-only")),
        "{err}"
    );
}

#[test]
fn each_instance_starts_with_its_own_settings() {
    let biz = load(&[
        ("INSTANCE", "biz"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_SIGNING_SECRET", "s"),
    ]);
    assert_eq!(biz.instance, Instance::Biz);
    assert!(biz.slack.is_some());
    // Biz may have its own WhatsApp number: WhatsApp settings belong to both.
    let mut pairs = WHATSAPP.to_vec();
    pairs.push(("INSTANCE", "biz"));
    assert!(load(&pairs).whatsapp.is_some());
}

#[test]
fn instance_only_settings_are_known_variables_and_disjoint() {
    for name in HOME_ONLY.iter().chain(BIZ_ONLY) {
        assert!(VARIABLES.contains(name), "{name}");
    }
    assert!(HOME_ONLY.iter().all(|name| !BIZ_ONLY.contains(name)));
    assert_eq!(Instance::Home.refused_settings(), BIZ_ONLY);
    assert_eq!(Instance::Biz.refused_settings(), HOME_ONLY);
}
