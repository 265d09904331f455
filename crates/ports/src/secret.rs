//! [`Secret`]: a configuration value (a password, a token) that never shows in logs, `Debug`
//! output or `lambda-trends config show`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret string. `Debug` and `Display` print `<redacted>` (or nothing when empty); the value
/// is only reachable through [`Secret::expose`]. It serializes as itself so configuration
/// layering works, except inside [`Secret::redacting`], which anything serializing for people
/// to see (`config show`) runs in: there every secret, wherever it sits, is `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

thread_local! {
    static REDACTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if REDACTING.with(std::cell::Cell::get) {
            self.redacted().0.serialize(serializer)
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (a client's credentials).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs `f` (on this thread) with every [`Secret`] serializing as `<redacted>`.
    pub fn redacting<T>(f: impl FnOnce() -> T) -> T {
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                REDACTING.with(|r| r.set(self.0));
            }
        }
        let _reset = Reset(REDACTING.with(|r| r.replace(true)));
        f()
    }

    /// A copy fit to show: empty stays empty, anything else becomes `<redacted>`.
    pub fn redacted(&self) -> Secret {
        if self.0.is_empty() {
            Secret::default()
        } else {
            Secret("<redacted>".into())
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("<redacted>")
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(s.redacted().expose(), "<redacted>");
        assert_eq!(Secret::default().redacted().expose(), "");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"hunter2\"", "layering needs the real value");
        assert_eq!(serde_json::from_str::<Secret>(&json).unwrap(), s);
        let shown = Secret::redacting(|| serde_json::to_string(&[&s, &Secret::default()]));
        assert_eq!(shown.unwrap(), r#"["<redacted>",""]"#);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            json,
            "only inside redacting"
        );
    }
}
