//! The master dataset's row shape: the post, plus where it sat in the event log.

use datafusion::arrow::array::{
    ArrayRef, Int64Builder, ListBuilder, RecordBatch, StringBuilder, TimestampMillisecondBuilder,
    UInt32Builder, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use model::Post;
use std::sync::{Arc, LazyLock};

/// Column holding the event-log partition of a row.
pub const PARTITION_COLUMN: &str = "partition";
/// Column holding the event-log offset of a row.
pub const OFFSET_COLUMN: &str = "offset";

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("userid", DataType::Int64, false),
        Field::new("username", DataType::Utf8, false),
        Field::new("timestamp", DataType::Int64, false),
        Field::new("tweetid", DataType::Int64, false),
        Field::new("tweet", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, true),
        Field::new("lang", DataType::Utf8, true),
        Field::new(
            "hashtags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
        Field::new(PARTITION_COLUMN, DataType::UInt32, false),
        Field::new(OFFSET_COLUMN, DataType::UInt64, false),
        Field::new(
            "ingested_at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
    ]))
});

/// The Arrow schema of the master dataset.
pub fn master_schema() -> SchemaRef {
    SCHEMA.clone()
}

/// Builds master-dataset record batches row by row.
#[derive(Debug)]
pub struct MasterBatchBuilder {
    userid: Int64Builder,
    username: StringBuilder,
    timestamp: Int64Builder,
    tweetid: Int64Builder,
    tweet: StringBuilder,
    source: StringBuilder,
    lang: StringBuilder,
    hashtags: ListBuilder<StringBuilder>,
    partition: UInt32Builder,
    offset: UInt64Builder,
    ingested_at: TimestampMillisecondBuilder,
    rows: usize,
}

impl Default for MasterBatchBuilder {
    fn default() -> Self {
        MasterBatchBuilder {
            userid: Int64Builder::new(),
            username: StringBuilder::new(),
            timestamp: Int64Builder::new(),
            tweetid: Int64Builder::new(),
            tweet: StringBuilder::new(),
            source: StringBuilder::new(),
            lang: StringBuilder::new(),
            hashtags: ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
                "item",
                DataType::Utf8,
                true,
            ))),
            partition: UInt32Builder::new(),
            offset: UInt64Builder::new(),
            ingested_at: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            rows: 0,
        }
    }
}

impl MasterBatchBuilder {
    /// Appends one row.
    pub fn push(&mut self, post: &Post, partition: u32, offset: u64, ingested_at_ms: i64) {
        self.userid.append_value(post.userid);
        self.username.append_value(&post.username);
        self.timestamp.append_value(post.timestamp);
        self.tweetid.append_value(post.tweetid);
        self.tweet.append_value(&post.tweet);
        self.source.append_option(post.source.as_deref());
        self.lang.append_option(post.lang.as_deref());
        match &post.hashtags {
            Some(tags) => {
                for t in tags {
                    self.hashtags.values().append_value(t);
                }
                self.hashtags.append(true);
            }
            None => self.hashtags.append(false),
        }
        self.partition.append_value(partition);
        self.offset.append_value(offset);
        self.ingested_at.append_value(ingested_at_ms);
        self.rows += 1;
    }

    /// Rows appended since the last [`MasterBatchBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows so far, as one batch; the builder starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.userid.finish()),
            Arc::new(self.username.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.tweetid.finish()),
            Arc::new(self.tweet.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.lang.finish()),
            Arc::new(self.hashtags.finish()),
            Arc::new(self.partition.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.ingested_at.finish()),
        ];
        RecordBatch::try_new(master_schema(), columns)
    }
}
