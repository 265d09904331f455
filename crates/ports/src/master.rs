//! The [`MasterDataset`] port: every post ever ingested, as Parquet files under
//! `date=YYYY-MM-DD/hour=HH/`, made visible atomically by a versioned manifest.

use crate::protocol::Offsets;
use crate::{PortError, Result};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use url::Url;

/// How many old manifest versions are kept beside the newest (for readers that listed late).
const MANIFEST_VERSIONS_KEPT: u64 = 8;

/// One Parquet file of the master dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterFile {
    /// Path relative to the dataset root, e.g. `date=2026-11-23/hour=06/part-0-100-199.parquet`.
    pub path: String,
    /// The event-log partition every row of the file came from.
    pub partition: u32,
    /// Lowest offset in the file.
    pub first_offset: u64,
    /// Highest offset in the file.
    pub last_offset: u64,
    /// Number of rows.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// A file to add, with its Parquet bytes.
#[derive(Debug, Clone)]
pub struct NewMasterFile {
    /// Where and what.
    pub file: MasterFile,
    /// The Parquet file.
    pub data: Bytes,
}

/// The list of visible files and how far ingestion has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version, from 1; 0 is the empty dataset.
    pub version: u64,
    /// Per partition, the next offset to ingest: every record before it is in `files`.
    pub offsets: Offsets,
    /// Every visible file.
    pub files: Vec<MasterFile>,
    /// When this version was written.
    pub updated_at: Option<DateTime<Utc>>,
    /// Files a compaction replaced: no longer visible, still readable by queries that started
    /// before, deleted by a later compaction.
    #[serde(default)]
    pub retired: Vec<RetiredFile>,
}

/// A file a compaction replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredFile {
    /// Path relative to the dataset root.
    pub path: String,
    /// When it was replaced.
    pub at: DateTime<Utc>,
}

/// A compaction's change to the manifest: `add` replaces `remove` (the same rows), and the
/// retired files in `purge` are deleted.
#[derive(Debug, Clone, Default)]
pub struct Compaction {
    /// Visible files to replace.
    pub remove: Vec<String>,
    /// Their replacement.
    pub add: Vec<NewMasterFile>,
    /// Retired files to delete.
    pub purge: Vec<String>,
}

impl Manifest {
    /// The start of the earliest `date=/hour=` partition holding a file: where the history
    /// begins, to the hour (`None` for an empty dataset, or files outside that layout).
    pub fn earliest_hour(&self) -> Option<DateTime<Utc>> {
        self.files
            .iter()
            .filter_map(|f| {
                let mut parts = f.path.split('/');
                let date = parts.next()?.strip_prefix("date=")?;
                let hour: u32 = parts.next()?.strip_prefix("hour=")?.parse().ok()?;
                let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
                Some(day.and_hms_opt(hour, 0, 0)?.and_utc())
            })
            .min()
    }

    /// Total rows in the dataset.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Whether ingestion has passed `cut` on every partition it names.
    pub fn covers(&self, cut: &Offsets) -> bool {
        cut.iter()
            .all(|(p, c)| self.offsets.get(p).copied().unwrap_or(0) >= *c)
    }

    /// Files holding any row with `offset < cut[partition]`.
    pub fn files_before(&self, cut: &Offsets) -> Vec<MasterFile> {
        self.files
            .iter()
            .filter(|f| cut.get(&f.partition).is_some_and(|c| f.first_offset < *c))
            .cloned()
            .collect()
    }
}

/// The master dataset.
///
/// Required behaviour (checked by [`crate::conformance::master_dataset`]):
/// - `append` writes the files, then publishes a manifest naming them, so a reader sees all of an
///   append or none of it; it fails with [`PortError::Conflict`] if `base` is not the newest
///   manifest (another writer appended).
/// - a file is never visible before its manifest, and a crash between the two leaves only
///   unreferenced files, which the next append of the same offsets overwrites.
#[async_trait]
pub trait MasterDataset: Send + Sync + 'static {
    /// The newest manifest.
    async fn manifest(&self) -> Result<Manifest>;

    /// The manifest that was newest at `at` (the empty manifest before the first append). Only
    /// the newest versions are kept: if that one is gone, the oldest kept version, a superset
    /// of it (callers keep the rows with `ingested_at <= at`).
    async fn manifest_at(&self, at: DateTime<Utc>) -> Result<Manifest>;

    /// Adds files and moves the ingested offsets, on top of manifest `base`.
    async fn append(
        &self,
        base: &Manifest,
        files: Vec<NewMasterFile>,
        offsets: Offsets,
    ) -> Result<Manifest>;

    /// Swaps files for others holding the same rows, on top of manifest `base` (retiring the
    /// removed ones), and deletes the retired files in `change.purge`. Fails with
    /// [`PortError::Conflict`] if `base` is not the newest manifest, and with
    /// [`PortError::Invalid`] if the rows removed and added differ or a file is unknown.
    async fn compact(&self, base: &Manifest, change: Compaction) -> Result<Manifest>;

    /// The object store holding the files, and the URL it is registered under in a query engine
    /// (`file:///`, `s3://bucket/`).
    fn object_store(&self) -> (Url, Arc<dyn ObjectStore>);

    /// The URL of a file of the dataset, for a query engine.
    fn file_url(&self, file: &MasterFile) -> Url;

    /// A short description for logs and the status endpoint.
    fn describe(&self) -> String;
}

/// [`MasterDataset`] on any `object_store`: a local directory (the embedded default) or S3.
#[derive(Debug)]
pub struct ObjectStoreMasterDataset {
    store: Arc<dyn ObjectStore>,
    store_url: Url,
    root: StorePath,
}

impl ObjectStoreMasterDataset {
    /// A dataset in a local directory (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| PortError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        let abs = dir
            .canonicalize()
            .map_err(|e| PortError::Invalid(format!("cannot resolve {}: {e}", dir.display())))?;
        let root = StorePath::from_absolute_path(&abs)
            .map_err(|e| PortError::Invalid(format!("bad path {}: {e}", abs.display())))?;
        Ok(ObjectStoreMasterDataset {
            store: Arc::new(object_store::local::LocalFileSystem::new()),
            store_url: Url::parse("file:///").expect("a valid URL"),
            root,
        })
    }

    /// A dataset at a URL: `file:///abs/dir`, or `s3://bucket/prefix` (configured by the
    /// standard `AWS_*` environment variables).
    pub fn from_url(url: &Url) -> Result<Self> {
        Self::from_url_with(url, std::iter::empty())
    }

    /// Like [`ObjectStoreMasterDataset::from_url`], with store options on top of the environment
    /// (for S3, `object_store`'s `AmazonConfigKey` names such as `aws_endpoint`,
    /// `aws_allow_http`, `aws_access_key_id`).
    pub fn from_url_with(
        url: &Url,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|_| PortError::Invalid(format!("{url} is not a local path")))?;
            return Self::local(&path);
        }
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            // S3 and S3-compatible stores (MinIO, Ceph, R2, ...), configured by the standard
            // AWS_* environment variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
            // AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP, ...). The manifest is published with a
            // conditional put (If-None-Match), which the store must support.
            "s3" | "s3a" => {
                let mut builder =
                    object_store::aws::AmazonS3Builder::from_env().with_url(url.as_str());
                for (key, value) in options {
                    let key = key
                        .parse()
                        .map_err(|e| PortError::Invalid(format!("S3 option `{key}`: {e}")))?;
                    builder = builder.with_config(key, value);
                }
                Arc::new(
                    builder.build().map_err(|e| {
                        PortError::Invalid(format!("master dataset URL {url}: {e}"))
                    })?,
                )
            }
            other => {
                return Err(PortError::Invalid(format!(
                    "master dataset URL {url}: unsupported scheme `{other}` (use file:// or s3://)"
                )));
            }
        };
        let root = StorePath::parse(url.path().trim_matches('/'))
            .map_err(|e| PortError::Invalid(format!("master dataset URL {url}: bad path: {e}")))?;
        let mut store_url = url.clone();
        store_url.set_path("/");
        Ok(ObjectStoreMasterDataset {
            store,
            store_url,
            root,
        })
    }

    fn manifest_dir(&self) -> StorePath {
        self.root.clone().join("_manifest")
    }

    fn manifest_path(&self, version: u64) -> StorePath {
        self.manifest_dir().join(format!("{version:020}.json"))
    }

    fn full_path(&self, rel: &str) -> StorePath {
        rel.split('/')
            .fold(self.root.clone(), |p, part| p.join(part))
    }

    async fn manifest_versions(&self) -> Result<Vec<u64>> {
        let dir = self.manifest_dir();
        let metas: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(unavailable)?;
        let mut versions: Vec<u64> = metas
            .iter()
            .filter_map(|m| m.location.filename()?.strip_suffix(".json")?.parse().ok())
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }
}

fn unavailable(e: object_store::Error) -> PortError {
    PortError::Unavailable(format!("master dataset storage: {e}"))
}

impl ObjectStoreMasterDataset {
    /// Writes `next` as a new manifest version, if no other writer wrote that version first;
    /// then deletes versions older than the kept ones.
    async fn publish(&self, next: &Manifest) -> Result<()> {
        let json = serde_json::to_vec(&next).map_err(|e| PortError::Internal(e.to_string()))?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(
                &self.manifest_path(next.version),
                PutPayload::from(json),
                opts,
            )
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                return Err(PortError::Conflict(format!(
                    "manifest version {} was written by another writer (an ingest member or a compaction)",
                    next.version
                )));
            }
            Err(e) => return Err(unavailable(e)),
        }
        if next.version > MANIFEST_VERSIONS_KEPT {
            for old in self.manifest_versions().await? {
                if old + MANIFEST_VERSIONS_KEPT < next.version {
                    // Best effort: a leftover old version is harmless.
                    let _ = self.store.delete(&self.manifest_path(old)).await;
                }
            }
        }
        Ok(())
    }

    async fn read_manifest(&self, version: u64) -> Result<Manifest> {
        let bytes = self
            .store
            .get(&self.manifest_path(version))
            .await
            .map_err(unavailable)?
            .bytes()
            .await
            .map_err(unavailable)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            PortError::Internal(format!("manifest version {version} is not valid: {e}"))
        })
    }
}

#[async_trait]
impl MasterDataset for ObjectStoreMasterDataset {
    async fn manifest(&self) -> Result<Manifest> {
        let Some(version) = self.manifest_versions().await?.last().copied() else {
            return Ok(Manifest::default());
        };
        self.read_manifest(version).await
    }

    async fn manifest_at(&self, at: DateTime<Utc>) -> Result<Manifest> {
        // Versions are written in time order: binary search for the last one written at or
        // before `at`, reading O(log versions) manifests.
        let versions = self.manifest_versions().await?;
        let (mut lo, mut hi) = (0usize, versions.len());
        let mut found: Option<Manifest> = None;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let m = self.read_manifest(versions[mid]).await?;
            if m.updated_at.is_some_and(|t| t <= at) {
                found = Some(m);
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match (found, versions.first()) {
            (Some(m), _) => Ok(m),
            // Version 1 was written after `at`: nothing had been ingested then.
            (None, None | Some(1)) => Ok(Manifest::default()),
            (None, Some(&oldest)) => self.read_manifest(oldest).await,
        }
    }

    async fn append(
        &self,
        base: &Manifest,
        files: Vec<NewMasterFile>,
        offsets: Offsets,
    ) -> Result<Manifest> {
        let mut next = base.clone();
        for f in files {
            self.store
                .put(&self.full_path(&f.file.path), PutPayload::from(f.data))
                .await
                .map_err(unavailable)?;
            next.files.retain(|old| old.path != f.file.path);
            next.files.push(f.file);
        }
        for (p, o) in offsets {
            let e = next.offsets.entry(p).or_insert(0);
            *e = (*e).max(o);
        }
        next.version = base.version + 1;
        next.updated_at = Some(Utc::now());
        self.publish(&next).await?;
        Ok(next)
    }

    async fn compact(&self, base: &Manifest, change: Compaction) -> Result<Manifest> {
        let mut next = base.clone();
        let mut removed_rows = 0u64;
        for path in &change.remove {
            let Some(i) = next.files.iter().position(|f| &f.path == path) else {
                return Err(PortError::Invalid(format!(
                    "compaction: {path} is not in manifest version {}",
                    base.version
                )));
            };
            removed_rows += next.files.remove(i).rows;
        }
        let added_rows: u64 = change.add.iter().map(|f| f.file.rows).sum();
        if removed_rows != added_rows {
            return Err(PortError::Invalid(format!(
                "compaction: {added_rows} rows would replace {removed_rows}"
            )));
        }
        for f in change.add {
            self.store
                .put(&self.full_path(&f.file.path), PutPayload::from(f.data))
                .await
                .map_err(unavailable)?;
            next.files.push(f.file);
        }
        let now = Utc::now();
        next.retired.retain(|r| !change.purge.contains(&r.path));
        next.retired
            .extend(change.remove.iter().map(|path| RetiredFile {
                path: path.clone(),
                at: now,
            }));
        next.version = base.version + 1;
        next.updated_at = Some(now);
        self.publish(&next).await?;
        for path in &change.purge {
            // Best effort: a leftover file is invisible (no manifest names it).
            let _ = self.store.delete(&self.full_path(path)).await;
        }
        Ok(next)
    }

    fn object_store(&self) -> (Url, Arc<dyn ObjectStore>) {
        (self.store_url.clone(), self.store.clone())
    }

    fn file_url(&self, file: &MasterFile) -> Url {
        let full = self.full_path(&file.path);
        self.store_url
            .join(full.as_ref())
            .unwrap_or_else(|_| self.store_url.clone())
    }

    fn describe(&self) -> String {
        format!("{}{}", self.store_url, self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> MasterFile {
        MasterFile {
            path: path.into(),
            partition: 0,
            first_offset: 0,
            last_offset: 0,
            rows: 1,
            bytes: 1,
        }
    }

    #[test]
    fn the_earliest_hour_is_the_first_partition_with_a_file() {
        let mut m = Manifest::default();
        assert_eq!(m.earliest_hour(), None);
        m.files = vec![
            file("date=2026-11-23/hour=06/part-0-0-9.parquet"),
            file("date=2021-04-01/hour=15/part-1-0-9.parquet"),
            file("date=2021-04-01/hour=09/part-2-0-9.parquet"),
            file("elsewhere/part.parquet"),
        ];
        assert_eq!(
            m.earliest_hour().unwrap().to_rfc3339(),
            "2021-04-01T09:00:00+00:00"
        );
    }
}
