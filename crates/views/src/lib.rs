//! View definitions: what the views count, written once and lowered twice, to the speed
//! layer's in-memory aggregator ([`speed::SlotAggregator::add_post`]) and to a DataFusion plan
//! over the master dataset ([`batch::batch_views`]).
//!
//! A definition is data ([`model::ViewDef`], grouped in a [`model::ViewSet`]); data engineers
//! write them in a views file ([`definitions`], e.g. `views.toml`). The thesis view, posts per
//! normalised hashtag and 5-minute UTC slot, is built in. Both lowerings call the same functions
//! ([`model::hashtag_keys`], [`model::ViewDef::key`], [`model::view::bucket_start`], the latter
//! as DataFusion UDFs), and `tests/parity.rs` checks, for random posts and every kind of view,
//! that they agree.

pub mod batch;
pub mod definitions;
pub mod master;
pub mod speed;
