//! What a briefing says: the data read for it ([`Briefing`]) and the fields a WhatsApp template's
//! parameters are filled with ([`TemplateField`]), shared by `sources`, `render` and `delivery`.

use chrono::{NaiveDate, NaiveTime};

use crate::chores::DueChore;
use crate::grocery::ListedItem;

/// Everything a briefing says, read from the household's data. `None` marks a source that
/// could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Briefing {
    /// The household's local date.
    pub date: NaiveDate,
    /// Chores due today (not overdue), with whose turn it is.
    pub chores_today: Option<Vec<DueChore>>,
    /// Reminders: the overdue chores, most overdue first.
    pub reminders: Option<Vec<DueChore>>,
    /// Reminders members set that are due today (local time, text: "Sam: put the bins out"),
    /// soonest first.
    pub set_today: Option<Vec<(NaiveTime, String)>>,
    /// Items still to buy (bought ones left out), in order of addition.
    pub shopping: Option<Vec<ListedItem>>,
}

/// A value a template parameter is filled with (see `render::parameter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateField {
    /// "Thursday, 26 November 2026": the household's local date.
    Date,
    /// Chores due today with whose turn it is: "dishes (Sam), water plants".
    Chores,
    /// Items still to buy: "3 items: 2 kg apples, bananas, milk".
    Shopping,
    /// Overdue chores: "laundry (Dana, 2 days overdue)".
    Reminders,
}

impl TemplateField {
    /// Every field, in the order of the default parameters.
    pub const ALL: [TemplateField; 4] = [
        TemplateField::Date,
        TemplateField::Chores,
        TemplateField::Shopping,
        TemplateField::Reminders,
    ];

    /// The name used in the households file: `date`, `chores`, `shopping`, `reminders`.
    pub fn key(self) -> &'static str {
        match self {
            TemplateField::Date => "date",
            TemplateField::Chores => "chores",
            TemplateField::Shopping => "shopping",
            TemplateField::Reminders => "reminders",
        }
    }

    /// The field named `key`, if any.
    pub fn from_key(key: &str) -> Option<TemplateField> {
        TemplateField::ALL
            .into_iter()
            .find(|field| field.key() == key.trim())
    }
}
