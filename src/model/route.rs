//! HTTP route paths, parsed once and rendered for each provider.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Every concrete method a route can serve (`ANY` stands for all of them).
pub const ALL_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// A route such as `/users/{id}/files/{path+}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    pub segments: Vec<Segment>,
}

/// One `/`-separated piece of a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Literal(String),
    /// `{name}`: exactly one segment.
    Param(String),
    /// `{name+}`: the rest of the path; only last.
    Greedy(String),
}

/// Why a path is not a valid route: message and byte range within the path.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteError {
    pub message: String,
    pub range: std::ops::Range<usize>,
    pub help: Option<String>,
}

impl Route {
    /// Parses a manifest path. Literal segments allow the characters both API
    /// Gateway and Azure route templates accept unescaped.
    pub fn parse(path: &str) -> Result<Route, RouteError> {
        let err = |message: String, range: std::ops::Range<usize>, help: Option<&str>| RouteError {
            message,
            range,
            help: help.map(str::to_string),
        };
        if !path.starts_with('/') {
            return Err(err(
                format!("route `{path}` must start with `/`"),
                0..path.len(),
                Some("write it as an absolute path, such as `/users/{id}`"),
            ));
        }
        let mut segments = Vec::new();
        let mut offset = 1;
        let body = &path[1..];
        if body.is_empty() {
            return Ok(Route { segments });
        }
        let parts: Vec<&str> = body.split('/').collect();
        let mut names = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let range = offset..offset + part.len();
            offset += part.len() + 1;
            if part.is_empty() {
                if i == parts.len() - 1 {
                    return Err(err(
                        format!("route `{path}` ends with `/`"),
                        range.start - 1..range.start,
                        Some("remove the trailing slash"),
                    ));
                }
                return Err(err(
                    format!("route `{path}` has an empty segment (`//`)"),
                    range.start - 1..range.start + 1,
                    None,
                ));
            }
            if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(err(
                        format!("`{part}` is not a valid path parameter"),
                        range,
                        Some("parameter names use letters, digits and `_`, such as `{id}` or `{path+}`"),
                    ));
                }
                if names.contains(&name) {
                    return Err(err(
                        format!("path parameter `{name}` appears twice in `{path}`"),
                        range,
                        None,
                    ));
                }
                names.push(name);
                if greedy {
                    if i != parts.len() - 1 {
                        return Err(err(
                            format!("greedy parameter `{part}` must be the last segment"),
                            range,
                            Some(
                                "`{name+}` captures the rest of the path, so nothing may follow it",
                            ),
                        ));
                    }
                    segments.push(Segment::Greedy(name.to_string()));
                } else {
                    segments.push(Segment::Param(name.to_string()));
                }
            } else {
                if let Some(bad) = part
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
                {
                    return Err(err(
                        format!("route segment `{part}` contains `{bad}`"),
                        range,
                        Some("literal segments use letters, digits and `-_.~`; parameters are written `{name}`"),
                    ));
                }
                segments.push(Segment::Literal(part.to_string()));
            }
        }
        Ok(Route { segments })
    }

    /// The path with parameter names erased: two routes with the same shape
    /// match the same requests, whatever their parameters are called.
    pub fn shape(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Segment::Literal(l) => s.push_str(l),
                Segment::Param(_) => s.push_str("{}"),
                Segment::Greedy(_) => s.push_str("{+}"),
            }
        }
        if s.is_empty() {
            s.push('/');
        }
        s
    }

    /// How specific the route is at each segment, for API Gateway's
    /// precedence: a literal (0) beats a `{param}` (1), which beats a greedy
    /// `{param+}` (2). Sorting routes by this key puts the one a request
    /// matches first.
    pub fn rank(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Param(_) => 1,
                Segment::Greedy(_) => 2,
            })
            .collect()
    }

    /// The path parameters when the request path (split into its
    /// non-empty, still percent-encoded segments) matches this route.
    pub fn matches(&self, parts: &[&str]) -> Option<BTreeMap<String, String>> {
        let mut params = BTreeMap::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Greedy(name) => {
                    if i >= parts.len() {
                        return None;
                    }
                    params.insert(
                        name.clone(),
                        parts[i..]
                            .iter()
                            .map(|p| decode_segment(p))
                            .collect::<Vec<_>>()
                            .join("/"),
                    );
                    return Some(params);
                }
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    params.insert(name.clone(), decode_segment(parts.get(i)?));
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::Greedy(n) => Some(n.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

/// A request path split into its non-empty segments.
pub fn path_parts(path: &str) -> Vec<&str> {
    path.trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect()
}

/// A path segment percent-decoded (`+` stays `+` in a path).
pub fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for seg in &self.segments {
            match seg {
                Segment::Literal(l) => write!(f, "/{l}")?,
                Segment::Param(n) => write!(f, "/{{{n}}}")?,
                Segment::Greedy(n) => write!(f, "/{{{n}+}}")?,
            }
        }
        Ok(())
    }
}

impl Serialize for Route {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for p in [
            "/",
            "/users",
            "/users/{id}",
            "/files/{path+}",
            "/a-b/c_d/e.f~",
        ] {
            assert_eq!(Route::parse(p).unwrap().to_string(), p);
        }
        assert_eq!(
            Route::parse("/users/{id}/x").unwrap().shape(),
            "/users/{}/x"
        );
        assert_eq!(Route::parse("/").unwrap().shape(), "/");
    }

    #[test]
    fn rejects_bad_paths_with_ranges() {
        let e = Route::parse("users").unwrap_err();
        assert!(e.message.contains("must start with `/`"));
        let e = Route::parse("/a/{b+}/c").unwrap_err();
        assert_eq!(e.range, 3..7);
        assert!(e.message.contains("must be the last segment"));
        let e = Route::parse("/a/{1x}").unwrap_err();
        assert_eq!(e.range, 3..7);
        assert!(Route::parse("/a/")
            .unwrap_err()
            .message
            .contains("ends with `/`"));
        assert!(Route::parse("/a//b")
            .unwrap_err()
            .message
            .contains("empty segment"));
        assert!(Route::parse("/a b")
            .unwrap_err()
            .message
            .contains("contains ` `"));
        assert!(Route::parse("/{id}/{id}")
            .unwrap_err()
            .message
            .contains("appears twice"));
    }
}
