//! Each delivery's signature, and the check a receiver makes of it
//! (docs/webhooks.md): `Shipdeck-Signature: t=UNIX,v1=HEX`, HEX the
//! HMAC-SHA256 of `"{t}.{body}"` under the shared secret.

use std::fmt;

use ring::hmac;

/// The header that carries the signature.
pub const SIGNATURE: &str = "Shipdeck-Signature";
/// The header that carries the delivery's id, the same on every try.
pub const DELIVERY: &str = "Shipdeck-Delivery";
/// The header that carries the notice's type.
pub const EVENT: &str = "Shipdeck-Event";

/// How far a signature's time may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// The shared secret; never shown.
#[derive(Clone)]
pub struct Secret(hmac::Key);

impl Secret {
    pub fn new(bytes: &[u8]) -> Secret {
        Secret(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The signed text: the time, a dot, the body.
fn signed(t: i64, body: &[u8]) -> Vec<u8> {
    let mut text = format!("{t}.").into_bytes();
    text.extend_from_slice(body);
    text
}

/// The `Shipdeck-Signature` header for `body` sent at `t` (Unix seconds).
pub fn sign(secret: &Secret, t: i64, body: &[u8]) -> String {
    let tag = hmac::sign(&secret.0, &signed(t, body));
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The header is not `t=UNIX,v1=HEX`.
    Malformed(&'static str),
    /// No `v1` is the body's signature under this secret.
    Mismatch,
    /// Signed this many seconds away from now: too old (a replay) or from
    /// too far ahead.
    Stale { off_by: i64 },
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Malformed(what) => write!(f, "the signature header is malformed: {what}"),
            Why::Mismatch => f.write_str("the signature does not match the body"),
            Why::Stale { off_by } => write!(
                f,
                "signed {off_by}s from now, more than {TOLERANCE_SECS}s: refused as a replay"
            ),
        }
    }
}

/// The receiver's check: recompute the HMAC of `"{t}.{body}"`, compare it
/// in constant time with each `v1`, and refuse a `t` more than five
/// minutes from `now` (Unix seconds).
pub fn verify(secret: &Secret, header: &str, body: &[u8], now: i64) -> Result<(), Why> {
    let mut t = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                let seconds = value
                    .parse::<i64>()
                    .map_err(|_| Why::Malformed("t is not a whole number"))?;
                if t.replace(seconds).is_some() {
                    return Err(Why::Malformed("t is given twice"));
                }
            }
            Some(("v1", value)) => tags.push(unhex(value).ok_or(Why::Malformed("v1 is not hex"))?),
            // Other schemes are for later versions.
            Some(_) => {}
            None => return Err(Why::Malformed("a part is not key=value")),
        }
    }
    let t = t.ok_or(Why::Malformed("no t"))?;
    if tags.is_empty() {
        return Err(Why::Malformed("no v1"));
    }
    let text = signed(t, body);
    if !tags
        .iter()
        .any(|tag| hmac::verify(&secret.0, &text, tag).is_ok())
    {
        return Err(Why::Mismatch);
    }
    let off_by = now.saturating_sub(t);
    if off_by.saturating_abs() > TOLERANCE_SECS {
        return Err(Why::Stale { off_by });
    }
    Ok(())
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_hmac_of_the_time_and_body_and_only_it_verifies() {
        let secret = Secret::new(b"whsec_test");
        let body = br#"{"type":"waiting"}"#;
        let header = sign(&secret, 1_700_000_000, body);
        // HMAC-SHA256("whsec_test", "1700000000.{\"type\":\"waiting\"}"),
        // as Python's hmac module gives it.
        assert_eq!(
            header,
            "t=1700000000,v1=8c0c163459b26997c064f211c2b956abbff89894ad0952201e315a67c3949655"
        );
        assert_eq!(verify(&secret, &header, body, 1_700_000_010), Ok(()));
        // One byte changed.
        let mut changed = body.to_vec();
        changed[3] ^= 1;
        assert_eq!(
            verify(&secret, &header, &changed, 1_700_000_010),
            Err(Why::Mismatch)
        );
        // Another secret.
        assert_eq!(
            verify(&Secret::new(b"other"), &header, body, 1_700_000_010),
            Err(Why::Mismatch)
        );
        // Replayed six minutes later, or signed with a time moved on.
        assert_eq!(
            verify(&secret, &header, body, 1_700_000_360),
            Err(Why::Stale { off_by: 360 })
        );
        let moved = header.replace("t=1700000000", "t=1700000360");
        assert_eq!(
            verify(&secret, &moved, body, 1_700_000_360),
            Err(Why::Mismatch)
        );
        assert!(matches!(
            verify(&secret, "v1=00", body, 0),
            Err(Why::Malformed(_))
        ));
        assert!(matches!(
            verify(&secret, "t=1", body, 0),
            Err(Why::Malformed(_))
        ));
        assert!(matches!(
            verify(&secret, "t=1,v1=zz", body, 0),
            Err(Why::Malformed(_))
        ));
        // A later scheme beside v1 is let be.
        let both = format!("{header},v2=abcd");
        assert_eq!(verify(&secret, &both, body, 1_700_000_000), Ok(()));
    }
}
