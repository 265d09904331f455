//! The master dataset on S3: the conformance suite against a real S3-compatible server (moto
//! in server mode, which `scripts/it/s3.sh` installs from PyPI and starts; `LT_IT_S3` is its
//! endpoint, and the bucket `lambda-trends-it` exists).

use ports::conformance::{self, s3_test_options, server_address};
use ports::{MasterDataset, ObjectStoreMasterDataset};
use std::sync::Arc;

#[tokio::test]
async fn s3_master_dataset_conforms() {
    let Some(endpoint) = server_address("LT_IT_S3", "S3 (moto)") else {
        return;
    };
    let prefix = format!(
        "conformance-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let url = url::Url::parse(&format!("s3://lambda-trends-it/{prefix}")).unwrap();
    let master = ObjectStoreMasterDataset::from_url_with(&url, s3_test_options(&endpoint)).unwrap();
    assert!(
        master.describe().contains("lambda-trends-it"),
        "{}",
        master.describe()
    );
    conformance::master_dataset(Arc::new(master)).await;
}

#[test]
fn unknown_schemes_and_options_are_clear_errors() {
    let err = ObjectStoreMasterDataset::from_url(&url::Url::parse("gs://bucket/x").unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsupported scheme `gs`"), "{err}");
    let err = ObjectStoreMasterDataset::from_url_with(
        &url::Url::parse("s3://bucket/x").unwrap(),
        [("no_such_option".to_owned(), "1".to_owned())],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no_such_option"), "{err}");
}
