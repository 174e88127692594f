//! Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag, mod 16384.
//!
//! The hash tag is the text between the first `{` and the first `}` after it, when
//! not empty; otherwise the whole key is hashed. Source: `keyHashSlot` in `cluster.c`.

/// Number of slots in a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// The part of `key` that decides its slot.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

/// The slot of `key`.
pub fn slot(key: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(hash_tag(key)) % SLOTS
}

/// A short text whose slot is `slot` (taken modulo [`SLOTS`]): used in braces as a
/// hash tag, it puts a key of one's own in a chosen slot, e.g. next to a key whose
/// name has no usable tag of its own.
pub fn slot_tag(slot: u16) -> &'static str {
    static TAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        // Counting in base 36 covers every slot after about 170k candidates
        // (under a millisecond); the first hit per slot is kept, so tags are stable.
        let mut tags = vec![String::new(); usize::from(SLOTS)];
        let mut missing = tags.len();
        let mut n: u64 = 0;
        while missing > 0 {
            let tag = base36(n);
            let entry = &mut tags[usize::from(self::slot(tag.as_bytes()))];
            if entry.is_empty() {
                *entry = tag;
                missing -= 1;
            }
            n += 1;
        }
        tags
    });
    &tags[usize::from(slot % SLOTS)]
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_redis_reads_them() {
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        // From the Redis Cluster specification.
        assert_eq!(slot(b"123456789"), 0x31c3);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
    }

    #[test]
    fn every_slot_has_a_tag_of_its_own() {
        for s in 0..SLOTS {
            let tag = slot_tag(s);
            assert!(tag.len() <= 4 && !tag.contains(['{', '}']), "{tag}");
            assert_eq!(slot(format!("x:{{{tag}}}:y").as_bytes()), s);
        }
        assert_eq!(slot_tag(SLOTS + 5), slot_tag(5));
    }
}
