//! Labelled digests as WARC headers carry them (`sha256:` + base32), and their decoding.
//!
//! We write SHA-256 in RFC 4648 base32, upper case *with* `=` padding, because that is what
//! warcio's `Digester` writes and what its checker compares against first: warcio only falls
//! back to decoding other encodings (hex, base64) when the length differs from its own padded
//! base32, so an unpadded value (52 characters instead of 56) would be misread as base64 and
//! fail `warcio check`. When reading we are lenient in the same way warcio is: base32 padded or
//! not, in either case, hex, and base64 (standard or URL-safe alphabet) are all accepted.

use sha2::{Digest, Sha256};

/// The algorithm label we write in front of every digest.
pub const SHA256_LABEL: &str = "sha256";

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A labelled SHA-256 digest as written in WARC headers: `sha256:` + padded RFC 4648 base32.
pub fn sha256_label(digest: &[u8; 32]) -> String {
    format!("{SHA256_LABEL}:{}", base32(digest))
}

/// SHA-256 of `bytes`, for callers that hash small buffers (heads, tests).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// RFC 4648 base32 with `=` padding, upper case.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        // How many output characters carry data for a partial final block (RFC 4648 §6).
        let used = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < used {
                let index = (bits >> (35 - 5 * i)) & 0x1f;
                out.push(char::from(BASE32_ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base32 (either case, padding optional); `None` on any other character.
fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut nbits = 0;
    for c in text.bytes() {
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(value);
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
            acc &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Decodes base64 in the standard or the URL-safe alphabet, padding optional.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut nbits = 0;
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
            acc &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

/// What a labelled digest header means to a checker that only knows SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedDigest {
    /// A SHA-256 value we can compare.
    Sha256([u8; 32]),
    /// Another algorithm (sha1, md5…): not checked, and not an error.
    OtherAlgorithm(String),
    /// No `algo:` label, or a SHA-256 value that decodes to something other than 32 bytes.
    Malformed,
}

/// Parses `algo:value`, accepting the encodings warcio accepts (base32, hex, base64).
pub fn parse_labelled(label: &str) -> ParsedDigest {
    let Some((algo, value)) = label.trim().split_once(':') else {
        return ParsedDigest::Malformed;
    };
    let algo = algo.trim().to_ascii_lowercase();
    if algo != "sha256" && algo != "sha-256" {
        return ParsedDigest::OtherAlgorithm(algo);
    }
    let value = value.trim();
    // Same order as warcio's `_to_b32`: the length tells the encoding apart.
    let decoded = match value.trim_end_matches('=').len() {
        52 => decode_base32(value),
        64 => decode_hex(value),
        _ => decode_base64(value),
    };
    match decoded.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()) {
        Some(bytes) => ParsedDigest::Sha256(bytes),
        None => ParsedDigest::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        // RFC 4648 §10.
        let cases = [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ];
        for (input, expected) in cases {
            assert_eq!(base32(input.as_bytes()), expected, "{input:?}");
            assert_eq!(decode_base32(expected).unwrap(), input.as_bytes());
        }
    }

    #[test]
    fn sha256_label_is_padded_base32_like_warcio() {
        // python3 -c "import hashlib,base64;print(base64.b32encode(hashlib.sha256(b'abc').digest()))"
        let label = sha256_label(&sha256(b"abc"));
        assert_eq!(label, "sha256:XJ4BNP4PAHH6UQKBIDPF3LRCEOYAGYNDSYLXVHFUCD7WD4QACWWQ====");
        assert_eq!(label.len(), "sha256:".len() + 56);
    }

    #[test]
    fn parse_accepts_every_encoding_warcio_accepts() {
        let digest = sha256(b"abc");
        let b32 = base32(&digest);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let inputs = [
            format!("sha256:{b32}"),
            format!("sha256:{}", b32.trim_end_matches('=')),
            format!("SHA256:{}", b32.to_lowercase()),
            format!("sha256:{hex}"),
            "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".to_string(),
            "sha256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0".to_string(),
        ];
        for input in inputs {
            assert_eq!(parse_labelled(&input), ParsedDigest::Sha256(digest), "{input}");
        }
        assert_eq!(
            parse_labelled("sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"),
            ParsedDigest::OtherAlgorithm("sha1".into())
        );
        assert_eq!(parse_labelled("nolabel"), ParsedDigest::Malformed);
        assert_eq!(parse_labelled("sha256:!!!"), ParsedDigest::Malformed);
        assert_eq!(parse_labelled("sha256:AAAA"), ParsedDigest::Malformed);
    }
}
