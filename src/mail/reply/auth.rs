//! The reply parser, proof of sender: `Authentication-Results` headers
//! (RFC 8601) read into typed results. Pure; never panics. Which header to
//! trust (the one the partnership's own server added) is the recorder's
//! decision, not the parser's.
//!
//! ```text
//!  "mx.example.org; dkim=pass (good) header.d=example.org; dmarc=pass header.from=example.org"
//!      └ authserv-id    └ method=result [props ptype.property=value …]; …
//! ```
//!
//! Comments `( … )` (nested) are dropped, quoted strings unquoted, spaces
//! around `=` allowed; `none` (no results) gives an empty list; a method
//! version (`dkim/1`) is dropped. Names are lower-cased, values kept.

/// One `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// The server that added the header (lower-cased).
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// One method's result: `dkim=pass header.d=example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// `dkim`, `dmarc`, `spf` … (lower-cased).
    pub method: String,
    /// `pass`, `fail`, `none` … (lower-cased).
    pub result: String,
    /// `(ptype.property, value)`, e.g. `("header.d", "example.org")`; `reason` too.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    /// The value of a property (`header.d`), case-insensitive name.
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Eq,
}

/// Split a header value into `;`-separated parts of words and `=`,
/// dropping comments and unquoting quoted strings.
fn tokenize(value: &str) -> Vec<Vec<Token>> {
    let mut parts = vec![Vec::new()];
    let mut word = String::new();
    let mut chars = value.chars();
    let flush = |word: &mut String, parts: &mut Vec<Vec<Token>>| {
        if !word.is_empty()
            && let Some(p) = parts.last_mut()
        {
            p.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut parts);
                skip_comment(&mut chars);
            }
            '"' => {
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
            }
            ';' => {
                flush(&mut word, &mut parts);
                parts.push(Vec::new());
            }
            '=' => {
                flush(&mut word, &mut parts);
                if let Some(p) = parts.last_mut() {
                    p.push(Token::Eq);
                }
            }
            c if c.is_whitespace() => flush(&mut word, &mut parts),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut parts);
    parts
}

/// Skip a (possibly nested) comment whose `(` was just read.
fn skip_comment(chars: &mut std::str::Chars<'_>) {
    let mut depth = 1u32;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// `key = value` pairs of one part, in order (words not in a pair are skipped).
fn pairs(part: &[Token]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < part.len() {
        if let (Some(Token::Word(k)), Some(Token::Eq), Some(Token::Word(v))) = (part.get(i), part.get(i + 1), part.get(i + 2)) {
            out.push((k.clone(), v.clone()));
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// Read one `Authentication-Results` header value. None when it has no
/// authserv-id.
pub fn parse(value: &str) -> Option<AuthResults> {
    let parts = tokenize(value);
    let Some(Token::Word(id)) = parts.first().and_then(|p| p.first()) else { return None };
    let mut results = Vec::new();
    for part in parts.iter().skip(1) {
        let mut kv = pairs(part).into_iter();
        let Some((method, result)) = kv.next() else { continue };
        let method = method.split('/').next().unwrap_or("").to_ascii_lowercase();
        if method.is_empty() {
            continue;
        }
        let props = kv.map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        results.push(MethodResult { method, result: result.to_ascii_lowercase(), props });
    }
    Some(AuthResults { authserv_id: id.to_ascii_lowercase(), results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typical_header_is_read() {
        let r = parse(
            "mx.example.org;\r\n dkim=pass (2048-bit key; secure) header.d=kommun.example.se header.s=sel1 header.b=AbC;\r\n spf=pass smtp.mailfrom=kommun.example.se;\r\n dmarc=pass (p=REJECT sp=REJECT) header.from=kommun.example.se",
        )
        .unwrap();
        assert_eq!(r.authserv_id, "mx.example.org");
        let methods: Vec<(&str, &str)> = r.results.iter().map(|m| (m.method.as_str(), m.result.as_str())).collect();
        assert_eq!(methods, vec![("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]);
        assert_eq!(r.results[0].prop("header.d"), Some("kommun.example.se"));
        assert_eq!(r.results[2].prop("Header.From"), Some("kommun.example.se"));
    }

    #[test]
    fn versions_quotes_spaces_and_none() {
        let r = parse("MX.Example.org 1; dkim/1 = FAIL reason=\"bad sig; really\" header.i=\"@x.se\"").unwrap();
        assert_eq!(r.authserv_id, "mx.example.org");
        assert_eq!((r.results[0].method.as_str(), r.results[0].result.as_str()), ("dkim", "fail"));
        assert_eq!(r.results[0].prop("reason"), Some("bad sig; really"));
        assert_eq!(r.results[0].prop("header.i"), Some("@x.se"));
        assert!(parse("mx.example.org; none").unwrap().results.is_empty());
        assert_eq!(parse("(only a comment)"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn broken_input_never_panics() {
        for v in ["(((", "mx; =pass", "mx; dkim=", "\"unterminated", "mx; dkim=pass (a\\", "; ; ;", "mx;dmarc=pass header.from"] {
            let _ = parse(v);
        }
        assert_eq!(parse("mx; =pass").unwrap().results.len(), 0);
    }
}
