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

/// The Home skills' configuration: the households' briefing templates (sent outside WhatsApp's
/// 24-hour window) and chore quiet hours, by household.
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
    alfred_skills_home::HomeSkillsConfig {
        briefing_templates,
        quiet_hours,
    }
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
