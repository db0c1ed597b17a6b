use std::{
    fmt,
    hash::{BuildHasherDefault, Hash, Hasher},
};

use serde::{Deserialize, Serialize};

/// An Engine.IO session id: 20 characters of URL-safe base64, as Node sends.
///
/// ```
/// use socketio_protocol::engine::Sid;
///
/// let sid = Sid::from_random_bytes([7; 15]);
/// assert_eq!(sid.as_str().len(), 20);
/// assert_eq!(sid.as_str().parse::<Sid>(), Ok(sid));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sid([u8; 20]);

impl Sid {
    /// Builds a sid from 15 random bytes (120 bits).
    pub fn from_random_bytes(bytes: [u8; 15]) -> Sid {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = [0u8; 20];
        for (chunk, o) in bytes.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
            let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
            for (i, c) in o.iter_mut().enumerate() {
                *c = ALPHABET[(n >> (18 - 6 * i) & 63) as usize];
            }
        }
        Sid(out)
    }

    /// The sid as text.
    pub fn as_str(&self) -> &str {
        // Only built from the ASCII alphabet above (or checked in `from_str`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A string that is not a valid [`Sid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSid;

impl fmt::Display for InvalidSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid session id")
    }
}

impl std::error::Error for InvalidSid {}

impl std::str::FromStr for Sid {
    type Err = InvalidSid;
    fn from_str(s: &str) -> Result<Sid, InvalidSid> {
        let bytes: [u8; 20] = s.as_bytes().try_into().map_err(|_| InvalidSid)?;
        if bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            Ok(Sid(bytes))
        } else {
            Err(InvalidSid)
        }
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Sid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sid, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A sid hashes as one 64-bit word folded from its 20 bytes, which any
/// hasher takes faster than the bytes themselves, and which [`SidHasher`]
/// takes as it is.
impl Hash for Sid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let word = |at: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&self.0[at..at + 8]);
            u64::from_le_bytes(w)
        };
        state.write_u64(word(0) ^ word(8).rotate_left(21) ^ word(12).rotate_left(42));
    }
}

/// A [`Hasher`] for maps and sets keyed by the [`Sid`]s a server made: the
/// hash is the word a sid folds to, where the standard hasher runs SipHash
/// over it. The fold spreads a random sid over the low bits (which pick a
/// table's bucket) and the high ones (a tag, and a `DashMap`'s shard) alike.
/// For sids only: other keys get FNV-1a, unmixed.
///
/// It has no seed, so it is not for keys that a peer chooses (a peer could
/// send many that collide); a server's own sids are 120 random bits, which
/// no peer chooses, and a sid a peer sends is only ever looked up.
///
/// ```
/// use std::collections::HashSet;
/// use socketio_protocol::engine::{Sid, SidBuildHasher};
///
/// let mut sids: HashSet<Sid, SidBuildHasher> = HashSet::default();
/// let sid = Sid::from_random_bytes([7; 15]);
/// sids.insert(sid);
/// assert!(sids.contains(&sid.as_str().parse().unwrap()));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct SidHasher(u64);

/// Builds [`SidHasher`]s, for `HashMap::default()` and the like.
pub type SidBuildHasher = BuildHasherDefault<SidHasher>;

impl Hasher for SidHasher {
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }

    /// Keys other than a sid: FNV-1a over the bytes.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashSet, hash::BuildHasher};

    use super::*;

    /// Sids from a fixed stream of pseudo-random bytes.
    fn sids(n: usize) -> Vec<Sid> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|_| {
                let mut bytes = [0; 15];
                for b in &mut bytes {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = x.to_le_bytes()[3];
                }
                Sid::from_random_bytes(bytes)
            })
            .collect()
    }

    #[test]
    fn equal_sids_hash_alike_and_every_byte_counts() {
        let build = SidBuildHasher::default();
        let sid: Sid = "lv_VI97HAXpY6yYWAAAC".parse().unwrap();
        let again: Sid = "lv_VI97HAXpY6yYWAAAC".parse().unwrap();
        assert_eq!(build.hash_one(sid), build.hash_one(again));
        // A change in any one of the 20 characters changes the hash.
        let mut seen = HashSet::new();
        seen.insert(build.hash_one(sid));
        for at in 0..20 {
            let mut text = sid.as_str().to_owned().into_bytes();
            text[at] = if text[at] == b'x' { b'y' } else { b'x' };
            let other: Sid = String::from_utf8(text).unwrap().parse().unwrap();
            assert!(seen.insert(build.hash_one(other)), "character {at}");
        }
    }

    /// The low bits pick a bucket of a hash table, the top ones a tag and
    /// a shard of a `DashMap`: 65,536 random sids, hashed uniformly into
    /// 65,536 buckets, leave about 1/e of them (36.8 %) empty. Both by the
    /// low 16 bits and by the top 16, at least 62 % of the buckets are
    /// used.
    #[test]
    fn random_sids_spread_over_low_and_high_bits() {
        let build = SidBuildHasher::default();
        let mut low = HashSet::new();
        let mut high = HashSet::new();
        for sid in sids(65_536) {
            let h = build.hash_one(sid);
            low.insert(h & 0xffff);
            high.insert(h >> 48);
        }
        for (bits, used) in [("low", low.len()), ("high", high.len())] {
            assert!(
                used * 100 >= 62 * 65_536,
                "{bits} bits: {used} of 65,536 buckets used"
            );
        }
    }
}
