//! View definitions as data: what a view counts, by which dimensions, in which time buckets.
//!
//! A [`ViewSet`] is what a batch/speed table pair holds. It always contains the thesis view,
//! [`ViewDef::thesis`] (posts per hashtag and 5-minute slot), whose cells are keyed by the bare
//! hashtag; every other view's cells are keyed `name␟dimension values…␟hashtag` (␟ is U+001F,
//! which no hashtag can contain), so all the views of a pair live in the pair's tables and share
//! its cut. [`ViewDef::cell`] is the one function that turns a post into a view's cell, for the
//! speed layer and (as DataFusion UDFs) for the batch layer alike.

use crate::post::Post;
use crate::slot::{SLOT_MILLIS, SlotStart};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Separator of the parts of a non-thesis view's cell key (U+001F, the unit separator).
pub const KEY_SEPARATOR: char = '\u{1f}';

/// Name of the thesis view.
pub const THESIS_VIEW: &str = "hashtag_slot_counts";

/// A dimension a view can group by, besides the hashtag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dimension {
    /// The post's language tag (`und` when absent).
    Lang,
    /// The source the post came from (`unknown` when absent).
    Source,
}

impl Dimension {
    /// The post's value of this dimension.
    pub fn value(self, lang: Option<&str>, source: Option<&str>) -> String {
        match self {
            Dimension::Lang => lang
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .unwrap_or("und")
                .to_lowercase(),
            Dimension::Source => source
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .to_lowercase(),
        }
        .replace(KEY_SEPARATOR, "")
    }

    /// The column of the master dataset that holds it.
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Lang => "lang",
            Dimension::Source => "source",
        }
    }
}

/// The time bucket of a view's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Bucket {
    /// Five minutes (the thesis's slot).
    #[default]
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One hour.
    #[serde(rename = "1h")]
    Hour,
    /// One UTC day.
    #[serde(rename = "1d")]
    Day,
}

impl Bucket {
    /// Width in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Bucket::FiveMinutes => SLOT_MILLIS,
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }

    /// The bucket containing `millis` (rounding towards minus infinity), as a slot start.
    pub fn start(self, millis: i64) -> SlotStart {
        bucket_start(millis, self.millis())
    }
}

/// The start of the `width`-millisecond bucket containing `millis` (towards minus infinity).
pub fn bucket_start(millis: i64, width: i64) -> SlotStart {
    SlotStart(millis.div_euclid(width) * width)
}

/// What a view's cell counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Posts using the hashtag (a post counts once per distinct hashtag). Additive: kept by
    /// the batch and the speed layer, merged by addition.
    #[default]
    Posts,
    /// Distinct authors using the hashtag in the bucket. Not additive across the cut, so it is
    /// kept by the batch layer only: it is exact up to the active pair's cut.
    Authors,
}

impl Measure {
    /// Whether the speed layer keeps this measure (it must be additive).
    pub fn is_live(self) -> bool {
        matches!(self, Measure::Posts)
    }
}

/// One view.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ViewDef {
    /// Name: lowercase letters, digits and `_`, at most 48 characters.
    pub name: String,
    /// What it is for, for humans.
    #[serde(default)]
    pub description: String,
    /// Dimensions besides the hashtag.
    #[serde(default)]
    pub group_by: Vec<Dimension>,
    /// Time bucket.
    #[serde(default)]
    pub bucket: Bucket,
    /// What a cell counts.
    #[serde(default)]
    pub measure: Measure,
}

/// Why a view definition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("view `{name}`: {reason}")]
pub struct ViewDefError {
    /// The view.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl ViewDef {
    /// The thesis view: posts per hashtag and 5-minute UTC slot, keyed by the bare hashtag.
    pub fn thesis() -> ViewDef {
        ViewDef {
            name: THESIS_VIEW.into(),
            description:
                "posts per normalised hashtag and 5-minute UTC slot (a post counts once per distinct hashtag)"
                    .into(),
            group_by: Vec::new(),
            bucket: Bucket::FiveMinutes,
            measure: Measure::Posts,
        }
    }

    /// Whether this is the thesis view.
    pub fn is_thesis(&self) -> bool {
        self.name == THESIS_VIEW
    }

    /// Checks the name and the shape.
    pub fn validate(&self) -> Result<(), ViewDefError> {
        let fail = |reason: String| {
            Err(ViewDefError {
                name: self.name.clone(),
                reason,
            })
        };
        if self.name.is_empty()
            || self.name.len() > 48
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || !self.name.starts_with(|c: char| c.is_ascii_lowercase())
        {
            return fail("a name is 1 to 48 of a-z, 0-9 and _, starting with a letter".to_string());
        }
        let thesis = ViewDef::thesis();
        if self.is_thesis()
            && (self.group_by != thesis.group_by
                || self.bucket != thesis.bucket
                || self.measure != thesis.measure)
        {
            return fail(format!(
                "`{THESIS_VIEW}` is the built-in thesis view and cannot be redefined; give your view another name"
            ));
        }
        let mut dims = self.group_by.clone();
        dims.sort();
        dims.dedup();
        if dims.len() != self.group_by.len() {
            return fail("a dimension is listed twice in group-by".into());
        }
        Ok(())
    }

    /// The prefix of this view's cell keys (empty for the thesis view).
    pub fn key_prefix(&self) -> String {
        if self.is_thesis() {
            String::new()
        } else {
            format!("{}{KEY_SEPARATOR}", self.name)
        }
    }

    /// The cell key of `hashtag` for a post with these dimension values.
    pub fn key(&self, lang: Option<&str>, source: Option<&str>, hashtag: &str) -> String {
        if self.is_thesis() {
            return hashtag.to_string();
        }
        let mut key = self.key_prefix();
        for d in &self.group_by {
            key.push_str(&d.value(lang, source));
            key.push(KEY_SEPARATOR);
        }
        key.push_str(hashtag);
        key
    }

    /// The cell (key, bucket) of one of a post's hashtag keys.
    pub fn cell(&self, post: &Post, hashtag: &str) -> (String, SlotStart) {
        (
            self.key(post.lang.as_deref(), post.source.as_deref(), hashtag),
            self.bucket.start(post.timestamp),
        )
    }
}

/// The views a pair holds: the thesis view first, then the others by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ViewSet {
    /// The version the data engineer gave the set (recorded with every pair).
    pub version: u32,
    /// The views.
    pub views: Vec<ViewDef>,
}

impl Default for ViewSet {
    fn default() -> Self {
        ViewSet {
            version: 1,
            views: vec![ViewDef::thesis()],
        }
    }
}

impl ViewSet {
    /// A set of `views` (the thesis view is added if missing), checked: valid definitions,
    /// distinct names.
    pub fn new(version: u32, views: Vec<ViewDef>) -> Result<ViewSet, ViewDefError> {
        let mut all = vec![ViewDef::thesis()];
        for v in views {
            v.validate()?;
            if v.is_thesis() {
                continue;
            }
            if all.iter().any(|w| w.name == v.name) {
                return Err(ViewDefError {
                    name: v.name,
                    reason: "defined twice".into(),
                });
            }
            all.push(v);
        }
        all[1..].sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ViewSet {
            version,
            views: all,
        })
    }

    /// The view named `name`.
    pub fn get(&self, name: &str) -> Option<&ViewDef> {
        self.views.iter().find(|v| v.name == name)
    }

    /// Only the views named in `names` (and the thesis view, which every pair holds).
    pub fn select(&self, names: &[String]) -> Result<ViewSet, ViewDefError> {
        for n in names {
            if self.get(n).is_none() {
                return Err(ViewDefError {
                    name: n.clone(),
                    reason: format!(
                        "not defined (defined: {})",
                        self.views
                            .iter()
                            .map(|v| v.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(ViewSet {
            version: self.version,
            views: self
                .views
                .iter()
                .filter(|v| v.is_thesis() || names.contains(&v.name))
                .cloned()
                .collect(),
        })
    }

    /// The views the speed layer keeps.
    pub fn live(&self) -> impl Iterator<Item = &ViewDef> {
        self.views.iter().filter(|v| v.measure.is_live())
    }
}

/// The view a cell key belongs to, and the rest of the key (dimension values and hashtag).
pub fn split_key(key: &str) -> (&str, &str) {
    match key.split_once(KEY_SEPARATOR) {
        None => (THESIS_VIEW, key),
        Some((name, rest)) => (name, rest),
    }
}

/// Whether a cell key belongs to the thesis view (a bare hashtag).
pub fn is_thesis_key(key: &str) -> bool {
    !key.contains(KEY_SEPARATOR)
}

/// A cell key shown to people: `name / en / rust` for `name␟en␟rust`.
pub fn display_key(key: &str) -> String {
    key.replace(KEY_SEPARATOR, " / ")
}

impl fmt::Display for ViewDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by: Vec<&str> = std::iter::once("hashtag")
            .chain(self.group_by.iter().map(|d| d.column()))
            .collect();
        let bucket = match self.bucket {
            Bucket::FiveMinutes => "5m",
            Bucket::Hour => "1h",
            Bucket::Day => "1d",
        };
        let measure = match self.measure {
            Measure::Posts => "posts",
            Measure::Authors => "distinct authors",
        };
        write!(
            f,
            "{}: {measure} by {} per {bucket}{}",
            self.name,
            by.join(", "),
            if self.measure.is_live() {
                ""
            } else {
                " (batch only)"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(lang: Option<&str>, source: Option<&str>, ts: i64) -> Post {
        Post {
            userid: 1,
            username: "u".into(),
            timestamp: ts,
            tweetid: 1,
            tweet: "#Rust".into(),
            source: source.map(str::to_string),
            lang: lang.map(str::to_string),
            hashtags: None,
        }
    }

    #[test]
    fn thesis_cells_are_bare_hashtags_in_five_minute_slots() {
        let v = ViewDef::thesis();
        let (k, s) = v.cell(&post(Some("en"), None, 301_000), "rust");
        assert_eq!(k, "rust");
        assert_eq!(s, SlotStart(300_000));
        assert!(is_thesis_key(&k));
    }

    #[test]
    fn dimensioned_cells_carry_the_view_and_the_values() {
        let v = ViewDef {
            name: "by_lang_source".into(),
            description: String::new(),
            group_by: vec![Dimension::Lang, Dimension::Source],
            bucket: Bucket::Hour,
            measure: Measure::Posts,
        };
        let (k, s) = v.cell(&post(Some("EN"), None, 7_199_999), "rust");
        assert_eq!(k, "by_lang_source\u{1f}en\u{1f}unknown\u{1f}rust");
        assert_eq!(s, SlotStart(3_600_000));
        assert!(!is_thesis_key(&k));
        assert_eq!(display_key(&k), "by_lang_source / en / unknown / rust");
        let (_, s) = v.cell(&post(None, None, -1), "rust");
        assert_eq!(s, SlotStart(-3_600_000), "before 1970 rounds down");
    }

    #[test]
    fn sets_always_hold_the_thesis_view_and_refuse_bad_definitions() {
        let set = ViewSet::new(2, vec![]).unwrap();
        assert_eq!(set.views, vec![ViewDef::thesis()]);
        let bad = |name: &str| ViewDef {
            name: name.into(),
            ..ViewDef::thesis()
        };
        assert!(ViewSet::new(1, vec![bad("Upper")]).is_err());
        assert!(ViewSet::new(1, vec![bad("")]).is_err());
        let twice = ViewSet::new(1, vec![bad("a"), bad("a")]).unwrap_err();
        assert!(twice.to_string().contains("defined twice"));
        let redefined = ViewDef {
            bucket: Bucket::Hour,
            ..ViewDef::thesis()
        };
        assert!(ViewSet::new(1, vec![redefined]).is_err());
        let dup_dim = ViewDef {
            group_by: vec![Dimension::Lang, Dimension::Lang],
            ..bad("x")
        };
        assert!(ViewSet::new(1, vec![dup_dim]).is_err());
    }

    #[test]
    fn select_keeps_the_thesis_view_and_names_unknown_views() {
        let set = ViewSet::new(
            1,
            vec![
                ViewDef {
                    name: "b".into(),
                    ..ViewDef::thesis()
                },
                ViewDef {
                    name: "a".into(),
                    ..ViewDef::thesis()
                },
            ],
        )
        .unwrap();
        let names: Vec<_> = set.views.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, [THESIS_VIEW, "a", "b"]);
        let only_b = set.select(&["b".into()]).unwrap();
        assert_eq!(only_b.views.len(), 2);
        let err = set.select(&["c".into()]).unwrap_err();
        assert!(err.to_string().contains("not defined"), "{err}");
        assert_eq!(split_key("a\u{1f}en\u{1f}rust"), ("a", "en\u{1f}rust"));
        assert_eq!(split_key("rust"), (THESIS_VIEW, "rust"));
    }
}
