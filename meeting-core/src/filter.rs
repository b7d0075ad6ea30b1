//! `GET …/onlineMeetings?$filter=…`: the two lookups Graph serves, and the
//! OData that asks for them.

use crate::request::InvalidRequest;
use crate::Profile;
use percent_encoding::percent_decode;

/// What Graph's message says a lookup looks like.
const EXPECTED: &str = "expected JoinWebUrl eq '{joinWebUrl}' or joinMeetingIdSettings/joinMeetingId eq '{joinMeetingId}'";

/// A lookup of meetings, as `$filter` asks for it.
///
/// Graph's two: `JoinWebUrl eq '…'` and `joinMeetingIdSettings/joinMeetingId
/// eq '…'`. Property names and `eq` are matched without regard to case (Graph's
/// own pages write `JoinWebUrl`); the value is an OData string literal, in
/// single quotes with `''` for a quote. Any other property, operator,
/// function or combination is refused, saying what is accepted.
///
/// ```
/// use meeting_core::MeetingFilter;
///
/// let filter = MeetingFilter::parse("joinMeetingIdSettings/joinMeetingId eq '1234567890'")?;
/// assert_eq!(filter, MeetingFilter::JoinMeetingId("1234567890".into()));
/// assert!(MeetingFilter::parse("subject eq 'x'").is_err());
/// # Ok::<(), meeting_core::InvalidRequest>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeetingFilter {
    /// `JoinWebUrl eq '…'`: the join link, compared in its
    /// [canonical form](crate::join_web_url_key).
    JoinWebUrl(String),
    /// `joinMeetingIdSettings/joinMeetingId eq '…'`: the join id, exactly.
    JoinMeetingId(String),
}

fn refused(problem: impl std::fmt::Display) -> InvalidRequest {
    InvalidRequest::member("$filter", problem)
}

impl MeetingFilter {
    /// The lookup a request's query string asks for: its `$filter` option
    /// (on `beta` also `filter`, whose `$` Graph makes optional there), URL
    /// decoded (`+` is a space). A missing `$filter`, another system query
    /// option or a malformed one is refused.
    pub fn from_query(query: Option<&str>, profile: Profile) -> Result<Self, InvalidRequest> {
        let mut filter = None;
        for pair in query
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            let is_filter = name.eq_ignore_ascii_case("$filter")
                || (profile == Profile::Beta && name.eq_ignore_ascii_case("filter"));
            if is_filter {
                if filter.is_some() {
                    return Err(refused("is given more than once; give one $filter"));
                }
                filter = Some(decode(value)?);
            } else if name.starts_with('$') {
                return Err(InvalidRequest::member(
                    name.as_str(),
                    "is not supported on this request; only $filter is",
                ));
            }
        }
        let filter = filter.ok_or_else(|| {
            InvalidRequest::whole(format!(
                "Filter expression expected - /onlineMeetings?$filter=JoinWebUrl eq 'XXXX': listing online meetings needs a $filter, {EXPECTED}"
            ))
        })?;
        MeetingFilter::parse(&filter)
    }

    /// Parses a `$filter` expression (already URL decoded).
    pub fn parse(expression: &str) -> Result<Self, InvalidRequest> {
        let mut text = expression.trim();
        // Redundant parentheses around the whole comparison are fine.
        while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            text = inner.trim();
        }
        if text.is_empty() {
            return Err(refused(format_args!("is empty; {EXPECTED}")));
        }
        let (property, rest) = split_token(text);
        if property.contains('(') {
            return Err(refused(format_args!(
                "functions such as {} are not supported; {EXPECTED}",
                property.split('(').next().unwrap_or(property)
            )));
        }
        let lookup: fn(String) -> MeetingFilter = if property.eq_ignore_ascii_case("joinWebUrl") {
            MeetingFilter::JoinWebUrl
        } else if property.eq_ignore_ascii_case("joinMeetingIdSettings/joinMeetingId") {
            MeetingFilter::JoinMeetingId
        } else {
            return Err(refused(format_args!(
                "online meetings cannot be filtered by {property}; {EXPECTED}"
            )));
        };
        let (operator, literal) = split_token(rest);
        if operator.is_empty() {
            return Err(refused(format_args!(
                "{property} is not compared with anything; {EXPECTED}"
            )));
        }
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(refused(format_args!(
                "the operator {operator} is not supported; only eq is ({EXPECTED})"
            )));
        }
        let (value, rest) = string_literal(literal)?;
        if !rest.trim().is_empty() {
            let (next, _) = split_token(rest.trim());
            return Err(refused(format_args!(
                "only one comparison is supported, not one followed by {next}; {EXPECTED}"
            )));
        }
        Ok(lookup(value))
    }
}

/// The first whitespace-separated token of `text`, and what follows it.
fn split_token(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], &text[end..]),
        None => (text, ""),
    }
}

/// An OData string literal at the start of `text`, and what follows it.
fn string_literal(text: &str) -> Result<(String, &str), InvalidRequest> {
    let text = text.trim_start();
    let Some(body) = text.strip_prefix('\'') else {
        let (token, _) = split_token(text);
        return Err(refused(if token.is_empty() {
            format!("the value to compare with is missing; {EXPECTED}")
        } else {
            format!("{token} is not a string literal: quote the value in single quotes, writing a quote inside as '' ({EXPECTED})")
        }));
    };
    let mut value = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|&(_, next)| next == '\'') {
                chars.next();
                value.push('\'');
            } else {
                return Ok((value, &body[at + 1..]));
            }
        } else {
            value.push(c);
        }
    }
    Err(refused(
        "the string literal is not closed: end it with a single quote, and write a quote inside it as ''",
    ))
}

/// A query string's name or value, URL decoded (`+` a space).
fn decode(text: &str) -> Result<String, InvalidRequest> {
    let spaced = text.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| refused("is not UTF-8 once URL decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MeetingFilter, String> {
        MeetingFilter::parse(text).map_err(|e| e.to_string())
    }

    #[test]
    fn graph_s_two_lookups_parse_whatever_the_case_of_names() {
        assert_eq!(
            parse("JoinWebUrl eq 'https://teams.microsoft.com/l/meetup-join/x'"),
            Ok(MeetingFilter::JoinWebUrl(
                "https://teams.microsoft.com/l/meetup-join/x".into()
            ))
        );
        assert_eq!(
            parse("joinweburl EQ 'u'"),
            Ok(MeetingFilter::JoinWebUrl("u".into()))
        );
        assert_eq!(
            parse(" ( joinMeetingIdSettings/joinMeetingId eq '1234567890' ) "),
            Ok(MeetingFilter::JoinMeetingId("1234567890".into()))
        );
    }

    #[test]
    fn a_doubled_quote_is_a_quote_and_spaces_inside_are_kept() {
        assert_eq!(
            parse("JoinWebUrl eq 'it''s a  link'"),
            Ok(MeetingFilter::JoinWebUrl("it's a  link".into()))
        );
        assert_eq!(
            parse("JoinWebUrl eq ''"),
            Ok(MeetingFilter::JoinWebUrl("".into()))
        );
    }

    #[test]
    fn other_filters_are_refused_saying_what_is_accepted() {
        for (text, says) in [
            ("subject eq 'x'", "cannot be filtered by subject"),
            ("JoinWebUrl ne 'x'", "operator ne"),
            ("startswith(JoinWebUrl,'x')", "functions such as startswith"),
            ("JoinWebUrl eq 'x' and subject eq 'y'", "followed by and"),
            ("JoinWebUrl eq 'x' or JoinWebUrl eq 'y'", "followed by or"),
            (
                "joinMeetingIdSettings/joinMeetingId eq 1234567890",
                "not a string literal",
            ),
            ("JoinWebUrl eq 'unterminated", "not closed"),
            ("JoinWebUrl eq", "missing"),
            ("JoinWebUrl", "not compared"),
            ("", "empty"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
            assert!(error.starts_with("$filter: "), "{error}");
        }
    }

    #[test]
    fn the_query_string_is_url_decoded_once() {
        let query = "$filter=JoinWebUrl%20eq%20'https%3A%2F%2Fteams.microsoft.com%2Fl%2Fmeetup-join%2F19%253ameeting_X%2540thread.v2'";
        assert_eq!(
            MeetingFilter::from_query(Some(query), Profile::V1),
            Ok(MeetingFilter::JoinWebUrl(
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2".into()
            ))
        );
        assert_eq!(
            MeetingFilter::from_query(Some("%24filter=JoinWebUrl+eq+'a+b'"), Profile::V1),
            Ok(MeetingFilter::JoinWebUrl("a b".into()))
        );
    }

    #[test]
    fn a_missing_filter_or_another_query_option_is_refused() {
        let missing = MeetingFilter::from_query(None, Profile::V1).unwrap_err();
        assert!(missing.to_string().contains("Filter expression expected"));
        let other = MeetingFilter::from_query(Some("$top=5"), Profile::V1).unwrap_err();
        assert_eq!(other.member_path(), Some("$top"));
        let twice = MeetingFilter::from_query(
            Some("$filter=JoinWebUrl eq 'a'&$FILTER=JoinWebUrl eq 'b'"),
            Profile::V1,
        )
        .unwrap_err();
        assert!(twice.to_string().contains("more than once"));
    }

    #[test]
    fn the_dollar_is_optional_on_beta_only() {
        assert!(MeetingFilter::from_query(Some("filter=JoinWebUrl eq 'a'"), Profile::Beta).is_ok());
        assert!(MeetingFilter::from_query(Some("filter=JoinWebUrl eq 'a'"), Profile::V1).is_err());
    }
}
