//! Parsing of the stream commands' replies (`XREADGROUP`, `XPENDING`, `XAUTOCLAIM`) from raw
//! [`Value`]s, so the bus needs no typed-command feature of the client and accepts both RESP2
//! arrays and RESP3 maps.

use deadpool_redis::redis::Value;

use crate::names::PAYLOAD_FIELD;

/// One entry as Redis returned it. `payload` is `None` when the entry was deleted (trimmed)
/// while still pending: Redis then returns its id with no fields.
#[derive(Debug)]
pub(super) struct RawEntry {
    pub id: String,
    pub payload: Option<String>,
}

/// A bulk or simple string.
pub(super) fn string(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn int(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => string(other).and_then(|text| text.parse().ok()),
    }
}

fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        _ => &[],
    }
}

/// `[[id, [field, value, …] | nil], …]`. An entry without a `payload` field (written by
/// something else) gets an empty payload so that its handler rejects it instead of it being
/// dropped silently.
pub(super) fn entries(value: &Value) -> Vec<RawEntry> {
    items(value)
        .iter()
        .filter_map(|entry| {
            let [id, fields] = items(entry) else {
                return None;
            };
            let id = string(id)?;
            let payload = match fields {
                Value::Nil => None,
                Value::Map(pairs) => Some(
                    pairs
                        .iter()
                        .find(|(name, _)| string(name).as_deref() == Some(PAYLOAD_FIELD))
                        .and_then(|(_, value)| string(value))
                        .unwrap_or_default(),
                ),
                fields => Some(
                    items(fields)
                        .chunks(2)
                        .find(|pair| string(&pair[0]).as_deref() == Some(PAYLOAD_FIELD))
                        .and_then(|pair| pair.get(1).and_then(string))
                        .unwrap_or_default(),
                ),
            };
            Some(RawEntry { id, payload })
        })
        .collect()
}

/// The entries of the one stream an `XREADGROUP` asked for (`nil` when the block timed out).
pub(super) fn read_reply(value: &Value) -> Vec<RawEntry> {
    match value {
        Value::Nil => Vec::new(),
        Value::Map(streams) => streams
            .first()
            .map(|(_, list)| entries(list))
            .unwrap_or_default(),
        streams => items(streams)
            .first()
            .map(|stream| match items(stream) {
                [_, list] => entries(list),
                _ => Vec::new(),
            })
            .unwrap_or_default(),
    }
}

/// Extended `XPENDING` reply: `[[id, consumer, idle_ms, deliveries], …]` as `(id, deliveries)`.
pub(super) fn pending_counts(value: &Value) -> Vec<(String, u64)> {
    items(value)
        .iter()
        .filter_map(|row| match items(row) {
            [id, _, _, deliveries] => Some((string(id)?, int(deliveries)?)),
            _ => None,
        })
        .collect()
}

/// `XAUTOCLAIM` reply: `[next_cursor, entries, deleted_ids]` (the last one since Redis 7).
pub(super) fn autoclaim_reply(value: &Value) -> (String, Vec<RawEntry>) {
    let parts = items(value);
    let cursor = parts
        .first()
        .and_then(string)
        .unwrap_or_else(|| "0-0".to_owned());
    let claimed = parts.get(1).map(entries).unwrap_or_default();
    (cursor, claimed)
}

/// One field of an `XINFO` record (a RESP2 flat key/value array or a RESP3 map).
fn info_field<'a>(info: &'a Value, name: &str) -> Option<&'a Value> {
    match info {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(key, _)| string(key).as_deref() == Some(name))
            .map(|(_, value)| value),
        other => items(other)
            .chunks(2)
            .find(|pair| pair.first().and_then(string).as_deref() == Some(name))
            .and_then(|pair| pair.get(1)),
    }
}

/// From `XINFO GROUPS`: `(pending, lag)` of the group named `group` (RESP2 flat key/value
/// arrays or RESP3 maps); `None` when no such group. `lag` is nil before Redis 7 or when the
/// server cannot tell.
pub(super) fn group_info(value: &Value, group: &str) -> Option<(u64, Option<u64>)> {
    items(value).iter().find_map(|info| {
        if info_field(info, "name").and_then(string).as_deref() != Some(group) {
            return None;
        }
        let pending = info_field(info, "pending").and_then(int).unwrap_or(0);
        Some((pending, info_field(info, "lag").and_then(int)))
    })
}

/// From `XINFO CONSUMERS`: each consumer's `(name, pending, idle_ms)`.
pub(super) fn consumers(value: &Value) -> Vec<(String, u64, u64)> {
    items(value)
        .iter()
        .filter_map(|info| {
            let name = info_field(info, "name").and_then(string)?;
            let pending = info_field(info, "pending").and_then(int).unwrap_or(0);
            let idle = info_field(info, "idle").and_then(int).unwrap_or(0);
            Some((name, pending, idle))
        })
        .collect()
}

/// From the summary form of `XPENDING stream group`: the milliseconds part of the oldest
/// pending entry's id (the time Redis added it), or `None` with nothing pending.
pub(super) fn oldest_pending_ms(value: &Value) -> Option<u64> {
    let summary = items(value);
    let oldest = string(summary.get(1)?)?;
    oldest.split_once('-')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn a_read_reply_yields_payloads_and_deleted_entries() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("s"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("1-0"),
                    Value::Array(vec![bulk("payload"), bulk("a")]),
                ]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
            ]),
        ])]);
        let parsed = read_reply(&reply);
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            (parsed[0].id.as_str(), parsed[0].payload.as_deref()),
            ("1-0", Some("a"))
        );
        assert_eq!(
            (parsed[1].id.as_str(), parsed[1].payload.as_deref()),
            ("2-0", None)
        );
    }

    #[test]
    fn pending_counts_read_the_delivery_column() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("1-0"),
            bulk("c"),
            Value::Int(5),
            Value::Int(3),
        ])]);
        assert_eq!(pending_counts(&reply), vec![("1-0".to_owned(), 3)]);
    }
}
