//! View definitions: what the views count, written once and lowered twice, to the speed
//! layer's in-memory aggregator ([`speed::SlotAggregator`]) and to a DataFusion plan over the
//! master dataset ([`batch::batch_view`]).
//!
//! The one view today is [`HASHTAG_SLOT_COUNTS`]: for each normalised hashtag and 5-minute UTC
//! slot (by the post's own timestamp), the number of posts that use the hashtag. Both lowerings
//! call the same functions ([`model::hashtag_keys`] and [`model::SlotStart::containing`], the
//! latter as DataFusion UDFs), and `tests/parity.rs` checks, for random posts, that they agree.

pub mod batch;
pub mod master;
pub mod speed;

/// A view definition: a name and a version. A new version of the counting rules (say, a new
/// hashtag normalisation) gets a new version number, and a recompute rebuilds the batch view
/// with it; the version is recorded in the active pair so every number can be traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewDefinition {
    /// Name of the view.
    pub name: &'static str,
    /// Version of its rules.
    pub version: u32,
    /// What it counts, for humans.
    pub description: &'static str,
}

/// Posts per (normalised hashtag, 5-minute UTC slot); a post counts once per distinct hashtag.
pub const HASHTAG_SLOT_COUNTS: ViewDefinition = ViewDefinition {
    name: "hashtag_slot_counts",
    version: 1,
    description: "posts per normalised hashtag and 5-minute UTC slot (a post counts once per distinct hashtag)",
};
