//! The views file: a data engineer's view definitions, in TOML.
//!
//! ```toml
//! version = 2                  # recorded with every pair computed from this file
//!
//! [[view]]
//! name = "hashtags_by_lang"
//! description = "posts per hashtag, language and 5-minute slot"
//! group-by = ["lang"]          # "lang", "source"
//! bucket = "5m"                # "5m", "1h", "1d"
//! measure = "posts"            # "posts", or "authors" (distinct authors; batch only)
//! ```
//!
//! The built-in thesis view (`hashtag_slot_counts`) is always part of the set.

use model::view::ViewDefError;
use model::{ViewDef, ViewSet};
use serde::Deserialize;
use std::path::Path;

/// Why a views file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ViewsFileError {
    /// The file cannot be read.
    #[error("cannot read the views file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("the views file {path} is not valid: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        message: String,
    },
    /// A definition is refused.
    #[error("the views file {path}: {source}")]
    Definition {
        /// The file.
        path: String,
        /// What is wrong.
        source: ViewDefError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewsFile {
    #[serde(default = "one")]
    version: u32,
    #[serde(default, rename = "view")]
    views: Vec<ViewDef>,
}

fn one() -> u32 {
    1
}

/// Parses a views file's text; `path` is for messages.
pub fn parse(text: &str, path: &str) -> Result<ViewSet, ViewsFileError> {
    let file: ViewsFile = toml::from_str(text).map_err(|e| ViewsFileError::Syntax {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    ViewSet::new(file.version, file.views).map_err(|source| ViewsFileError::Definition {
        path: path.to_string(),
        source,
    })
}

/// Reads and parses a views file.
pub fn load(path: &Path) -> Result<ViewSet, ViewsFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ViewsFileError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::view::{Bucket, Dimension, Measure};

    #[test]
    fn a_file_defines_views_beside_the_thesis_view() {
        let set = parse(
            r#"
version = 3
[[view]]
name = "by_lang"
group-by = ["lang"]
[[view]]
name = "authors_hourly"
bucket = "1h"
measure = "authors"
"#,
            "views.toml",
        )
        .unwrap();
        assert_eq!(set.version, 3);
        let names: Vec<_> = set.views.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["hashtag_slot_counts", "authors_hourly", "by_lang"]);
        assert_eq!(set.get("by_lang").unwrap().group_by, [Dimension::Lang]);
        let a = set.get("authors_hourly").unwrap();
        assert_eq!((a.bucket, a.measure), (Bucket::Hour, Measure::Authors));
    }

    #[test]
    fn mistakes_are_named() {
        let err = parse(
            "[[view]]\nname = \"x\"\ngroup-by = [\"country\"]\n",
            "v.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("v.toml") && err.contains("country"), "{err}");
        let err = parse("[[view]]\nname = \"x\"\nbukket = \"1h\"\n", "v.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bukket"), "{err}");
        let err = parse("[[view]]\nname = \"Bad Name\"\n", "v.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Bad Name"), "{err}");
    }
}
