//! The source keys in scope a verification has compared, remembered as 64-bit
//! fingerprints, so that the search for extra target keys need not ask the
//! source about each target key: a target key whose source key was compared is
//! not extra. Fingerprints are keyed by a random seed per run; two different
//! keys share one with a probability of 2^-64, and a target key mistaken that
//! way for a compared one would not be reported extra.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// The fingerprints are already uniform: the set uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in all the same.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Source keys compared, by (source database, name).
pub(crate) struct Seen {
    seed: RandomState,
    keys: HashSet<u64, BuildHasherDefault<Identity>>,
    /// Keys remembered at most; `None`: all.
    cap: Option<usize>,
}

impl Seen {
    /// An empty set that remembers at most `cap` keys (`None`: all of them).
    pub(crate) fn new(cap: Option<usize>) -> Seen {
        Seen {
            seed: RandomState::new(),
            keys: HashSet::default(),
            cap,
        }
    }

    fn fingerprint(&self, db: u64, key: &[u8]) -> u64 {
        self.seed.hash_one((db, key))
    }

    /// Remembers a compared key, unless the set is full; whether it was not
    /// remembered before (`false` also past the cap).
    pub(crate) fn insert(&mut self, db: u64, key: &[u8]) -> bool {
        if self.cap.is_some_and(|cap| self.keys.len() >= cap) {
            return false;
        }
        let f = self.fingerprint(db, key);
        self.keys.insert(f)
    }

    /// Whether a key was compared; `false` may also mean not remembered, past
    /// the cap.
    pub(crate) fn contains(&self, db: u64, key: &[u8]) -> bool {
        self.keys.contains(&self.fingerprint(db, key))
    }

    /// How many keys are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_its_cap() {
        let mut seen = Seen::new(Some(2));
        assert!(seen.insert(0, b"a"));
        assert!(seen.insert(1, b"a"));
        assert!(!seen.insert(0, b"a"), "known already");
        assert!(seen.contains(0, b"a") && seen.contains(1, b"a"));
        assert!(!seen.contains(2, b"a") && !seen.contains(0, b"b"));
        assert!(!seen.insert(0, b"c"), "past the cap");
        assert!(!seen.contains(0, b"c"));
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn uncapped_remembers_all() {
        let mut seen = Seen::new(None);
        for i in 0..10_000u32 {
            seen.insert(u64::from(i % 3), &i.to_be_bytes());
        }
        assert_eq!(seen.len(), 10_000);
        assert!((0..10_000u32).all(|i| seen.contains(u64::from(i % 3), &i.to_be_bytes())));
        assert!(!seen.contains(1, &0u32.to_be_bytes()));
    }
}
