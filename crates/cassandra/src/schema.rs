//! The CQL schema and statements of the view tables, generated from the table names in
//! [`ports::tables`] (never from string literals scattered around).

use ports::ViewTable;

/// The suffix of each view table's companion table keyed by slot (see the crate docs).
pub const BY_SLOT_SUFFIX: &str = "_by_slot";

/// The name of `table`'s companion table keyed by slot, e.g. `speed_view_0_by_slot`.
pub fn by_slot_table_name(table: ViewTable) -> String {
    format!("{}{BY_SLOT_SUFFIX}", table.name())
}

/// The CQL type of the `occurrences` column: `counter` in speed tables, `bigint` in batch tables.
fn occurrences_type(table: ViewTable) -> &'static str {
    match table {
        ViewTable::Speed(_) => "counter",
        ViewTable::Batch(_) => "bigint",
    }
}

/// Every statement the store runs against one view table, for one keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Stmt {
    /// Counter increment of one cell of the by-hashtag table.
    AddByTag,
    /// Counter increment of one cell of the by-slot table.
    AddBySlot,
    /// Plain write of one cell of the by-hashtag table.
    InsertByTag,
    /// Plain write of one cell of the by-slot table.
    InsertBySlot,
    /// One hashtag's cells in one date partition, between two `(hour, min_5)` bounds.
    Series,
    /// Every hashtag's cell in one slot partition.
    SlotCells,
    /// The partition keys of the by-hashtag table.
    DistinctTags,
}

impl Stmt {
    /// Whether running the statement twice has the effect of running it once.
    pub(crate) fn is_idempotent(self) -> bool {
        !matches!(self, Stmt::AddByTag | Stmt::AddBySlot)
    }
}

/// The CQL of the tables and statements of one keyspace.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    keyspace: String,
}

impl Schema {
    pub(crate) fn new(keyspace: &str) -> Self {
        Schema {
            keyspace: keyspace.to_string(),
        }
    }

    /// `keyspace.table` of the by-hashtag table.
    pub(crate) fn by_tag(&self, table: ViewTable) -> String {
        format!("{}.{}", self.keyspace, table.name())
    }

    /// `keyspace.table_by_slot` of the by-slot table.
    pub(crate) fn by_slot(&self, table: ViewTable) -> String {
        format!("{}.{}", self.keyspace, by_slot_table_name(table))
    }

    /// `CREATE KEYSPACE IF NOT EXISTS` with `SimpleStrategy`.
    pub(crate) fn create_keyspace(&self, replication_factor: u32) -> String {
        format!(
            "CREATE KEYSPACE IF NOT EXISTS {} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}",
            self.keyspace
        )
    }

    /// `CREATE TABLE IF NOT EXISTS` of both tables of `table`: the thesis's by-hashtag table and
    /// its by-slot companion.
    pub(crate) fn create_tables(&self, table: ViewTable) -> [String; 2] {
        let occ = occurrences_type(table);
        [
            format!(
                "CREATE TABLE IF NOT EXISTS {} (hashtag text, date date, hour int, min_5 int, occurrences {occ}, \
                 PRIMARY KEY ((hashtag, date), hour, min_5)) \
                 WITH CLUSTERING ORDER BY (hour DESC, min_5 DESC)",
                self.by_tag(table)
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (date date, hour int, min_5 int, hashtag text, occurrences {occ}, \
                 PRIMARY KEY ((date, hour, min_5), hashtag))",
                self.by_slot(table)
            ),
        ]
    }

    /// `TRUNCATE` of both tables of `table`.
    pub(crate) fn truncate(&self, table: ViewTable) -> [String; 2] {
        [
            format!("TRUNCATE TABLE {}", self.by_tag(table)),
            format!("TRUNCATE TABLE {}", self.by_slot(table)),
        ]
    }

    /// The CQL of `stmt` on `table`. The bind markers, in order:
    ///
    /// | statement | values |
    /// |---|---|
    /// | `AddByTag` | `(Counter, hashtag, date, hour, min_5)` |
    /// | `AddBySlot` | `(Counter, date, hour, min_5, hashtag)` |
    /// | `InsertByTag` | `(bigint, hashtag, date, hour, min_5)` |
    /// | `InsertBySlot` | `(bigint, date, hour, min_5, hashtag)` |
    /// | `Series` | `(hashtag, date, hour_from, min_5_from, hour_to, min_5_to)` → `(hour, min_5, occurrences)` |
    /// | `SlotCells` | `(date, hour, min_5)` → `(hashtag, occurrences)` |
    /// | `DistinctTags` | `()` → `(hashtag, date)` |
    pub(crate) fn cql(&self, table: ViewTable, stmt: Stmt) -> String {
        let (tag, slot) = (self.by_tag(table), self.by_slot(table));
        match stmt {
            Stmt::AddByTag => format!(
                "UPDATE {tag} SET occurrences = occurrences + ? WHERE hashtag = ? AND date = ? AND hour = ? AND min_5 = ?"
            ),
            Stmt::AddBySlot => format!(
                "UPDATE {slot} SET occurrences = occurrences + ? WHERE date = ? AND hour = ? AND min_5 = ? AND hashtag = ?"
            ),
            // An UPDATE is an upsert for a non-counter table; it binds the value first, like the
            // counter statements, so one code path writes both kinds of table.
            Stmt::InsertByTag => format!(
                "UPDATE {tag} SET occurrences = ? WHERE hashtag = ? AND date = ? AND hour = ? AND min_5 = ?"
            ),
            Stmt::InsertBySlot => format!(
                "UPDATE {slot} SET occurrences = ? WHERE date = ? AND hour = ? AND min_5 = ? AND hashtag = ?"
            ),
            Stmt::Series => format!(
                "SELECT hour, min_5, occurrences FROM {tag} WHERE hashtag = ? AND date = ? \
                 AND (hour, min_5) >= (?, ?) AND (hour, min_5) <= (?, ?) ORDER BY hour ASC, min_5 ASC"
            ),
            Stmt::SlotCells => format!(
                "SELECT hashtag, occurrences FROM {slot} WHERE date = ? AND hour = ? AND min_5 = ?"
            ),
            Stmt::DistinctTags => format!("SELECT DISTINCT hashtag, date FROM {tag}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ports::{BatchTable, SpeedTable};

    #[test]
    fn names_come_from_the_ports_tables() {
        let s = Schema::new("trends");
        let speed = ViewTable::Speed(SpeedTable::One);
        assert_eq!(s.by_tag(speed), "trends.speed_view_1");
        assert_eq!(s.by_slot(speed), "trends.speed_view_1_by_slot");
        let [tag, slot] = s.create_tables(speed);
        assert!(
            tag.contains("occurrences counter") && tag.contains("((hashtag, date), hour, min_5)")
        );
        assert!(tag.contains("CLUSTERING ORDER BY (hour DESC, min_5 DESC)"));
        assert!(slot.contains("((date, hour, min_5), hashtag)"));
        let [tag, _] = s.create_tables(ViewTable::Batch(BatchTable::A));
        assert!(tag.starts_with("CREATE TABLE IF NOT EXISTS trends.batch_view_a ("));
        assert!(tag.contains("occurrences bigint"));
    }

    #[test]
    fn only_counter_updates_are_not_idempotent() {
        assert!(!Stmt::AddByTag.is_idempotent());
        assert!(!Stmt::AddBySlot.is_idempotent());
        assert!(Stmt::InsertByTag.is_idempotent());
        assert!(Stmt::Series.is_idempotent());
    }
}
