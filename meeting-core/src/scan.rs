//! A walk over raw JSON text that builds nothing: what the request checks and
//! the stores' read-back need to bound a document before serde_json parses it.
//!
//! It trusts serde_json with syntax: on malformed text it still ends, and the
//! parse that follows reports the error.

/// One item of JSON text, with the byte offset where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// `{` or `[`, and the nesting depth it opens (the outermost is 1).
    Open { depth: usize },
    /// A string (a value or a member name); `content` is the range between its quotes.
    String { content: (usize, usize) },
    /// A number; `text` is its range.
    Number { text: (usize, usize) },
    /// `true`, `false` or `null`.
    Literal,
}

/// The tokens of `text`, with their offsets; `}` and `]` only lower the depth.
pub(crate) struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Scanner {
            text,
            at: 0,
            depth: 0,
        }
    }
}

impl Iterator for Scanner<'_> {
    type Item = (usize, Token);

    fn next(&mut self) -> Option<(usize, Token)> {
        let text = self.text;
        while let Some(&byte) = text.get(self.at) {
            let start = self.at;
            match byte {
                b'"' => {
                    let mut i = start + 1;
                    while i < text.len() && text[i] != b'"' {
                        i += if text[i] == b'\\' { 2 } else { 1 };
                    }
                    let end = i.min(text.len());
                    self.at = end + 1;
                    return Some((
                        start,
                        Token::String {
                            content: (start + 1, end),
                        },
                    ));
                }
                b'{' | b'[' => {
                    self.at += 1;
                    self.depth += 1;
                    return Some((start, Token::Open { depth: self.depth }));
                }
                b'}' | b']' => {
                    self.at += 1;
                    self.depth = self.depth.saturating_sub(1);
                }
                b'-' | b'0'..=b'9' => {
                    let end = text[start..]
                        .iter()
                        .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                        .map_or(text.len(), |len| start + len);
                    self.at = end;
                    return Some((start, Token::Number { text: (start, end) }));
                }
                b't' | b'f' | b'n' => {
                    self.at += text[start..]
                        .iter()
                        .position(|b| !b.is_ascii_alphabetic())
                        .unwrap_or(text.len() - start);
                    return Some((start, Token::Literal));
                }
                _ => self.at += 1,
            }
        }
        None
    }
}

/// The offset of the first `{` or `[` nested deeper than `max` levels, if any.
pub(crate) fn too_deep(text: &[u8], max: usize) -> Option<usize> {
    Scanner::new(text).find_map(|(at, token)| match token {
        Token::Open { depth } if depth > max => Some(at),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        Scanner::new(text.as_bytes())
            .map(|(_, token)| token)
            .collect()
    }

    #[test]
    fn every_value_and_member_name_is_one_token() {
        assert_eq!(
            tokens(r#"{"a":[1,-2.5e3,"x\"y",true,null],"b":{}}"#),
            vec![
                Token::Open { depth: 1 },
                Token::String { content: (2, 3) },
                Token::Open { depth: 2 },
                Token::Number { text: (6, 7) },
                Token::Number { text: (8, 14) },
                Token::String { content: (16, 20) },
                Token::Literal,
                Token::Literal,
                Token::String { content: (34, 35) },
                Token::Open { depth: 2 },
            ]
        );
    }

    #[test]
    fn brackets_inside_strings_do_not_nest() {
        assert_eq!(too_deep(br#"[["[[[{{{\"[["]]"#, 2), None);
        assert_eq!(too_deep(br#"[["x",[]]]"#, 2), Some(6));
    }

    #[test]
    fn a_literal_at_the_very_end_is_one_token_and_ends_the_walk() {
        // Far enough in that the rest of the text is shorter than the offset.
        assert_eq!(
            tokens(r#"{"member":true"#),
            vec![
                Token::Open { depth: 1 },
                Token::String { content: (2, 8) },
                Token::Literal,
            ]
        );
    }

    #[test]
    fn an_unterminated_string_ends_the_walk() {
        assert_eq!(tokens(r#"["abc\"#).len(), 2);
        assert_eq!(tokens(r#"["abc\""#).len(), 2);
    }
}
