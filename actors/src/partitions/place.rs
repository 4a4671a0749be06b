//! Where a message goes and who reads it: the partition of a conversation, and the owner of a
//! partition among the live replicas.
//!
//! Both are pure functions of their inputs, computed the same way by every replica and every
//! version of Alfred. **Neither may ever change**: a different placement would put a
//! conversation's next message on another partition than its previous one (two owners, order
//! lost) while both are in flight; a different assignment would make replicas of two versions
//! disagree on owners during a rolling deploy (they would only take turns on the leases, but
//! every turn is a rebalance).
//!
//! * Placement: `fnv1a64(platform ++ ":" ++ conversation) mod N`, FNV-1a 64-bit over the UTF-8
//!   bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`), the platform as
//!   [`Platform::as_str`] (`whatsapp`, `slack`), the conversation as in the envelope.
//! * Assignment (rendezvous hashing with bounded loads): each partition ranks the live replicas
//!   by `mix(fnv1a64(replica ++ "/" ++ p))` (`p` in decimal, `mix` the SplitMix64 finaliser),
//!   highest first, ties to the smaller replica id. Partitions are assigned in order `0..N`, each
//!   to the first replica of its ranking that still has room, where every replica holds
//!   `⌊N/R⌋` partitions and `N mod R` of them one more (the first to reach `⌊N/R⌋` and be
//!   chosen again). So `R` replicas always split the partitions evenly — plain rendezvous
//!   hashing left one of two replicas with three of four partitions in most runs — and a
//!   replica joining or leaving moves its own share and a few more.

use crate::messages::Platform;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// SplitMix64's finaliser: spreads FNV's low-entropy high bits for the rendezvous weights.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The partition (`0..partitions`) of a conversation. `partitions` 0 counts as 1.
pub fn partition_of(platform: Platform, conversation: &str, partitions: u32) -> u32 {
    let key = format!("{}:{conversation}", platform.as_str());
    let n = u64::from(partitions.max(1));
    // The remainder is below `partitions`, so it fits.
    u32::try_from(fnv1a64(key.as_bytes()) % n).unwrap_or(0)
}

/// A partition's weight for a replica: the higher, the more the partition wants that replica.
fn weight(replica: &str, partition: u32) -> u64 {
    mix(fnv1a64(format!("{replica}/{partition}").as_bytes()))
}

/// The owner of each partition `0..partitions` among `replicas` (rendezvous hashing with
/// bounded loads, see the module's documentation); empty with no replica. The same for any
/// order of `replicas`; a replica listed twice counts once.
pub fn owners(partitions: u32, replicas: &[String]) -> Vec<&str> {
    let mut live: Vec<&str> = replicas.iter().map(String::as_str).collect();
    live.sort_unstable();
    live.dedup();
    if live.is_empty() {
        return Vec::new();
    }
    let count = u32::try_from(live.len()).unwrap_or(u32::MAX);
    let (floor, mut extra) = (partitions / count, partitions % count);
    let mut load = vec![0u32; live.len()];
    let mut assigned = Vec::with_capacity(partitions as usize);
    for partition in 0..partitions {
        let mut ranking: Vec<(u64, usize)> = live
            .iter()
            .enumerate()
            .map(|(i, replica)| (weight(replica, partition), i))
            .collect();
        // Highest weight first; of equal weights, the smaller id (the smaller index).
        ranking.sort_unstable_by(|(wa, ia), (wb, ib)| wb.cmp(wa).then(ia.cmp(ib)));
        // The loads sum to the partitions assigned so far and the room to `partitions`, so
        // some replica of the ranking always has room.
        let chosen = ranking
            .iter()
            .map(|(_, i)| *i)
            .find(|i| load[*i] < floor || (load[*i] == floor && extra > 0))
            .unwrap_or(ranking[0].1);
        if load[chosen] == floor {
            extra = extra.saturating_sub(1);
        }
        load[chosen] += 1;
        assigned.push(live[chosen]);
    }
    assigned
}

/// The owner of `partition` of `partitions` among `replicas`; `None` with no replica or a
/// partition out of range.
pub fn owner_of(partition: u32, partitions: u32, replicas: &[String]) -> Option<&str> {
    owners(partitions, replicas)
        .get(partition as usize)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placement_hash_never_changes() {
        // Fixed vectors: if one of these fails, the placement changed and a rolling deploy
        // would scramble conversations. Do not update them; revert the change.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(partition_of(Platform::WhatsApp, "34600000001", 8), 5);
        assert_eq!(partition_of(Platform::Slack, "C0123", 4), 0);
    }

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    /// How many partitions each replica holds.
    fn loads<'a>(owners: &[&'a str]) -> std::collections::BTreeMap<&'a str, u32> {
        let mut loads = std::collections::BTreeMap::new();
        for owner in owners {
            *loads.entry(*owner).or_default() += 1;
        }
        loads
    }

    #[test]
    fn the_assignment_never_changes() {
        // Fixed vectors, like the placement's: replicas of two versions must agree on owners.
        // Do not update them; revert the change.
        let two = ids(&["alfred-a-0badcafe", "alfred-b-12345678"]);
        assert_eq!(
            owners(4, &two),
            [
                "alfred-b-12345678",
                "alfred-a-0badcafe",
                "alfred-a-0badcafe",
                "alfred-b-12345678"
            ]
        );
    }

    #[test]
    fn every_replica_computes_the_same_owners_whatever_the_order_of_the_live_set() {
        let a = ids(&["a", "b", "c"]);
        let b = ids(&["c", "a", "b", "a"]);
        assert_eq!(owners(64, &a), owners(64, &b));
        assert_eq!(owner_of(5, 64, &a), owners(64, &a).get(5).copied());
        assert_eq!(owner_of(0, 8, &[]), None);
        assert_eq!(owner_of(8, 8, &a), None);
        assert!(owners(0, &a).is_empty());
    }

    #[test]
    fn the_partitions_are_split_evenly_whatever_the_replica_ids() {
        for partitions in [1, 2, 3, 4, 5, 8, 10, 16, 64] {
            for replicas in 1..=6u32 {
                for draw in 0..50 {
                    let live: Vec<String> = (0..replicas)
                        .map(|r| format!("host-{r}-{:08x}", fnv1a64(&[draw, r as u8]) as u32))
                        .collect();
                    let owners = owners(partitions, &live);
                    assert_eq!(owners.len(), partitions as usize);
                    let loads = loads(&owners);
                    let (floor, ceil) = (partitions / replicas, partitions.div_ceil(replicas));
                    let holders = u32::try_from(loads.len()).unwrap();
                    assert_eq!(holders, replicas.min(partitions), "{partitions}/{replicas}");
                    assert!(
                        loads.values().all(|n| *n == floor || *n == ceil),
                        "{partitions} partitions over {live:?}: {loads:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_replica_leaving_or_joining_moves_its_share_and_few_more() {
        // Plain rendezvous hashing moves only the leaver's partitions; bounded loads move a
        // few more (a partition that had to settle for its second choice may get its first).
        // Over many draws, at most half again as many as the leaver held move in all.
        let (mut own, mut moved) = (0, 0);
        for draw in 0..100u8 {
            let three: Vec<String> = ["a", "b", "c"]
                .iter()
                .map(|name| format!("{name}-{draw}"))
                .collect();
            let two = &three[..2];
            let before = owners(64, &three);
            let after = owners(64, two);
            for (was, is) in before.iter().zip(&after) {
                if *was == three[2] {
                    own += 1;
                } else if was != is {
                    moved += 1;
                }
            }
        }
        assert!(own > 0);
        assert!(
            moved * 2 <= own,
            "{moved} others moved with {own} of the leaver's"
        );
    }
}
