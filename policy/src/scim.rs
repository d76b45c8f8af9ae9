//! SCIM's small languages (RFC 7644), read without I/O: the filters a
//! directory searches with, the paths of its PATCH operations, the loose
//! values Entra ID sends, paging, and the shape of a tenant's SCIM token.
//!
//! Only what a directory needs to provision users is understood: equality
//! (`eq`) on an attribute, joined by `and`. Anything else is refused as an
//! `invalidFilter` rather than half-read (S66).

/// The core User schema's URN: attribute paths may carry it as a prefix.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema's URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The longest filter read; a directory's are a few dozen characters.
pub const FILTER_MAX: usize = 1024;
/// The most resources one page lists.
pub const PAGE_MAX: usize = 200;

/// A value compared with (`compValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
    Null,
}

/// `attribute eq value`: the attribute path in lower case, without its
/// schema URN (`emails.value`, `username`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equality {
    pub attribute: String,
    pub value: FilterValue,
}

impl Equality {
    /// `attribute eq "value"`.
    pub fn text(attribute: &str, value: &str) -> Equality {
        Equality {
            attribute: attribute.to_string(),
            value: FilterValue::Text(value.to_string()),
        }
    }
}

/// Why a filter or path was not read (the `detail` of `invalidFilter` or
/// `invalidPath`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// A filter: every equality must hold.
pub fn parse_filter(filter: &str) -> Result<Vec<Equality>, Unreadable> {
    if filter.len() > FILTER_MAX {
        return Err(Unreadable("the filter is too long"));
    }
    let mut lexer = Lexer::new(filter);
    let mut all = vec![lexer.equality()?];
    while let Some(word) = lexer.word() {
        if !word.eq_ignore_ascii_case("and") {
            return Err(Unreadable("only `and` may join comparisons"));
        }
        all.push(lexer.equality()?);
    }
    Ok(all)
}

/// A PATCH operation's path (RFC 7644 §3.5.2): an attribute, maybe a
/// filter on its values, maybe a sub-attribute (`emails[type eq "work"].value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    /// Lower case, without the schema URN.
    pub attribute: String,
    pub value_filter: Option<Vec<Equality>>,
    /// Lower case.
    pub sub_attribute: Option<String>,
}

/// Reads a PATCH path.
pub fn parse_patch_path(path: &str) -> Result<PatchPath, Unreadable> {
    if path.len() > FILTER_MAX {
        return Err(Unreadable("the path is too long"));
    }
    let path = path.trim();
    let (head, rest) = match path.find('[') {
        Some(open) => {
            let close = path
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or(Unreadable("a `[` without its `]`"))?;
            let filter = parse_filter(&path[open + 1..close])?;
            let after = &path[close + 1..];
            let sub = match after {
                "" => None,
                s => Some(
                    s.strip_prefix('.')
                        .filter(|s| is_name(s))
                        .ok_or(Unreadable("after `]` only `.` and a sub-attribute"))?,
                ),
            };
            (&path[..open], Some((filter, sub)))
        }
        None => (path, None),
    };
    let name = without_urn(head);
    if name.is_empty() {
        return Err(Unreadable("no attribute"));
    }
    let lower = name.to_ascii_lowercase();
    match rest {
        Some((filter, sub)) => {
            if !is_name(&lower) {
                return Err(Unreadable("not an attribute name"));
            }
            Ok(PatchPath {
                attribute: lower,
                value_filter: Some(filter),
                sub_attribute: sub.map(str::to_ascii_lowercase),
            })
        }
        None => {
            let (attribute, sub) = match lower.split_once('.') {
                Some((a, s)) => (a.to_string(), Some(s.to_string())),
                None => (lower, None),
            };
            if !is_name(&attribute) || sub.as_deref().is_some_and(|s| !is_name(s)) {
                return Err(Unreadable("not an attribute name"));
            }
            Ok(PatchPath {
                attribute,
                value_filter: None,
                sub_attribute: sub,
            })
        }
    }
}

/// `name.givenName` or `urn:…:User:name.givenName` without the URN.
fn without_urn(path: &str) -> &str {
    for urn in [USER_SCHEMA, GROUP_SCHEMA] {
        let named = path
            .get(..urn.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(urn));
        if named && path.as_bytes().get(urn.len()) == Some(&b':') {
            if let Some(rest) = path.get(urn.len() + 1..) {
                return rest;
            }
        }
    }
    path
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

/// A boolean as directories send it: JSON `true`, or Entra ID's string
/// `"True"` / `"False"` in any case.
pub fn loose_bool(text: &str) -> Option<bool> {
    match text.trim() {
        t if t.eq_ignore_ascii_case("true") => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The page a list asks for (RFC 7644 §3.4.2.4): `startIndex` is 1-based
/// and below 1 means 1; a negative `count` means 0; neither past
/// [`PAGE_MAX`]. `None` when either is not a number.
pub fn page(start_index: Option<&str>, count: Option<&str>) -> Option<(usize, usize)> {
    let number = |v: Option<&str>, default: i64| match v {
        None => Some(default),
        Some(v) => v.trim().parse::<i64>().ok(),
    };
    let start = number(start_index, 1)?.max(1);
    let count = number(count, PAGE_MAX as i64)?.clamp(0, PAGE_MAX as i64);
    Some((usize::try_from(start).ok()?, count as usize))
}

/// A SCIM token's parts: `scim.<tenant id>.<token id>.<secret>`. The
/// tenant and token ids let a request find its token's hash without an
/// index; only the secret proves anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenParts<'a> {
    pub tenant_id: &'a str,
    pub token_id: &'a str,
    pub secret: &'a str,
}

/// Reads a bearer token of the shape this gateway issues; `None` for any
/// other, before any look-up.
pub fn token_parts(token: &str) -> Option<TokenParts<'_>> {
    let rest = token.strip_prefix("scim.")?;
    let mut parts = rest.rsplitn(3, '.');
    let secret = parts.next()?;
    let token_id = parts.next()?;
    let tenant_id = parts.next()?;
    let plain = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (plain(tenant_id, 64) && plain(token_id, 64) && plain(secret, 64)).then_some(TokenParts {
        tenant_id,
        token_id,
        secret,
    })
}

/// The token a client is given: see [`token_parts`].
pub fn token(tenant_id: &str, token_id: &str, secret: &str) -> String {
    format!("scim.{tenant_id}.{token_id}.{secret}")
}

/// A time as SCIM's `meta` writes it (RFC 3339, UTC): `2026-12-07T09:30:00Z`.
pub fn datetime(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // The civil date of a day count (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// A small reader of filter text.
struct Lexer<'a> {
    rest: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Lexer<'a> {
        Lexer { rest: text }
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    /// The next run of non-space characters outside quotes.
    fn word(&mut self) -> Option<&'a str> {
        self.skip_space();
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find([' ', '\t']).unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(word)
    }

    fn equality(&mut self) -> Result<Equality, Unreadable> {
        let attribute = self.word().ok_or(Unreadable("no attribute"))?;
        if attribute.starts_with('(') || attribute.eq_ignore_ascii_case("not") {
            return Err(Unreadable("groups and `not` are not supported"));
        }
        let attribute = without_urn(attribute).to_ascii_lowercase();
        let valid = attribute.split('.').count() <= 2 && attribute.split('.').all(is_name);
        if !valid {
            return Err(Unreadable("not an attribute path"));
        }
        let op = self.word().ok_or(Unreadable("no operator"))?;
        if !op.eq_ignore_ascii_case("eq") {
            return Err(if is_operator(op) {
                Unreadable("only `eq` is supported")
            } else {
                Unreadable("not an operator")
            });
        }
        self.skip_space();
        let value = self.value()?;
        Ok(Equality { attribute, value })
    }

    fn value(&mut self) -> Result<FilterValue, Unreadable> {
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        self.rest = &quoted[i + 1..];
                        if !(self.rest.is_empty() || self.rest.starts_with([' ', '\t'])) {
                            return Err(Unreadable("text after a quoted value"));
                        }
                        return Ok(FilterValue::Text(text));
                    }
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some(e @ ('"' | '\\' | '/')) => text.push(e),
                        Some('n') => text.push('\n'),
                        Some('t') => text.push('\t'),
                        _ => return Err(Unreadable("an escape JSON does not know")),
                    },
                    c => text.push(c),
                }
            }
            return Err(Unreadable("a value without its closing quote"));
        }
        match self.word() {
            Some(w) if w.eq_ignore_ascii_case("true") => Ok(FilterValue::Bool(true)),
            Some(w) if w.eq_ignore_ascii_case("false") => Ok(FilterValue::Bool(false)),
            Some(w) if w.eq_ignore_ascii_case("null") => Ok(FilterValue::Null),
            Some(w) if w.parse::<f64>().is_ok() => Ok(FilterValue::Text(w.to_string())),
            _ => Err(Unreadable(
                "a value is quoted text, true, false, null or a number",
            )),
        }
    }
}

fn is_operator(word: &str) -> bool {
    ["ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"]
        .iter()
        .any(|op| word.eq_ignore_ascii_case(op))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(attribute: &str, value: &str) -> Equality {
        Equality::text(attribute, value)
    }

    #[test]
    fn s66_a_directory_s_filters_are_read() {
        assert_eq!(
            parse_filter(r#"userName eq "Hanako.Sato@corp.example""#),
            Ok(vec![eq("username", "Hanako.Sato@corp.example")])
        );
        assert_eq!(
            parse_filter(r#"externalId EQ "a \"b\" c""#),
            Ok(vec![eq("externalid", r#"a "b" c"#)])
        );
        assert_eq!(
            parse_filter(r#"emails.value eq "x@y.jp" and active eq true"#),
            Ok(vec![
                eq("emails.value", "x@y.jp"),
                Equality {
                    attribute: "active".into(),
                    value: FilterValue::Bool(true)
                }
            ])
        );
        assert_eq!(
            parse_filter(&format!("{USER_SCHEMA}:userName eq \"a\"")),
            Ok(vec![eq("username", "a")])
        );
        assert_eq!(
            parse_filter(r#"displayName eq "管理者""#),
            Ok(vec![eq("displayname", "管理者")])
        );
    }

    #[test]
    fn s66_other_filters_are_refused_not_guessed() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName co "a""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"(userName eq "a")"#,
            r#"not (userName eq "a")"#,
            r#"userName eq "a"#,
            r#"userName eq "a"x"#,
            "userName eq bare",
            r#"a.b.c eq "x""#,
            r#"user%Name eq "x""#,
            r#"userName eq "\q""#,
        ] {
            assert!(parse_filter(bad).is_err(), "{bad:?}");
        }
        assert!(parse_filter(&"a".repeat(FILTER_MAX + 1)).is_err());
    }

    #[test]
    fn s66_patch_paths_with_a_value_filter_as_entra_sends_them() {
        assert_eq!(
            parse_patch_path(r#"emails[type eq "work"].value"#),
            Ok(PatchPath {
                attribute: "emails".into(),
                value_filter: Some(vec![eq("type", "work")]),
                sub_attribute: Some("value".into()),
            })
        );
        assert_eq!(
            parse_patch_path("name.givenName"),
            Ok(PatchPath {
                attribute: "name".into(),
                value_filter: None,
                sub_attribute: Some("givenname".into()),
            })
        );
        assert_eq!(
            parse_patch_path(&format!("{USER_SCHEMA}:active")),
            Ok(PatchPath {
                attribute: "active".into(),
                value_filter: None,
                sub_attribute: None,
            })
        );
        assert_eq!(
            parse_patch_path(r#"members[value eq "u1"]"#)
                .unwrap()
                .value_filter,
            Some(vec![eq("value", "u1")])
        );
        for bad in [
            "",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"]x",
            "a.b.c",
            "1x",
            "urn:ietf:params:scim:schemas:core:2.0:Usé",
        ] {
            assert!(parse_patch_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_are_rfc_3339() {
        assert_eq!(datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(datetime(1_796_636_400), "2026-12-07T09:40:00Z");
        assert_eq!(datetime(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn entra_s_string_booleans_are_booleans() {
        assert_eq!(loose_bool("False"), Some(false));
        assert_eq!(loose_bool("TRUE"), Some(true));
        assert_eq!(loose_bool("no"), None);
    }

    #[test]
    fn paging_follows_the_rfc_s_rules() {
        assert_eq!(page(None, None), Some((1, PAGE_MAX)));
        assert_eq!(page(Some("0"), Some("-5")), Some((1, 0)));
        assert_eq!(page(Some("51"), Some("10")), Some((51, 10)));
        assert_eq!(page(Some("1"), Some("100000")), Some((1, PAGE_MAX)));
        assert_eq!(page(Some("x"), None), None);
    }

    #[test]
    fn s65_a_token_names_its_tenant_and_entry() {
        let t = token("t-1", "abc", "SeCrEt_-x");
        assert_eq!(
            token_parts(&t),
            Some(TokenParts {
                tenant_id: "t-1",
                token_id: "abc",
                secret: "SeCrEt_-x"
            })
        );
        for bad in [
            "",
            "scim.",
            "scim.a.b",
            "bearer.a.b.c",
            "scim.a.b.c d",
            "scim..b.c",
        ] {
            assert_eq!(token_parts(bad), None, "{bad:?}");
        }
    }
}
