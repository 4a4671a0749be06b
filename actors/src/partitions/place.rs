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
//! * Assignment (rendezvous hashing): partition `p` belongs to the live replica with the highest
//!   `mix(fnv1a64(replica ++ "/" ++ p))` (`p` in decimal, `mix` the SplitMix64 finaliser), ties to
//!   the smaller replica id. A replica joining takes about 1/R of the partitions from the others;
//!   one leaving gives only its own away.

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

/// The owner of `partition` among `replicas` (rendezvous hashing); `None` with no replica.
pub fn owner_of(partition: u32, replicas: &[String]) -> Option<&str> {
    replicas
        .iter()
        .map(|replica| {
            let weight = mix(fnv1a64(format!("{replica}/{partition}").as_bytes()));
            (weight, replica.as_str())
        })
        // Highest weight wins; of equal weights, the smaller id (so `Reverse` on the id).
        .max_by(|(wa, ra), (wb, rb)| wa.cmp(wb).then_with(|| rb.cmp(ra)))
        .map(|(_, replica)| replica)
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

    #[test]
    fn every_replica_computes_the_same_owners_whatever_the_order_of_the_live_set() {
        let a = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let b = vec!["c".to_owned(), "a".to_owned(), "b".to_owned()];
        for p in 0..64 {
            assert_eq!(owner_of(p, &a), owner_of(p, &b));
        }
        assert_eq!(owner_of(0, &[]), None);
    }

    #[test]
    fn a_replica_leaving_gives_away_only_its_own_partitions() {
        let three = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let two = vec!["a".to_owned(), "b".to_owned()];
        let mut owned_by_c = 0;
        for p in 0..64 {
            let before = owner_of(p, &three);
            if before == Some("c") {
                owned_by_c += 1;
            } else {
                assert_eq!(before, owner_of(p, &two), "partition {p} moved needlessly");
            }
        }
        assert!(
            owned_by_c > 5 && owned_by_c < 40,
            "c owned {owned_by_c} of 64"
        );
    }
}
