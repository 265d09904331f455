//! The view lowered for the batch layer: a DataFusion plan over the master dataset.
//!
//! Two UDFs carry the shared rules into SQL: `lt_hashtag_keys(tweet, hashtags)` (the distinct
//! normalised hashtags of a post, [`model::hashtag_keys`]) and `lt_slot(timestamp)` (the start
//! of the post's 5-minute slot, [`model::SlotStart::containing`]).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use model::SlotStart;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `lt_hashtag_keys(tweet Utf8, hashtags List<Utf8>) -> List<Utf8>`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct HashtagKeysUdf {
    signature: Signature,
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

/// Registers `lt_hashtag_keys` and `lt_slot` in a session.
pub fn register_udfs(ctx: &SessionContext) {
    let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    ctx.register_udf(ScalarUDF::from(HashtagKeysUdf {
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
