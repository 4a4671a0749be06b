//! Who may use each Biz skill, as the catalogue declares it: `ping` is open to everyone, the
//! CRM answers only `CRM_READERS` and the work inbox only `INBOX_READERS`; help lists to each
//! person only what they may use.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap only fails the test that called it.
#![allow(clippy::unwrap_used)]

use alfred_actors::access::{Asker, Refusal};
use alfred_actors::orchestrator::help_text;
use alfred_actors::skill::SkillEntry;
use alfred_skills_biz::{crm, inbox, skills, BizSkillsConfig};

const ANNA: &str = "U0ANNA001";
const BOB: &str = "U0BOB0001";
const DANA_WHATSAPP: &str = "4917011111111";
const STRANGER_WHATSAPP: &str = "4915550000000";

fn catalogue(crm_readers: &[&str]) -> Vec<SkillEntry> {
    skills(&BizSkillsConfig {
        inbox_readers: vec![ANNA.to_owned()],
        crm_readers: crm_readers.iter().map(|id| (*id).to_owned()).collect(),
    })
}

fn asker(sender: &str) -> Asker {
    // Biz has no households file: everyone who reaches it is a member.
    Asker {
        sender: sender.to_owned(),
        member: true,
    }
}

fn check(skills: &[SkillEntry], name: &str, sender: &str) -> Result<(), Refusal> {
    let entry = skills.iter().find(|entry| entry.name() == name).unwrap();
    entry.access.check(&asker(sender))
}

#[test]
fn ping_is_open_to_everyone() {
    let skills = catalogue(&[ANNA]);
    assert_eq!(check(&skills, "ping", BOB), Ok(()));
    assert_eq!(check(&skills, "ping", STRANGER_WHATSAPP), Ok(()));
}

#[test]
fn the_crm_answers_only_its_readers_on_slack_and_whatsapp() {
    let skills = catalogue(&[ANNA, DANA_WHATSAPP]);
    assert_eq!(check(&skills, "crm", ANNA), Ok(()));
    assert_eq!(check(&skills, "crm", DANA_WHATSAPP), Ok(()));
    assert_eq!(
        check(&skills, "crm", STRANGER_WHATSAPP),
        Err(Refusal::NotReader(crm::PRIVATE))
    );
    assert_eq!(
        check(&skills, "crm", BOB),
        Err(Refusal::NotReader(crm::PRIVATE))
    );
}

#[test]
fn without_crm_readers_the_crm_answers_nobody_and_says_how_to_enable_it() {
    let skills = catalogue(&[]);
    let refusal = check(&skills, "crm", ANNA);
    assert_eq!(refusal, Err(Refusal::NotReader(crm::NOT_SET_UP)));
    assert!(crm::NOT_SET_UP.contains("CRM_READERS"));
}

#[test]
fn the_work_inbox_answers_only_inbox_readers() {
    let skills = catalogue(&[BOB]);
    assert_eq!(check(&skills, "inbox", ANNA), Ok(()));
    assert_eq!(
        check(&skills, "inbox", BOB),
        Err(Refusal::NotReader(inbox::reply::PRIVATE)),
        "a CRM reader is not an inbox reader"
    );
}

#[test]
fn help_lists_only_the_skills_the_sender_may_use() {
    let skills = catalogue(&[ANNA]);

    let anna = help_text(&skills, &asker(ANNA), "help");
    let stranger = help_text(&skills, &asker(STRANGER_WHATSAPP), "help");

    assert!(anna.contains("deals over 10k"), "{anna}");
    assert!(anna.contains("summarise my inbox"), "{anna}");
    assert!(anna.contains("ping"), "{anna}");
    assert!(!stranger.contains("deals"), "{stranger}");
    assert!(!stranger.contains("inbox"), "{stranger}");
    assert!(stranger.contains("ping"), "ping stays open: {stranger}");
}
