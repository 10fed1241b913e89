//! A small syntax highlighter for Rust and C: enough to colour keywords,
//! strings, comments and numbers in the source pane, and to let the excerpt
//! code match braces without being fooled by a `{` inside a string.
//!
//! It works a line at a time, carrying a [`LexState`] across lines for the
//! constructs that span them (block comments, multi-line strings).

/// What a piece of a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Keyword,
    String,
    Comment,
    Number,
    Ident,
    Punct,
    Space,
}

/// One piece of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
}

/// What is still open at the end of a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LexState {
    /// Nesting depth of `/* */` comments (Rust nests them).
    block_comment: u32,
    in_string: bool,
}

const KEYWORDS: &[&str] = &[
    // Rust
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "dyn", "Some", "None", "Ok", "Err", // C
    "int", "void", "char", "long", "unsigned", "signed", "short", "double", "float", "sizeof",
    "typedef", "case", "default", "switch", "do", "goto", "NULL", "volatile", "inline",
];

/// Splits `line` into tokens, updating `state` for the next line.
pub fn tokenize<'a>(line: &'a str, state: &mut LexState) -> Vec<Token<'a>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = if state.block_comment > 0 {
            i = scan_block_comment(bytes, i, state);
            Kind::Comment
        } else if state.in_string {
            i = scan_string_body(bytes, i, state);
            Kind::String
        } else {
            let b = bytes[i];
            let next = bytes.get(i + 1).copied();
            if b == b'/' && next == Some(b'/') {
                i = bytes.len();
                Kind::Comment
            } else if b == b'/' && next == Some(b'*') {
                state.block_comment = 1;
                i = scan_block_comment(bytes, i + 2, state);
                Kind::Comment
            } else if b == b'"' {
                state.in_string = true;
                i = scan_string_body(bytes, i + 1, state);
                Kind::String
            } else if b == b'\'' {
                i = scan_char_or_lifetime(bytes, i);
                if i - start > 1 {
                    Kind::String
                } else {
                    Kind::Punct
                }
            } else if b.is_ascii_whitespace() {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                Kind::Space
            } else if b.is_ascii_digit() {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
                {
                    i += 1;
                }
                Kind::Number
            } else if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                if KEYWORDS.contains(&&line[start..i]) {
                    Kind::Keyword
                } else {
                    Kind::Ident
                }
            } else {
                i += 1;
                Kind::Punct
            }
        };
        // An escape (`\\` plus one byte) may stop inside a multi-byte character
        // or past the end: move to the next character boundary.
        i = i.min(bytes.len());
        while !line.is_char_boundary(i) {
            i += 1;
        }
        out.push(Token {
            kind,
            text: &line[start..i],
        });
    }
    out
}

fn scan_block_comment(bytes: &[u8], mut i: usize, state: &mut LexState) -> usize {
    while i < bytes.len() {
        if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            state.block_comment -= 1;
            i += 2;
            if state.block_comment == 0 {
                return i;
            }
        } else if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            state.block_comment += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    i
}

fn scan_string_body(bytes: &[u8], mut i: usize, state: &mut LexState) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => {
                state.in_string = false;
                return i + 1;
            }
            _ => i += 1,
        }
    }
    i.min(bytes.len())
}

/// `'x'`, `'\n'`, `'\''` are characters; `'a` (a lifetime) is just a quote and a name.
fn scan_char_or_lifetime(bytes: &[u8], i: usize) -> usize {
    let rest = &bytes[i + 1..];
    let close = match rest.first() {
        Some(b'\\') => rest.iter().skip(2).position(|&b| b == b'\'').map(|p| p + 2),
        Some(_) => rest
            .iter()
            .take(5)
            .skip(1)
            .position(|&b| b == b'\'')
            .map(|p| p + 1),
        None => None,
    };
    match close {
        Some(c) => i + 1 + c + 1,
        None => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<(Kind, &str)> {
        let mut st = LexState::default();
        tokenize(line, &mut st)
            .into_iter()
            .filter(|t| t.kind != Kind::Space)
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn keywords_strings_comments_numbers() {
        assert_eq!(
            kinds(r#"let s = "a{b"; // }"#),
            vec![
                (Kind::Keyword, "let"),
                (Kind::Ident, "s"),
                (Kind::Punct, "="),
                (Kind::String, "\"a{b\""),
                (Kind::Punct, ";"),
                (Kind::Comment, "// }"),
            ]
        );
        assert_eq!(kinds("x = 0x1f;")[2], (Kind::Number, "0x1f"));
        assert_eq!(
            kinds(r"'\'' 'a"),
            vec![
                (Kind::String, r"'\''"),
                (Kind::Punct, "'"),
                (Kind::Ident, "a")
            ]
        );
    }

    #[test]
    fn block_comments_and_strings_span_lines() {
        let mut st = LexState::default();
        let first = tokenize("a /* open", &mut st);
        assert_eq!(first.last().unwrap().kind, Kind::Comment);
        let second = tokenize("still */ b", &mut st);
        assert_eq!(
            second[0],
            Token {
                kind: Kind::Comment,
                text: "still */"
            }
        );
        assert_eq!(second.last().unwrap().text, "b");
        let mut st = LexState::default();
        tokenize("\"multi", &mut st);
        assert_eq!(
            tokenize("line\" x", &mut st)[0],
            Token {
                kind: Kind::String,
                text: "line\""
            }
        );
    }

    #[test]
    fn any_text_tokenizes_back_to_itself() {
        for line in ["é\"ü", "'é", "\\", "\"\\", "/*é", "'\\é'", "日本 語", "'"] {
            let mut st = LexState::default();
            let joined: String = tokenize(line, &mut st).iter().map(|t| t.text).collect();
            assert_eq!(joined, line);
        }
    }
}
