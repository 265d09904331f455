//! Schema evolution: records written with the thesis's original `Tweet` schema (5 fields, as
//! its Python collector wrote them) are read with ours, the new optional fields empty.

use apache_avro::Schema;
use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use model::avro::{POST_SCHEMA_JSON, PostCodec, THESIS_TWEET_SCHEMA_JSON};

fn thesis_record(userid: i64, text: &str) -> Vec<u8> {
    let schema = Schema::parse_str(THESIS_TWEET_SCHEMA_JSON).unwrap();
    let mut bytes = RabinFingerprintHeader::from_schema(&schema).build_header();
    let value = Value::Record(vec![
        ("userid".into(), Value::Long(userid)),
        ("username".into(), Value::String("kozlovit".into())),
        ("timestamp".into(), Value::Long(1_617_292_351_000)),
        ("tweetid".into(), Value::Long(1_377_650_090_978_992_134)),
        ("tweet".into(), Value::String(text.into())),
    ]);
    GenericDatumWriter::builder(&schema)
        .build()
        .unwrap()
        .write_value(&mut bytes, value)
        .unwrap();
    bytes
}

#[test]
fn thesis_records_are_read_with_our_schema() {
    let post = PostCodec::new()
        .decode(&thesis_record(17, "Lambda #architecture"))
        .expect("a thesis record decodes");
    assert_eq!(post.userid, 17);
    assert_eq!(post.username, "kozlovit");
    assert_eq!(post.timestamp, 1_617_292_351_000);
    assert_eq!(post.tweetid, 1_377_650_090_978_992_134);
    assert_eq!(post.tweet, "Lambda #architecture");
    assert_eq!(
        (&post.source, &post.lang, &post.hashtags),
        (&None, &None, &None)
    );
    assert_eq!(
        post.hashtag_keys(),
        vec!["architecture".to_string()],
        "hashtags come from the text"
    );
}

#[test]
fn our_schema_is_a_compatible_extension_of_the_thesis_schema() {
    let ours = Schema::parse_str(POST_SCHEMA_JSON).unwrap();
    let thesis = Schema::parse_str(THESIS_TWEET_SCHEMA_JSON).unwrap();
    // Readers with our schema can read the thesis's writers (backward compatibility).
    apache_avro::schema_compatibility::SchemaCompatibility::can_read(&thesis, &ours)
        .expect("post.avsc reads data written with tweet-thesis.avsc");
    // And the thesis's readers can read ours (forward compatibility): new fields are ignored.
    apache_avro::schema_compatibility::SchemaCompatibility::can_read(&ours, &thesis)
        .expect("tweet-thesis.avsc reads data written with post.avsc");
}
