//! Config files, error positions: the line and the dotted key at a byte
//! offset of a TOML text, so that every config error (config.rs,
//! sources/spec.rs) can name file, line and key even when the TOML parser
//! names only a span. Pure functions over `&str`, below every other layer.

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len())).map(|t| t.matches('\n').count() + 1).unwrap_or(1)
}

/// The key a line assigns (`timeout_secs = "x"` → `timeout_secs`), if any.
fn assigned_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let ok = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | ' '));
    ok.then(|| key.trim_matches('"'))
}

/// The table a header line opens (`[mail.smtp]`, `[[source]]`), if it is one.
fn table_header(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix("[[").and_then(|r| r.split("]]").next()).or_else(|| t.strip_prefix('[')?.split(']').next())?;
    let inner = inner.trim();
    (!inner.is_empty()).then_some(inner)
}

/// The dotted key at `offset`: the table the offset is in, and the key of
/// the nearest assignment at or above it within that table
/// (`sources.timeout_secs`). Only the table when the offset is on its
/// header; `None` before any key or table.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let upto = text.get(..offset.min(text.len()))?;
    let line_end = text.get(upto.len()..).and_then(|r| r.find('\n')).map_or(text.len(), |i| upto.len() + i);
    let mut key = None;
    for line in text.get(..line_end)?.lines().rev() {
        let code = line.split('#').next().unwrap_or("");
        if let Some(table) = table_header(code) {
            return Some(match key {
                Some(k) => format!("{table}.{k}"),
                None => table.to_string(),
            });
        }
        if key.is_none() {
            key = assigned_key(code);
        }
    }
    key.map(str::to_string)
}

/// The line of `key = …` in the table that starts at `span` (up to the
/// next table header), or the table's first line.
pub fn line_of_key(text: &str, span: std::ops::Range<usize>, key: &str) -> usize {
    let start = span.start.min(text.len());
    let mut offset = start;
    for (i, line) in text.get(start..).unwrap_or("").split_inclusive('\n').enumerate() {
        let code = line.split('#').next().unwrap_or("");
        if i > 0 && table_header(code).is_some() {
            break;
        }
        if assigned_key(code) == Some(key) {
            return line_of(text, offset);
        }
        offset += line.len();
    }
    line_of(text, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "name = \"x\"\n[sources]\ncontact = \"a@b.se\"\ntimeout_secs = \"30\"  # seconds\n\n[mail]\nau = [\n  \"a\",\n  3,\n]\n";

    #[test]
    fn key_at_names_table_and_key() {
        let at = |needle: &str| key_at(TEXT, TEXT.find(needle).unwrap());
        assert_eq!(at("\"30\"").as_deref(), Some("sources.timeout_secs"));
        assert_eq!(at("\"x\"").as_deref(), Some("name"));
        assert_eq!(at("[sources]").as_deref(), Some("sources"));
        assert_eq!(at("3,").as_deref(), Some("mail.au"), "a value on a later line of an array");
        assert_eq!(line_of(TEXT, TEXT.find("\"30\"").unwrap()), 4);
    }

    #[test]
    fn line_of_key_finds_the_key_in_a_table() {
        let text = "[[source]]\nname = \"a\"\n\n[[source]]\nname = \"b\"\nkind = \"x\"\n[[source]]\nitem = \"li\"\n";
        let second = text.find("[[source]]\nname = \"b\"").unwrap();
        assert_eq!(line_of_key(text, second..second + 10, "kind"), 6);
        assert_eq!(line_of_key(text, second..second + 10, "item"), 4, "not a key of the next table");
        assert_eq!(line_of_key(text, 0..10, "name"), 2);
    }
}
