//! The views lowered for the batch layer: a DataFusion plan over the master dataset.
//!
//! UDFs carry the shared rules into SQL: `lt_hashtag_keys(tweet, hashtags)` (the distinct
//! normalised hashtags of a post, [`model::hashtag_keys`]), `lt_slot(timestamp)` (the start of
//! the post's 5-minute slot, [`model::SlotStart::containing`]), `lt_bucket(timestamp, width)`
//! ([`model::view::bucket_start`]) and, per view of a set, `lt_key_<view>(lang, source, hashtag)`
//! ([`model::ViewDef::key`]).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use model::view::{Measure, bucket_start};
use model::{SlotStart, ViewDef, ViewSet};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// `lt_hashtag_keys(tweet Utf8, hashtags List<Utf8>) -> List<Utf8>`; adds the rows it sees to
/// `scanned`, if given (how a recompute knows how far its scan has got).
#[derive(Debug)]
struct HashtagKeysUdf {
    signature: Signature,
    scanned: Option<Arc<AtomicU64>>,
}

impl PartialEq for HashtagKeysUdf {
    fn eq(&self, other: &Self) -> bool {
        self.signature == other.signature
            && match (&self.scanned, &other.scanned) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for HashtagKeysUdf {}

impl std::hash::Hash for HashtagKeysUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.signature.hash(state);
        self.scanned.as_ref().map(Arc::as_ptr).hash(state);
    }
}

impl ScalarUDFImpl for HashtagKeysUdf {
    fn name(&self) -> &str {
        "lt_hashtag_keys"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [text, given] = arrays.as_slice() else {
            return exec_err!("lt_hashtag_keys takes (tweet, hashtags)");
        };
        if let Some(scanned) = &self.scanned {
            scanned.fetch_add(text.len() as u64, Ordering::Relaxed);
        }
        let text = text.as_string::<i32>();
        let given = given.as_list::<i32>();
        let mut out = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
            "item",
            DataType::Utf8,
            true,
        )));
        let mut tags: Vec<String> = Vec::new();
        for i in 0..text.len() {
            let given_tags = if given.is_null(i) {
                None
            } else {
                let values = given.value(i);
                let values = values.as_string::<i32>();
                tags.clear();
                tags.extend(values.iter().flatten().map(str::to_string));
                Some(tags.as_slice())
            };
            let t = if text.is_null(i) { "" } else { text.value(i) };
            for key in model::hashtag_keys(t, given_tags) {
                out.values().append_value(key);
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }
}

/// `lt_slot(timestamp Int64) -> Int64`: the start of the 5-minute slot, epoch milliseconds.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SlotUdf {
    signature: Signature,
}

impl ScalarUDFImpl for SlotUdf {
    fn name(&self) -> &str {
        "lt_slot"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let ts = arrays
            .first()
            .ok_or_else(|| DataFusionError::Execution("lt_slot takes (timestamp)".into()))?
            .as_primitive::<Int64Type>();
        let out: Int64Array = ts.unary(|t| SlotStart::containing(t).0);
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `lt_bucket(timestamp Int64, width Int64) -> Int64`: the start of the `width`-ms bucket.
#[derive(Debug, PartialEq, Eq, Hash)]
struct BucketUdf {
    signature: Signature,
}

impl ScalarUDFImpl for BucketUdf {
    fn name(&self) -> &str {
        "lt_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [ts, width] = arrays.as_slice() else {
            return exec_err!("lt_bucket takes (timestamp, width)");
        };
        let ts = ts.as_primitive::<Int64Type>();
        let width = width.as_primitive::<Int64Type>();
        let mut out = Int64Array::builder(ts.len());
        for i in 0..ts.len() {
            let w = width.value(i);
            if w <= 0 {
                return exec_err!("lt_bucket: width must be positive, got {w}");
            }
            out.append_value(bucket_start(ts.value(i), w).0);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `lt_key_<view>(lang Utf8, source Utf8, hashtag Utf8) -> Utf8`: the view's cell key.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ViewKeyUdf {
    name: String,
    view: ViewDef,
    signature: Signature,
}

impl ScalarUDFImpl for ViewKeyUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [lang, source, tag] = arrays.as_slice() else {
            return exec_err!("{} takes (lang, source, hashtag)", self.name);
        };
        // Any string type in (Utf8, Utf8View, a null literal): read as Utf8.
        let utf8 = |a: &ArrayRef| cast(a, &DataType::Utf8);
        let (lang, source, tag) = (utf8(lang)?, utf8(source)?, utf8(tag)?);
        let (lang, source, tag) = (
            lang.as_string::<i32>(),
            source.as_string::<i32>(),
            tag.as_string::<i32>(),
        );
        let mut out = StringBuilder::new();
        for i in 0..tag.len() {
            let opt = |a: &datafusion::arrow::array::StringArray| {
                (!a.is_null(i)).then(|| a.value(i).to_string())
            };
            out.append_value(self.view.key(
                opt(lang).as_deref(),
                opt(source).as_deref(),
                tag.value(i),
            ));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Name of the key UDF of `view`.
fn key_udf_name(view: &ViewDef) -> String {
    format!("lt_key_{}", view.name)
}

/// Registers the key UDF of every view of `views` (besides the thesis view, whose key is the
/// bare hashtag).
pub fn register_view_udfs(ctx: &SessionContext, views: &ViewSet) {
    for view in views.views.iter().filter(|v| !v.is_thesis()) {
        ctx.register_udf(ScalarUDF::from(ViewKeyUdf {
            name: key_udf_name(view),
            view: view.clone(),
            signature: Signature::any(3, Volatility::Immutable),
        }));
    }
}

/// Registers `lt_hashtag_keys`, `lt_slot` and `lt_bucket` in a session.
pub fn register_udfs(ctx: &SessionContext) {
    register_udfs_counting(ctx, None);
}

/// [`register_udfs`], with `lt_hashtag_keys` adding every row it sees to `scanned`.
pub fn register_udfs_counting(ctx: &SessionContext, scanned: Option<Arc<AtomicU64>>) {
    let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    ctx.register_udf(ScalarUDF::from(HashtagKeysUdf {
        scanned,
        signature: Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Utf8, list]),
                TypeSignature::Exact(vec![
                    DataType::Utf8View,
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8View, true))),
                ]),
            ],
            Volatility::Immutable,
        ),
    }));
    ctx.register_udf(ScalarUDF::from(SlotUdf {
        signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
    }));
    ctx.register_udf(ScalarUDF::from(BucketUdf {
        signature: Signature::exact(
            vec![DataType::Int64, DataType::Int64],
            Volatility::Immutable,
        ),
    }));
}

/// The SQL predicate selecting rows before `cut` (`partition = p AND offset < cut[p]` for each
/// partition; `false` for an empty cut).
pub fn before_cut_predicate(cut: &BTreeMap<u32, u64>) -> String {
    if cut.is_empty() {
        return "false".into();
    }
    cut.iter()
        .map(|(p, o)| format!("(\"partition\" = {p} AND \"offset\" < {o})"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The SQL of one view over the rows of `master` matching `pred`: columns `hashtag` (the cell
/// key), `slot` and `count`.
pub fn view_sql(view: &ViewDef, master: &str, pred: &str) -> String {
    let key = if view.is_thesis() {
        "tag".to_string()
    } else {
        format!("{}(lang, source, tag)", key_udf_name(view))
    };
    let measure = match view.measure {
        Measure::Posts => "count(*)",
        Measure::Authors => "count(DISTINCT userid)",
    };
    format!(
        "SELECT hashtag, slot, CAST({measure} AS BIGINT) AS count \
         FROM (SELECT {key} AS hashtag, lt_bucket(\"timestamp\", CAST({width} AS BIGINT)) AS slot, userid \
               FROM (SELECT unnest(lt_hashtag_keys(tweet, hashtags)) AS tag, \"timestamp\", lang, source, userid \
                     FROM {master} WHERE {pred})) \
         GROUP BY hashtag, slot",
        width = view.bucket.millis(),
    )
}

/// Every view of `views` over table `master` (registered in `ctx` with the master schema,
/// [`register_udfs`] and [`register_view_udfs`] called), for the rows before `cut`: columns
/// `hashtag` (the cell key), `slot` and `count`, the views one after another.
pub async fn batch_views(
    ctx: &SessionContext,
    master: &str,
    cut: &BTreeMap<u32, u64>,
    views: &ViewSet,
) -> Result<DataFrame> {
    let pred = before_cut_predicate(cut);
    let sql = views
        .views
        .iter()
        .map(|v| view_sql(v, master, &pred))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    ctx.sql(&sql).await
}

/// The batch view over table `master` (registered in `ctx` with the master schema): columns
/// `hashtag` (Utf8), `slot` (Int64, epoch ms) and `count` (Int64), for the rows before `cut`.
pub async fn batch_view(
    ctx: &SessionContext,
    master: &str,
    cut: &BTreeMap<u32, u64>,
) -> Result<DataFrame> {
    let sql = format!(
        "SELECT tag AS hashtag, slot, CAST(count(*) AS BIGINT) AS count \
         FROM (SELECT unnest(lt_hashtag_keys(tweet, hashtags)) AS tag, lt_slot(\"timestamp\") AS slot \
               FROM {master} WHERE {pred}) \
         GROUP BY tag, slot",
        pred = before_cut_predicate(cut)
    );
    ctx.sql(&sql).await
}
