//! Every Home skill is the family's: with a households file only members may use them, and a
//! stranger is offered none of them (not even in help).

use alfred_actors::access::{Asker, Refusal};
use alfred_actors::orchestrator::help_text;
use alfred_skills_home::skills;

fn asker(member: bool) -> Asker {
    Asker {
        sender: "4915550000000".to_owned(),
        member,
    }
}

#[test]
fn every_home_skill_is_for_members_only() {
    for entry in skills(&Default::default()) {
        assert_eq!(entry.access.check(&asker(true)), Ok(()), "{}", entry.name());
        assert_eq!(
            entry.access.check(&asker(false)),
            Err(Refusal::Stranger),
            "{}",
            entry.name()
        );
    }
}

#[test]
fn help_offers_a_stranger_nothing_and_a_member_everything() {
    let skills = skills(&Default::default());

    let member = help_text(&skills, &asker(true), "help");
    let stranger = help_text(&skills, &asker(false), "help");

    assert!(member.contains("add milk"), "{member}");
    assert!(!stranger.contains('•'), "no skill listed: {stranger}");
}
