//! The names of the view tables, in one place (the thesis's names).

use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the two speed tables (counters), `speed_view_0` and `speed_view_1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SpeedTable {
    /// `speed_view_0`
    #[serde(rename = "speed_view_0")]
    Zero,
    /// `speed_view_1`
    #[serde(rename = "speed_view_1")]
    One,
}

/// One of the two batch tables (plain counts), `batch_view_a` and `batch_view_b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BatchTable {
    /// `batch_view_a`
    #[serde(rename = "batch_view_a")]
    A,
    /// `batch_view_b`
    #[serde(rename = "batch_view_b")]
    B,
}

/// Any view table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViewTable {
    /// A speed table.
    Speed(SpeedTable),
    /// A batch table.
    Batch(BatchTable),
}

impl SpeedTable {
    /// Both speed tables.
    pub const ALL: [SpeedTable; 2] = [SpeedTable::Zero, SpeedTable::One];

    /// The table's name in the store.
    pub fn name(self) -> &'static str {
        match self {
            SpeedTable::Zero => "speed_view_0",
            SpeedTable::One => "speed_view_1",
        }
    }

    /// The other speed table.
    pub fn other(self) -> Self {
        match self {
            SpeedTable::Zero => SpeedTable::One,
            SpeedTable::One => SpeedTable::Zero,
        }
    }

    /// Index 0 or 1.
    pub fn index(self) -> usize {
        match self {
            SpeedTable::Zero => 0,
            SpeedTable::One => 1,
        }
    }
}

impl BatchTable {
    /// Both batch tables.
    pub const ALL: [BatchTable; 2] = [BatchTable::A, BatchTable::B];

    /// The table's name in the store.
    pub fn name(self) -> &'static str {
        match self {
            BatchTable::A => "batch_view_a",
            BatchTable::B => "batch_view_b",
        }
    }

    /// The other batch table.
    pub fn other(self) -> Self {
        match self {
            BatchTable::A => BatchTable::B,
            BatchTable::B => BatchTable::A,
        }
    }
}

impl ViewTable {
    /// All four tables.
    pub const ALL: [ViewTable; 4] = [
        ViewTable::Speed(SpeedTable::Zero),
        ViewTable::Speed(SpeedTable::One),
        ViewTable::Batch(BatchTable::A),
        ViewTable::Batch(BatchTable::B),
    ];

    /// The table's name in the store.
    pub fn name(self) -> &'static str {
        match self {
            ViewTable::Speed(t) => t.name(),
            ViewTable::Batch(t) => t.name(),
        }
    }
}

impl fmt::Display for SpeedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
impl fmt::Display for BatchTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
impl fmt::Display for ViewTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
impl From<SpeedTable> for ViewTable {
    fn from(t: SpeedTable) -> Self {
        ViewTable::Speed(t)
    }
}
impl From<BatchTable> for ViewTable {
    fn from(t: BatchTable) -> Self {
        ViewTable::Batch(t)
    }
}
