//! The CRM's CSV import (`crm::parse_csv`).
//!
//! Properties beyond "does not panic":
//! * rows are named by lines after the header, in order (a rejected file names every bad
//!   row so);
//! * an accepted file round-trips: its records written back as CSV (the documented columns,
//!   values as the import normalised them) are read as the same records.
#![no_main]

use alfred_skills_biz::crm::import::{OWNER_SLACK_COLUMN, REQUIRED_COLUMNS};
use alfred_skills_biz::crm::{parse_csv, ImportError, Record};
use libfuzzer_sys::fuzz_target;

fn write_back(records: &[Record]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = REQUIRED_COLUMNS.to_vec();
    header.push(OWNER_SLACK_COLUMN);
    writer.write_record(&header).expect("a header writes");
    for record in records {
        let contact = record.contact.as_ref();
        let deal = record.deal.as_ref();
        let row = [
            record.company.clone(),
            contact.map(|c| c.name.clone()).unwrap_or_default(),
            contact.and_then(|c| c.email.clone()).unwrap_or_default(),
            deal.map(|d| d.name.clone()).unwrap_or_default(),
            deal.map(|d| d.stage.clone()).unwrap_or_default(),
            deal.map(|d| d.amount.to_decimal()).unwrap_or_default(),
            deal.map(|d| d.currency.clone()).unwrap_or_default(),
            deal.and_then(|d| d.close_date)
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            deal.and_then(|d| d.owner.clone())
                .or_else(|| record.owner_slack.as_ref().map(|(_, owner)| owner.clone()))
                .unwrap_or_default(),
            record
                .owner_slack
                .as_ref()
                .map(|(slack, _)| slack.clone())
                .unwrap_or_default(),
        ];
        writer.write_record(&row).expect("a row writes");
    }
    writer.into_inner().expect("a buffer flushes")
}

/// Records without their line numbers (a quoted field may span lines).
fn unlined(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .cloned()
        .map(|record| Record { line: 0, ..record })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    match parse_csv(data) {
        Ok(records) => {
            for pair in records.windows(2) {
                assert!(
                    pair[0].line < pair[1].line,
                    "lines out of order: {records:?}"
                );
            }
            assert!(records.first().is_none_or(|record| record.line >= 2));
            let written = write_back(&records);
            let again = parse_csv(&written).unwrap_or_else(|error| {
                panic!(
                    "written back, the import is refused: {error}\n{}",
                    String::from_utf8_lossy(&written)
                )
            });
            assert_eq!(unlined(&again), unlined(&records));
        }
        Err(ImportError::Rows(errors)) => {
            assert!(!errors.is_empty());
            assert!(errors.iter().all(|error| error.line >= 2), "{errors:?}");
        }
        Err(_) => {}
    }
});
