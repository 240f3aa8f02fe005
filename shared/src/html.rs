//! Escaping for HTML and SVG text and attributes, and query-string building
//! for links, for every page sync178 serves (the hub's, the node's data entry).
//! Everything that comes from data goes through [`esc`].

use std::fmt;

/// Text escaped for HTML and SVG, both in element content and in quoted attributes.
#[derive(Debug, Clone, Copy)]
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (i, c) in self.0.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[last..i])?;
            f.write_str(rep)?;
            last = i + c.len_utf8();
        }
        f.write_str(&self.0[last..])
    }
}

/// `s` escaped for HTML, as a `Display`.
pub fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

/// `s` escaped for HTML, as a `String`.
pub fn escape(s: &str) -> String {
    esc(s).to_string()
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&…` with the values percent-encoded; pairs with an empty value are left out.
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("Xã Tân Tiến"), "Xã Tân Tiến");
    }

    #[test]
    fn links_encode_values() {
        assert_eq!(
            link(
                "/unit/d008",
                &[("period", "2024-Q1"), ("sort", ""), ("x", "a b&c")]
            ),
            "/unit/d008?period=2024-Q1&x=a%20b%26c"
        );
        assert_eq!(link("/", &[]), "/");
        assert_eq!(url_encode("Hưng"), "H%C6%B0ng");
    }
}
