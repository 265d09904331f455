//! Ad hoc SQL over the master dataset (`lambda-trends sql`): tables `posts` (one row per post)
//! and `hashtags` (one row per post and distinct normalised hashtag), optionally as of a past
//! time.

use crate::BatchError;
use crate::query::{QueryLimits, session_over_with};
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use ports::MasterDataset;

/// A session with `posts` and `hashtags` over the master dataset, as it was at `as_of` (`None`:
/// now), within `limits`.
///
/// As of a time, the tables hold the rows of the manifest that was newest then, and of those
/// only rows ingested at or before it: exactly what a query at that time would have seen.
///
/// `posts`: `userid, username, timestamp` (epoch ms), `posted_at` (timestamp), `tweetid, tweet,
/// source, lang, hashtags` (as given by the source), `partition, offset` (in the event log),
/// `ingested_at`. `hashtags`: `hashtag` (normalised key), `slot` (epoch ms of the 5-minute
/// slot), `posted_at, tweetid, userid, lang, source`.
pub async fn sql_session(
    master: &dyn MasterDataset,
    as_of: Option<DateTime<Utc>>,
    limits: &QueryLimits,
) -> Result<SessionContext, BatchError> {
    let manifest = match as_of {
        Some(t) => master.manifest_at(t).await?,
        None => master.manifest().await?,
    };
    let ctx = session_over_with(master, &manifest.files, "lt_master", limits)?;
    let filter = match as_of {
        Some(t) => format!(
            "WHERE CAST(ingested_at AS BIGINT) <= {}",
            t.timestamp_millis()
        ),
        None => String::new(),
    };
    let posts = ctx
        .sql(&format!(
            "SELECT userid, username, \"timestamp\", to_timestamp_millis(\"timestamp\") AS posted_at, \
                    tweetid, tweet, source, lang, hashtags, \"partition\", \"offset\", ingested_at \
             FROM lt_master {filter}"
        ))
        .await?;
    ctx.register_table("posts", posts.into_view())?;
    let hashtags = ctx
        .sql(
            "SELECT hashtag, lt_slot(\"timestamp\") AS slot, posted_at, tweetid, userid, lang, source \
             FROM (SELECT unnest(lt_hashtag_keys(tweet, hashtags)) AS hashtag, \"timestamp\", posted_at, \
                          tweetid, userid, lang, source FROM posts)",
        )
        .await?;
    ctx.register_table("hashtags", hashtags.into_view())?;
    Ok(ctx)
}
