//! Households: who belongs together, their time zone, and their scheduled jobs.
//!
//! Read from the TOML file named by `HOUSEHOLDS_FILE` (see
//! `docs/adr/2026-11-25-home-skills-architecture.md` for the format). A conversation that no
//! household claims is its own household, in `DEFAULT_TIMEZONE`.

use std::collections::HashSet;
use std::time::Duration;

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;

/// One household: a family sharing one shopping list, one set of chores, one briefing.
#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    /// Stable key used in every table.
    pub id: String,
    /// Display name.
    pub name: String,
    /// IANA time zone of the household's local times.
    pub timezone: Tz,
    /// WhatsApp group ids that belong to the household.
    pub groups: Vec<String>,
    /// Members, in the order given (rotations may use it).
    pub members: Vec<Member>,
    /// The morning briefing, when configured.
    pub briefing: Option<BriefingSettings>,
    /// Chore reminders, when configured.
    pub chores: Option<ChoreSettings>,
    /// The reminders members set ("remind me …"), when anything about them is configured.
    pub reminders: Option<ReminderSettings>,
}

/// `[household.reminders]`: reminders members set work without it; it only names the approved
/// WhatsApp template a reminder goes out as outside the 24-hour window (its one body parameter
/// is the reminder's text). Quiet hours are the household's `chores.quiet_hours`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSettings {
    pub template: Option<TemplateSettings>,
}

/// A member of a household and their platform ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// WhatsApp `wa_id` (digits).
    pub whatsapp: Option<String>,
}

/// When and where the morning briefing goes.
#[derive(Debug, Clone, PartialEq)]
pub struct BriefingSettings {
    /// Local time of day.
    pub time: NaiveTime,
    /// Where it is sent.
    pub to: BriefingTarget,
    /// How late a briefing may still be sent after Alfred was down at its due time.
    pub catch_up: Duration,
    /// The approved template sent outside WhatsApp's 24-hour window.
    pub template: Option<TemplateSettings>,
}

/// The conversation a household's scheduled messages go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BriefingTarget {
    /// The household's first group.
    Group,
    /// A member's direct chat, by member name.
    Member(String),
}

/// A WhatsApp message template approved by Meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSettings {
    pub name: String,
    pub language: String,
    /// What fills the template's body parameters `{{1}}`, `{{2}}`, … in order: names from
    /// [`BRIEFING_TEMPLATE_FIELDS`]. Empty: all of them, in that order.
    pub parameters: Vec<String>,
}

/// The values a briefing template's parameters can be filled with (the morning briefing
/// renders each as one line): the local date, today's chores, the shopping list, reminders.
pub const BRIEFING_TEMPLATE_FIELDS: [&str; 4] = ["date", "chores", "shopping", "reminders"];

/// Chore reminders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoreSettings {
    /// Local time of the daily reminder.
    pub reminder_time: Option<NaiveTime>,
    /// Local quiet hours `(from, until)`, possibly across midnight: no reminders then.
    pub quiet_hours: Option<(NaiveTime, NaiveTime)>,
}

/// Default catch-up window of a briefing (minutes).
pub const DEFAULT_CATCH_UP_MINUTES: u64 = 120;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    household: Vec<RawHousehold>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHousehold {
    id: String,
    name: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    members: Vec<RawMember>,
    briefing: Option<RawBriefing>,
    chores: Option<RawChores>,
    reminders: Option<RawReminders>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReminders {
    template: Option<RawReminderTemplate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReminderTemplate {
    name: String,
    language: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    name: String,
    whatsapp: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBriefing {
    time: String,
    to: Option<String>,
    catch_up_minutes: Option<u64>,
    template: Option<RawTemplate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    name: String,
    language: String,
    #[serde(default)]
    parameters: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChores {
    reminder_time: Option<String>,
    quiet_hours: Option<String>,
}

/// Parses and validates a households file; every problem found is returned, each naming the
/// household and field.
pub fn parse(text: &str, default_timezone: Tz) -> Result<Vec<Household>, Vec<String>> {
    let file: File = toml::from_str(text).map_err(|error| vec![error.to_string()])?;
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    let mut claimed = HashSet::new();
    let mut households = Vec::with_capacity(file.household.len());
    for raw in file.household {
        let at = format!("household {:?}", raw.id);
        if raw.id.trim().is_empty() {
            problems.push("a household has an empty id".to_owned());
        }
        if !ids.insert(raw.id.clone()) {
            problems.push(format!("{at}: the id is used twice"));
        }
        let timezone = match &raw.timezone {
            None => default_timezone,
            Some(name) => name.parse::<Tz>().unwrap_or_else(|_| {
                problems.push(format!(
                    "{at}: timezone {name:?} is not an IANA time zone such as Europe/Berlin"
                ));
                default_timezone
            }),
        };
        for group in &raw.groups {
            if !claimed.insert(format!("group:{group}")) {
                problems.push(format!("{at}: group {group:?} belongs to two households"));
            }
        }
        let mut members = Vec::with_capacity(raw.members.len());
        for member in raw.members {
            if let Some(wa_id) = &member.whatsapp {
                if wa_id.is_empty() || !wa_id.chars().all(|c| c.is_ascii_digit()) {
                    problems.push(format!("{at}: member {:?}: whatsapp must be the number's digits, e.g. 4917012345678", member.name));
                }
                if !claimed.insert(format!("whatsapp:{wa_id}")) {
                    problems.push(format!("{at}: whatsapp {wa_id} belongs to two members"));
                }
            }
            members.push(Member {
                name: member.name,
                whatsapp: member.whatsapp,
            });
        }
        let briefing = raw
            .briefing
            .and_then(|b| briefing(&at, b, &raw.groups, &members, &mut problems));
        let chores = raw.chores.map(|c| ChoreSettings {
            reminder_time: c
                .reminder_time
                .and_then(|t| time(&at, "chores.reminder_time", &t, &mut problems)),
            quiet_hours: c
                .quiet_hours
                .and_then(|q| quiet_hours(&at, &q, &mut problems)),
        });
        let reminders = raw.reminders.map(|r| ReminderSettings {
            template: r.template.map(|t| TemplateSettings {
                name: t.name,
                language: t.language,
                parameters: vec!["text".to_owned()],
            }),
        });
        households.push(Household {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            id: raw.id,
            timezone,
            groups: raw.groups,
            members,
            briefing,
            chores,
            reminders,
        });
    }
    if problems.is_empty() {
        Ok(households)
    } else {
        Err(problems)
    }
}

fn briefing(
    at: &str,
    raw: RawBriefing,
    groups: &[String],
    members: &[Member],
    problems: &mut Vec<String>,
) -> Option<BriefingSettings> {
    let time = time(at, "briefing.time", &raw.time, problems)?;
    let to = match raw.to.as_deref() {
        None | Some("group") if !groups.is_empty() => BriefingTarget::Group,
        None | Some("group") => {
            problems.push(format!(
                "{at}: briefing.to is the group, but the household has no groups"
            ));
            return None;
        }
        Some(name) if members.iter().any(|m| m.name == name) => {
            BriefingTarget::Member(name.to_owned())
        }
        Some(name) => {
            problems.push(format!(
                "{at}: briefing.to {name:?} is neither \"group\" nor a member's name"
            ));
            return None;
        }
    };
    Some(BriefingSettings {
        time,
        to,
        catch_up: Duration::from_secs(
            60 * raw.catch_up_minutes.unwrap_or(DEFAULT_CATCH_UP_MINUTES),
        ),
        template: raw.template.map(|t| {
            for unknown in t
                .parameters
                .iter()
                .filter(|p| !BRIEFING_TEMPLATE_FIELDS.contains(&p.as_str()))
            {
                problems.push(format!(
                    "{at}: briefing.template.parameters has {unknown:?}; use {}",
                    BRIEFING_TEMPLATE_FIELDS.join(", ")
                ));
            }
            TemplateSettings {
                name: t.name,
                language: t.language,
                parameters: t.parameters,
            }
        }),
    })
}

fn time(at: &str, field: &str, raw: &str, problems: &mut Vec<String>) -> Option<NaiveTime> {
    match NaiveTime::parse_from_str(raw.trim(), "%H:%M") {
        Ok(time) => Some(time),
        Err(_) => {
            problems.push(format!("{at}: {field} {raw:?} is not a time such as 07:00"));
            None
        }
    }
}

fn quiet_hours(at: &str, raw: &str, problems: &mut Vec<String>) -> Option<(NaiveTime, NaiveTime)> {
    let Some((from, until)) = raw.split_once('-') else {
        problems.push(format!(
            "{at}: chores.quiet_hours {raw:?} is not a range such as 21:30-07:30"
        ));
        return None;
    };
    let from = time(at, "chores.quiet_hours", from, problems)?;
    let until = time(at, "chores.quiet_hours", until, problems)?;
    Some((from, until))
}

impl Household {
    /// The household a WhatsApp conversation belongs to: a group by its id, a direct chat by
    /// the member's number.
    pub fn claims_whatsapp(&self, conversation: &str) -> bool {
        self.groups.iter().any(|g| g == conversation)
            || self
                .members
                .iter()
                .any(|m| m.whatsapp.as_deref() == Some(conversation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        [[household]]
        id = "smiths"
        name = "The Smiths"
        timezone = "Europe/Berlin"
        groups = ["120363025555555555@g.us"]
        members = [
          { name = "Dana", whatsapp = "4917011111111" },
          { name = "Sam", whatsapp = "4917022222222" },
        ]
        [household.briefing]
        time = "07:00"
        template = { name = "morning_briefing", language = "en_US" }
        [household.chores]
        reminder_time = "18:00"
        quiet_hours = "21:30-07:30"
    "#;

    #[test]
    fn a_household_file_is_read_with_its_members_briefing_and_chores() {
        let households = parse(FILE, Tz::UTC).unwrap();

        let smiths = &households[0];
        assert_eq!(smiths.timezone, chrono_tz::Europe::Berlin);
        assert!(smiths.claims_whatsapp("4917022222222"));
        assert!(smiths.claims_whatsapp("120363025555555555@g.us"));
        assert!(!smiths.claims_whatsapp("4917033333333"));
        let briefing = smiths.briefing.as_ref().unwrap();
        assert_eq!(briefing.time, NaiveTime::from_hms_opt(7, 0, 0).unwrap());
        assert_eq!(briefing.to, BriefingTarget::Group);
        assert_eq!(briefing.catch_up, Duration::from_secs(120 * 60));
        let chores = smiths.chores.as_ref().unwrap();
        assert_eq!(
            chores.quiet_hours,
            Some((
                NaiveTime::from_hms_opt(21, 30, 0).unwrap(),
                NaiveTime::from_hms_opt(7, 30, 0).unwrap()
            ))
        );
    }

    #[test]
    fn every_problem_in_a_household_file_is_reported_at_once() {
        let text = r#"
            [[household]]
            id = "a"
            timezone = "Mars/Olympus"
            members = [{ name = "Dana", whatsapp = "+49 170" }]
            [household.briefing]
            time = "7 o'clock"
            [[household]]
            id = "a"
            members = [{ name = "Sam", whatsapp = "4917" }, { name = "Kim", whatsapp = "4917" }]
            [household.briefing]
            time = "07:00"
            to = "Grandma"
        "#;

        let problems = parse(text, Tz::UTC).unwrap_err();

        for expected in [
            "Mars/Olympus",
            "digits",
            "7 o'clock",
            "used twice",
            "two members",
            "Grandma",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected} missing from {problems:?}"
            );
        }
    }

    #[test]
    fn a_reminder_template_is_read_with_the_text_as_its_one_parameter() {
        let file = "[[household]]\nid = \"a\"\n[household.reminders]\n\
                    template = { name = \"family_reminder\", language = \"en_US\" }\n";
        let households = parse(file, Tz::UTC).unwrap();
        let template = households[0]
            .reminders
            .as_ref()
            .and_then(|r| r.template.clone())
            .unwrap();
        assert_eq!(template.name, "family_reminder");
        assert_eq!(template.language, "en_US");
        assert_eq!(template.parameters, vec!["text"]);
        assert_eq!(parse(FILE, Tz::UTC).unwrap()[0].reminders, None);
        // A misspelt key is refused, not ignored.
        let typo = "[[household]]\nid = \"a\"\n[household.reminders]\ntemplat = 1\n";
        assert!(parse(typo, Tz::UTC).is_err());
    }

    #[test]
    fn briefing_template_parameters_are_read_and_unknown_ones_reported() {
        let file = |parameters: &str| {
            format!(
                "[[household]]\nid = \"a\"\nmembers = [{{ name = \"Dana\" }}]\n\
                 [household.briefing]\ntime = \"07:00\"\nto = \"Dana\"\n\
                 template = {{ name = \"t\", language = \"en\", parameters = {parameters} }}\n"
            )
        };

        let households = parse(&file(r#"["date", "shopping"]"#), Tz::UTC).unwrap();
        let problems = parse(&file(r#"["date", "weather"]"#), Tz::UTC).unwrap_err();

        let template = households[0].briefing.as_ref().unwrap().template.clone();
        assert_eq!(template.unwrap().parameters, vec!["date", "shopping"]);
        assert!(
            problems.len() == 1 && problems[0].contains("weather"),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_rather_than_ignored() {
        let problems =
            parse("[[household]]\nid = \"a\"\ntimezon = \"UTC\"\n", Tz::UTC).unwrap_err();
        assert!(problems[0].contains("timezon"), "{problems:?}");
    }
}
