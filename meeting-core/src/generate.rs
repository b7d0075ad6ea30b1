//! The values the server generates: clock, random ids, thread, URLs.
//!
//! Both the clock and the randomness are injectable, so tests of meeting rules
//! can be deterministic; see [`crate::testing`].

use base64::Engine;
use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt::Write;
use uuid::Uuid;

/// The time source for `creationDateTime` and the v1.0 default start.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The source of every random value of a meeting: thread ids, dial-in ids,
/// conference and video ids are all drawn from its UUIDs.
pub trait IdSource: Send + Sync + std::fmt::Debug {
    /// A fresh UUID.
    fn uuid(&self) -> Uuid;
}

/// Random version-4 UUIDs from the operating system's generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn uuid(&self) -> Uuid {
        Uuid::new_v4()
    }
}

/// `n` decimal digits (n ≤ 30) drawn from a fresh UUID; a v4 UUID has 122 random
/// bits, so the modulo's bias is below 2^-20 for n ≤ 30.
pub(crate) fn digits(ids: &dyn IdSource, n: u32) -> String {
    debug_assert!(n <= 30);
    let value = ids.uuid().as_u128() % 10u128.pow(n);
    // u128 division is slow: the low 19 digits, then the rest, as u64s.
    const LOW_DIGITS: usize = 19;
    let split = 10u128.pow(LOW_DIGITS as u32);
    let mut parts = [(value % split) as u64, (value / split) as u64];
    let mut text = vec![b'0'; n as usize];
    for (place, digit) in text.iter_mut().rev().enumerate() {
        let part = &mut parts[place / LOW_DIGITS];
        *digit = b'0' + (*part % 10) as u8;
        *part /= 10;
    }
    String::from_utf8(text).expect("ASCII digits")
}

/// `19:meeting_<opaque>@thread.v2`, the opaque part the base64 of a fresh UUID's text.
pub(crate) fn thread_id(ids: &dyn IdSource) -> String {
    const PREFIX: &str = "19:meeting_";
    const SUFFIX: &str = "@thread.v2";
    let mut text = Uuid::encode_buffer();
    let text = ids.uuid().hyphenated().encode_lower(&mut text);
    // 36 bytes of text are 48 base64 characters.
    let mut thread = String::with_capacity(PREFIX.len() + 48 + SUFFIX.len());
    thread.push_str(PREFIX);
    base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(text, &mut thread);
    thread.push_str(SUFFIX);
    thread
}

/// A meeting id in Graph's current opaque form: the base64 of
/// `1*<organizer id>*0**<thread id>`, as v1.0 answers carry them.
pub(crate) fn opaque_meeting_id(organizer: &str, thread_id: &str) -> String {
    let mut composite = String::with_capacity(organizer.len() + thread_id.len() + 6);
    for part in ["1*", organizer, "*0**", thread_id] {
        composite.push_str(part);
    }
    base64::engine::general_purpose::STANDARD.encode(composite)
}

/// A six-character passcode of letters and digits, drawn from a fresh UUID.
pub(crate) fn passcode(ids: &dyn IdSource) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut value = ids.uuid().as_u128();
    (0..6)
        .map(|_| {
            let index = (value % ALPHABET.len() as u128) as usize;
            value /= ALPHABET.len() as u128;
            char::from(ALPHABET[index])
        })
        .collect()
}

/// What .NET's `HttpUtility.UrlEncode` leaves alone, as Graph's join URLs show.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'*')
    .remove(b'(')
    .remove(b')');

/// Percent-encodes with lower-case hex digits, as Graph's join URLs do.
fn push_encoded(out: &mut String, component: &str) {
    for chunk in utf8_percent_encode(component, URL_COMPONENT) {
        match chunk.as_bytes() {
            [b'%', high, low] => {
                out.push('%');
                out.push(char::from(high.to_ascii_lowercase()));
                out.push(char::from(low.to_ascii_lowercase()));
            }
            _ => out.push_str(chunk),
        }
    }
}

/// `<join base>/l/meetup-join/<thread>/0?context={"Tid":"…","Oid":"…"}`, percent-encoded.
pub(crate) fn join_web_url(base: &str, thread_id: &str, tenant: &str, organizer: &str) -> String {
    let mut url = String::with_capacity(
        base.len() + 3 * (thread_id.len() + tenant.len() + organizer.len()) + 64,
    );
    url.push_str(base.trim_end_matches('/'));
    url.push_str("/l/meetup-join/");
    push_encoded(&mut url, thread_id);
    url.push_str("/0?context=");
    // `{"Tid":"<tenant>","Oid":"<organizer>"}`, each id a JSON string.
    url.push_str("%7b%22Tid%22%3a");
    push_json_string(&mut url, tenant);
    url.push_str("%2c%22Oid%22%3a");
    push_json_string(&mut url, organizer);
    url.push_str("%7d");
    url
}

/// `text` as a JSON string literal, percent-encoded. Only quotes, backslashes
/// and control characters need JSON escapes (ids in GUID form have none).
fn push_json_string(out: &mut String, text: &str) {
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        push_encoded(
            out,
            &serde_json::to_string(text).expect("a string serializes"),
        );
    } else {
        out.push_str("%22");
        push_encoded(out, text);
        out.push_str("%22");
    }
}

/// `<dial-in base>/<uuid>?id=<conferenceId>`.
pub(crate) fn dialin_url(base: &str, ids: &dyn IdSource, conference_id: &str) -> String {
    let mut url = String::from(base.trim_end_matches('/'));
    write!(url, "/{}?id={conference_id}", ids.uuid().hyphenated()).expect("writing to a String");
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SequentialIds;

    #[test]
    fn join_web_url_matches_the_seed_encoding() {
        let url = join_web_url(
            "https://devspaces.skype.com",
            "19:meeting_MWE2Y2U2NGYtMjk4Ni00NjYyLWEyMjItYjk3MGU4YzFh0000@thread.v2",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "d4a060b5-a8fc-450c-837b-750b2c2869b5",
        );
        assert_eq!(
            url,
            "https://devspaces.skype.com/l/meetup-join/19%3ameeting_MWE2Y2U2NGYtMjk4Ni00NjYyLWEyMjItYjk3MGU4YzFh0000%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22d4a060b5-a8fc-450c-837b-750b2c2869b5%22%7d"
        );
    }

    #[test]
    fn join_web_url_context_is_the_percent_encoded_json_of_both_ids() {
        for (tenant, organizer) in [
            ("72f988bf-86f1-41af-91ab-2d7cd011db47", "d4a060b5"),
            ("quote\"d", "back\\slash"),
            ("unicode é 😀", "tab\tand\u{1}control"),
        ] {
            let url = join_web_url("https://teams.example", "19:m@thread.v2", tenant, organizer);
            let context = url.split_once("?context=").unwrap().1;
            let decoded = percent_encoding::percent_decode_str(context)
                .decode_utf8()
                .unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&decoded).unwrap();
            assert_eq!(parsed, serde_json::json!({"Tid": tenant, "Oid": organizer}));
            assert!(!context.contains(['"', '\\', ' ', '{']), "{context}");
        }
    }

    #[test]
    fn digits_are_the_uuid_modulo_a_power_of_ten_zero_padded() {
        #[derive(Debug)]
        struct Fixed(u128);
        impl IdSource for Fixed {
            fn uuid(&self) -> Uuid {
                Uuid::from_u128(self.0)
            }
        }
        for value in [0, 7, 1234567890123456789012345678901234567u128, u128::MAX] {
            for n in [1, 6, 9, 10, 12, 19, 20, 30] {
                let expected = format!("{:0n$}", value % 10u128.pow(n), n = n as usize);
                assert_eq!(digits(&Fixed(value), n), expected, "{value} {n}");
            }
        }
    }

    #[test]
    fn thread_id_encodes_the_uuid_in_lower_case_text() {
        #[derive(Debug)]
        struct Fixed;
        impl IdSource for Fixed {
            fn uuid(&self) -> Uuid {
                Uuid::from_u128(0xab)
            }
        }
        // base64("00000000-0000-0000-0000-0000000000ab")
        assert_eq!(
            thread_id(&Fixed),
            "19:meeting_MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMGFi@thread.v2"
        );
    }

    #[test]
    fn thread_id_is_base64_of_a_uuid_text_without_padding() {
        let ids = SequentialIds::new();
        let thread = thread_id(&ids);
        let opaque = thread
            .strip_prefix("19:meeting_")
            .and_then(|rest| rest.strip_suffix("@thread.v2"))
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(opaque)
            .unwrap();
        assert!(Uuid::parse_str(std::str::from_utf8(&decoded).unwrap()).is_ok());
        assert!(!opaque.ends_with('='));
    }

    #[test]
    fn an_opaque_meeting_id_is_the_base64_of_graphs_composite_id() {
        let id = opaque_meeting_id(
            "d4a060b5-a8fc-450c-837b-750b2c280000",
            "19:meeting_X@thread.v2",
        );
        let text = base64::engine::general_purpose::STANDARD
            .decode(&id)
            .unwrap();
        assert_eq!(
            text,
            b"1*d4a060b5-a8fc-450c-837b-750b2c280000*0**19:meeting_X@thread.v2"
        );
        assert!(id.starts_with("MSpk"), "{id}");
    }

    #[test]
    fn a_passcode_has_six_letters_or_digits() {
        let ids = crate::testing::SequentialIds::new();
        let (a, b) = (passcode(&ids), passcode(&ids));
        assert_eq!(a.len(), 6);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn digits_have_the_asked_length() {
        let ids = RandomIds;
        for _ in 0..100 {
            let nine = digits(&ids, 9);
            assert_eq!(nine.len(), 9);
            assert!(nine.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(digits(&SequentialIds::new(), 10), "0000000001");
    }
}
