//! Salesforce ids: 15 case-sensitive characters — a 3-character key prefix naming the object
//! (`001` Account, `003` Contact, `00D` org, `005` user, `01g` query locator), then the
//! simulator's fixed `D00`, then the record number in base 62 — plus the 3-character
//! case-insensitive checksum of the 18-character form (`001D000000IRFmaIAH`). The API writes
//! 18 characters and reads either form.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters after the prefix and before the number: pod and reserved characters in real ids.
const MIDDLE: &str = "D00";
const NUMBER_WIDTH: usize = 9;

/// The 18-character id of record `number` of the object with `prefix`.
pub fn encode(prefix: &str, number: i64) -> String {
    let mut digits = Vec::with_capacity(NUMBER_WIDTH);
    let mut rest = u64::try_from(number).unwrap_or(0);
    for _ in 0..NUMBER_WIDTH {
        digits.push(BASE62[(rest % 62) as usize]);
        rest /= 62;
    }
    digits.reverse();
    let mut id = format!("{prefix}{MIDDLE}{}", String::from_utf8_lossy(&digits));
    id.push_str(&checksum(&id));
    id
}

/// The record number of `id` when it is a well-formed 15- or 18-character id with `prefix`.
pub fn decode(prefix: &str, id: &str) -> Option<i64> {
    if !id.is_ascii() {
        return None;
    }
    let short = match id.len() {
        15 => id,
        18 if id[15..] == checksum(&id[..15]) => &id[..15],
        _ => return None,
    };
    let number = short.strip_prefix(prefix)?.strip_prefix(MIDDLE)?;
    let mut value: i64 = 0;
    for byte in number.bytes() {
        let digit = BASE62.iter().position(|b| *b == byte)?;
        value = value
            .checked_mul(62)?
            .checked_add(i64::try_from(digit).ok()?)?;
    }
    Some(value)
}

/// The 3-character suffix of an 18-character id: for each 5-character chunk, which characters
/// are upper-case letters, as an index into `A…Z0…5`.
fn checksum(short: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    short
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, byte)| byte.is_ascii_uppercase())
                .fold(0usize, |bits, (index, _)| bits | (1 << index));
            char::from(ALPHABET[bits])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_matches_the_documented_example_id() {
        // From the REST API guide's example record.
        assert_eq!(checksum("001D000000IRFma"), "IAH");
    }

    #[test]
    fn ids_round_trip_in_both_lengths_and_refuse_other_objects_and_bad_checksums() {
        let id = encode("001", 12_345);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("001D00"));
        assert_eq!(decode("001", &id), Some(12_345));
        assert_eq!(decode("001", &id[..15]), Some(12_345));
        assert_eq!(decode("003", &id), None, "an Account id is no Contact id");
        let mut wrong = id.clone();
        wrong.replace_range(15.., "ZZZ");
        assert_eq!(decode("001", &wrong), None);
        assert_eq!(decode("001", "001"), None);
        assert_eq!(decode("001", "001D00000000é1"), None);
        assert_ne!(encode("001", 1), encode("001", 2));
    }
}
