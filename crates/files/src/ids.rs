//! Which ids a file has already used, in constant memory: a Bloom filter of 2²⁴ bits (2 MiB,
//! allocated zeroed so the system maps pages only as bits are set) with four probes per id. An id
//! the filter has never seen is certainly new; one it may have seen is kept as a *suspect*. A file
//! with no suspect has unique ids; otherwise a second pass over the file settles each suspect
//! exactly (see `scan::unique`). With 200,000 distinct ids about one id in 200,000 is a false
//! suspect, so the second pass is rare for files that are right.

use std::collections::HashSet;

/// log2 of the filter's bits.
const BITS_LOG2: u32 = 24;
/// Probes per id.
const PROBES: u64 = 4;

/// The filter and its suspects (see the module documentation).
pub(crate) struct IdFilter {
    bits: Vec<u64>,
    suspects: HashSet<String>,
}

impl IdFilter {
    /// An empty filter.
    pub(crate) fn new() -> IdFilter {
        IdFilter {
            bits: vec![0; 1 << (BITS_LOG2 - 6)],
            suspects: HashSet::new(),
        }
    }

    /// Adds an id; keeps it as a suspect when the filter may have seen it before.
    pub(crate) fn insert(&mut self, id: &str) {
        let hash = hash(id);
        let (a, b) = (hash & 0xFFFF_FFFF, (hash >> 32) | 1);
        let mask = (1u64 << BITS_LOG2) - 1;
        let mut seen = true;
        for i in 0..PROBES {
            let bit = a.wrapping_add(i.wrapping_mul(b)) & mask;
            let (word, bit) = ((bit >> 6) as usize, bit & 63);
            seen &= self.bits[word] & (1 << bit) != 0;
            self.bits[word] |= 1 << bit;
        }
        if seen && !self.suspects.contains(id) {
            self.suspects.insert(id.to_owned());
        }
    }

    /// The ids that may appear more than once (a superset of those that do).
    pub(crate) fn into_suspects(self) -> HashSet<String> {
        self.suspects
    }
}

/// FNV-1a over the id's bytes, mixed by MurmurHash3's 64-bit finaliser so that both halves of
/// the hash are usable probes (ids are short; a filter needs speed, not resistance to attack).
fn hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_repeated_id_is_a_suspect_and_few_others_are() {
        let mut filter = IdFilter::new();
        for i in 0..200_000 {
            filter.insert(&format!("r{i:06}"));
        }
        filter.insert("r000007");
        filter.insert("r199999");
        let suspects = filter.into_suspects();
        assert!(suspects.contains("r000007") && suspects.contains("r199999"));
        assert!(suspects.len() < 20, "{} suspects", suspects.len());
    }
}
