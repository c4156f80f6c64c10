//! Kinesis shard selection: MD5 of the partition key as a 128-bit big-endian integer, looked up in
//! the shards' hash-key ranges.

use md5::{Digest, Md5};

/// The hash key Kinesis derives from a partition key: the MD5 digest of its UTF-8 bytes read as
/// a big-endian unsigned 128-bit integer.
pub fn partition_key_hash(partition_key: &str) -> u128 {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    u128::from_be_bytes(digest)
}

/// Parses an explicit hash key (a decimal integer in `0..=2^128-1`).
pub fn parse_hash_key(hash_key: &str) -> Option<u128> {
    if hash_key.is_empty() || !hash_key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    hash_key.parse::<u128>().ok()
}

/// The hash-key ranges (inclusive) of a stream created with `shard_count` shards: the key space
/// `0..=2^128-1` cut into equal parts, shard `i` starting at `floor(i * 2^128 / shard_count)`.
/// This is what `CreateStream` produces on Kinesis. A `shard_count` of 0 is treated as 1.
pub fn shard_hash_ranges(shard_count: u32) -> Vec<(u128, u128)> {
    if shard_count <= 1 {
        return vec![(0, u128::MAX)];
    }
    let n = u128::from(shard_count);
    // 2^128 = q * n + r, computed without overflowing u128.
    let mut q = u128::MAX / n;
    let mut r = u128::MAX % n + 1;
    if r == n {
        q += 1;
        r = 0;
    }
    let start = |i: u128| i * q + (i * r) / n;
    (0..n)
        .map(|i| {
            let end = if i + 1 == n {
                u128::MAX
            } else {
                start(i + 1) - 1
            };
            (start(i), end)
        })
        .collect()
}

/// Index of the range that contains `hash`; `ranges` must be sorted and cover the key space.
pub(crate) fn shard_for_hash(ranges: &[(u128, u128)], hash: u128) -> usize {
    let idx = ranges.partition_point(|&(_, end)| end < hash);
    idx.min(ranges.len().saturating_sub(1))
}

/// The Kinesis shard id for shard number `index`: `shardId-` plus 12 digits.
pub fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_kinesis() {
        let two = shard_hash_ranges(2);
        assert_eq!(
            two,
            vec![
                (0, 170_141_183_460_469_231_731_687_303_715_884_105_727),
                (
                    170_141_183_460_469_231_731_687_303_715_884_105_728,
                    u128::MAX
                )
            ]
        );
        let three = shard_hash_ranges(3);
        assert_eq!(
            three[0].1,
            113_427_455_640_312_821_154_458_202_477_256_070_484
        );
        assert_eq!(
            three[1],
            (
                113_427_455_640_312_821_154_458_202_477_256_070_485,
                226_854_911_280_625_642_308_916_404_954_512_140_969
            )
        );
        assert_eq!(
            three[2],
            (
                226_854_911_280_625_642_308_916_404_954_512_140_970,
                u128::MAX
            )
        );
        assert_eq!(shard_hash_ranges(1), vec![(0, u128::MAX)]);
        assert_eq!(shard_hash_ranges(0), vec![(0, u128::MAX)]);
        for n in 1..=64 {
            let r = shard_hash_ranges(n);
            assert_eq!(r.len(), n as usize);
            assert_eq!(r[0].0, 0);
            assert_eq!(r[r.len() - 1].1, u128::MAX);
            for w in r.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
        }
    }

    #[test]
    fn md5_hash_is_big_endian() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(
            partition_key_hash(""),
            0xd41d8cd98f00b204e9800998ecf8427e_u128
        );
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(
            partition_key_hash("a"),
            0x0cc175b9c0f1b6a831c399e269772661_u128
        );
        let ranges = shard_hash_ranges(2);
        assert_eq!(shard_for_hash(&ranges, partition_key_hash("a")), 0);
        assert_eq!(shard_for_hash(&ranges, partition_key_hash("")), 1);
    }

    #[test]
    fn explicit_hash_keys() {
        assert_eq!(parse_hash_key("0"), Some(0));
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211455"),
            Some(u128::MAX)
        );
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211456"),
            None
        );
        assert_eq!(parse_hash_key("-1"), None);
        assert_eq!(parse_hash_key("+1"), None);
        assert_eq!(parse_hash_key(""), None);
    }
}
