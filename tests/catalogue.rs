//! The runtime loads exactly the skills crates' catalogues, in their routing order, so the
//! routing tests of each crate test what production routes with.
#![cfg(all(feature = "home", feature = "biz"))]

use alfred::catalogue::instance_skills;
use alfred_config::Settings;

fn settings(vars: &[(&str, &str)]) -> Settings {
    let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    match Settings::from_vars(vars) {
        Ok(settings) => settings,
        Err(error) => panic!("invalid test settings: {error}"),
    }
}

fn names(settings: &Settings) -> Vec<&'static str> {
    instance_skills(settings).iter().map(|e| e.name()).collect()
}

#[test]
fn home_loads_the_home_catalogue_in_its_routing_order() {
    let home = settings(&[("INSTANCE", "home")]);

    let expected: Vec<&str> = alfred_skills_home::skills(&Default::default())
        .iter()
        .map(|e| e.name())
        .collect();

    assert_eq!(names(&home), expected);
    assert_eq!(names(&home), ["briefing", "reminders", "chores", "grocery"]);
}

#[test]
fn biz_loads_the_biz_catalogue_in_its_routing_order_inbox_included() {
    let biz = settings(&[("INSTANCE", "biz")]);

    let expected: Vec<&str> = alfred_skills_biz::skills(&Default::default())
        .iter()
        .map(|e| e.name())
        .collect();

    assert_eq!(names(&biz), expected);
    assert_eq!(names(&biz), ["ping", "crm", "inbox"]);
}
