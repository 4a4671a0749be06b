//! The instance's catalogue of skills: which skills this process loads, in routing order.
//!
//! Each skills crate owns its catalogue (`alfred_skills_home::skills`,
//! `alfred_skills_biz::skills`) and takes what it needs from the deployment's configuration as
//! a plain struct; this module only picks the instance's crate and translates [`Settings`] into
//! that struct. A single-instance build compiles one of the two crates: the other instance's
//! arm then yields no skills, and [`ensure_built_with`] refuses to start it.

use alfred_actors::skill::SkillEntry;
use alfred_config::{Instance, Settings};

/// The skills of the instance `settings` chooses, in routing order.
pub fn instance_skills(settings: &Settings) -> Vec<SkillEntry> {
    match settings.instance {
        Instance::Home => home_skills(settings),
        Instance::Biz => biz_skills(settings),
    }
}

#[cfg(feature = "home")]
fn home_skills(settings: &Settings) -> Vec<SkillEntry> {
    alfred_skills_home::skills(&home_config(settings))
}

#[cfg(not(feature = "home"))]
fn home_skills(_: &Settings) -> Vec<SkillEntry> {
    Vec::new()
}

#[cfg(feature = "biz")]
fn biz_skills(settings: &Settings) -> Vec<SkillEntry> {
    alfred_skills_biz::skills(&biz_config(settings))
}

#[cfg(not(feature = "biz"))]
fn biz_skills(_: &Settings) -> Vec<SkillEntry> {
    Vec::new()
}

/// Whether this binary was built with the instance's skills (cargo features `home`, `biz`).
pub fn built_with(instance: Instance) -> bool {
    match instance {
        Instance::Home => cfg!(feature = "home"),
        Instance::Biz => cfg!(feature = "biz"),
    }
}

/// Refuses an instance whose skills are not compiled in: a Biz release build contains no Home
/// code, so `INSTANCE=home` on it would start an assistant that understands nothing.
pub fn ensure_built_with(instance: Instance) -> anyhow::Result<()> {
    if built_with(instance) {
        return Ok(());
    }
    anyhow::bail!(
        "INSTANCE={instance}, but this alfred binary was built without the `{instance}` feature \
         (it contains only the other instance's skills); use the {instance} build or \
         `cargo build --features {instance}`"
    )
}

/// The Home skills' configuration: the households' briefing and reminder templates (sent outside
/// WhatsApp's 24-hour window), chore quiet hours (which reminders keep out of too) and members,
/// by household.
#[cfg(feature = "home")]
fn home_config(settings: &Settings) -> alfred_skills_home::HomeSkillsConfig {
    use alfred_skills_home::briefing::{BriefingTemplate, TemplateField};

    let briefing_templates = settings
        .households
        .iter()
        .filter_map(|household| {
            let template = household.briefing.as_ref()?.template.as_ref()?;
            let mut briefing = BriefingTemplate::new(&template.name, &template.language);
            // Names were validated with the households file; none given means all fields.
            if !template.parameters.is_empty() {
                briefing.parameters = template
                    .parameters
                    .iter()
                    .filter_map(|key| TemplateField::from_key(key))
                    .collect();
            }
            Some((household.id.clone(), briefing))
        })
        .collect();
    let quiet_hours = settings
        .households
        .iter()
        .filter_map(|household| {
            let quiet = household.chores.as_ref()?.quiet_hours?;
            Some((household.id.clone(), quiet))
        })
        .collect();
    let members = settings
        .households
        .iter()
        .map(|household| {
            let members = household
                .members
                .iter()
                .map(|m| (m.name.clone(), m.whatsapp.clone()))
                .collect();
            (household.id.clone(), members)
        })
        .collect();
    let reminder_templates = settings
        .households
        .iter()
        .filter_map(|household| {
            let template = household.reminders.as_ref()?.template.as_ref()?;
            Some((
                household.id.clone(),
                alfred_skills_home::reminders::ReminderTemplate {
                    name: template.name.clone(),
                    language: template.language.clone(),
                },
            ))
        })
        .collect();
    alfred_skills_home::HomeSkillsConfig {
        briefing_templates,
        quiet_hours,
        members,
        reminder_templates,
    }
}

/// The skills' own due runs the scheduler looks for (the Home reminders), on the process's
/// store: Postgres (`pool`) in durable mode, the in-memory store (`mem`) in ephemeral mode.
pub fn instance_due_runs(
    settings: &Settings,
    pool: Option<&deadpool_postgres::Pool>,
    mem: Option<&std::sync::Arc<alfred_actors::store::MemStore>>,
) -> Vec<std::sync::Arc<dyn alfred_actors::scheduler::DueRuns>> {
    match settings.instance {
        Instance::Home => home_due_runs(settings, pool, mem),
        Instance::Biz => Vec::new(),
    }
}

#[cfg(feature = "home")]
fn home_due_runs(
    settings: &Settings,
    pool: Option<&deadpool_postgres::Pool>,
    mem: Option<&std::sync::Arc<alfred_actors::store::MemStore>>,
) -> Vec<std::sync::Arc<dyn alfred_actors::scheduler::DueRuns>> {
    use alfred_skills_home::reminders::due::{MemDueReminders, PgDueReminders};
    let quiet_hours = home_config(settings).reminders().quiet_hours;
    match (pool, mem) {
        (Some(pool), _) => vec![std::sync::Arc::new(PgDueReminders::new(
            pool.clone(),
            quiet_hours,
        ))],
        (None, Some(mem)) => vec![std::sync::Arc::new(MemDueReminders::new(
            mem.clone(),
            quiet_hours,
        ))],
        (None, None) => Vec::new(),
    }
}

#[cfg(not(feature = "home"))]
fn home_due_runs(
    _: &Settings,
    _: Option<&deadpool_postgres::Pool>,
    _: Option<&std::sync::Arc<alfred_actors::store::MemStore>>,
) -> Vec<std::sync::Arc<dyn alfred_actors::scheduler::DueRuns>> {
    Vec::new()
}

/// The Biz skills' configuration: who may read the work inbox (none without one) and who may
/// ask the CRM.
#[cfg(feature = "biz")]
fn biz_config(settings: &Settings) -> alfred_skills_biz::BizSkillsConfig {
    alfred_skills_biz::BizSkillsConfig {
        inbox_readers: settings
            .imap
            .as_ref()
            .map(|imap| imap.readers.clone())
            .unwrap_or_default(),
        crm_readers: settings.crm_readers.clone(),
    }
}
