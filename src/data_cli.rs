//! The data engineer's commands: `recompute`, `flip`, `rollback`, `views list|diff`, `history`
//! and `sql`. Each parses nothing itself (clap did) and calls the batch layer.

use anyhow::{Context, Result, bail};
use batch_layer::recompute::{
    Progress, RecomputeConfig, RecomputeRequest, ScanProgress, run_recompute_of,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{Subcommand, ValueEnum};
use datafusion::arrow::array::RecordBatch;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::{SlotStart, ViewSet};
use ports::{ActivePair, Backends, LambdaSwitch};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `lambda-trends views …`
#[derive(Debug, Subcommand)]
pub enum ViewsCommand {
    /// Lists the views of the views file, of the active pair and of the shadow pair.
    List {
        /// The views file (default: `recompute.views-file`).
        #[arg(long)]
        views: Option<PathBuf>,
    },
    /// Compares the shadow pair (from `recompute --shadow`) with the active pair: the merged
    /// count of every view cell, per view, key and slot, with a summary per view.
    Diff {
        /// First time compared (RFC 3339 or `YYYY-MM-DD[ HH:MM[:SS]]`, UTC). Default: 7 days ago.
        #[arg(long)]
        from: Option<String>,
        /// Last time compared. Default: now.
        #[arg(long)]
        to: Option<String>,
        /// How many differing keys to show slot by slot.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How `sql` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    /// An aligned table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row, one per line.
    Json,
}

/// Parses a time given on the command line: RFC 3339, or `YYYY-MM-DD[ HH:MM[:SS]]` in UTC.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    bail!(
        "`{s}` is not a time: use RFC 3339 (2026-11-23T12:00:00Z) or `YYYY-MM-DD[ HH:MM[:SS]]` (UTC)"
    )
}

/// The views file to use: the flag, else `recompute.views-file`, else none.
fn views_file(flag: Option<&Path>, cfg: &RecomputeConfig) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| (!cfg.views_file.is_empty()).then(|| PathBuf::from(&cfg.views_file)))
}

/// The views of `recompute.views-file`, if one is configured (what `up`'s periodic recompute
/// and the admin API compute; without one they keep the active pair's views).
pub fn configured_views(cfg: &RecomputeConfig) -> Result<Option<ViewSet>> {
    Ok(match views_file(None, cfg) {
        Some(path) => Some(views::definitions::load(&path)?),
        None => None,
    })
}

/// `recompute [--views FILE] [--view NAME]… [--shadow] [--every MINUTES]`.
pub async fn recompute(
    backends: &Backends,
    cfg: &RecomputeConfig,
    file: Option<&Path>,
    names: &[String],
    shadow: bool,
    every: Option<u64>,
    shutdown: &CancellationToken,
) -> Result<()> {
    loop {
        let views = match views_file(file, cfg) {
            Some(path) => Some(views::definitions::load(&path)?),
            None => None,
        };
        let views = match (views, names.is_empty()) {
            (v, true) => v,
            (Some(v), false) => Some(v.select(names)?),
            (None, false) => {
                let active = LambdaSwitch::new(backends.coordinator.clone())
                    .active()
                    .await?;
                Some(active.views.select(names)?)
            }
        };
        let progress = Arc::new(ScanProgress::default());
        let request = RecomputeRequest {
            views,
            shadow,
            actor: None,
            progress: Some(progress.clone()),
        };
        let bar = progress_bar(progress);
        let result = run_recompute_of(backends, cfg, &request, shutdown, |p: &Progress| {
            bar.0.suspend(|| eprintln!("recompute: {p}"))
        })
        .await;
        bar.1.abort();
        bar.0.finish_and_clear();
        match (result, every) {
            (Ok(pair), _) if shadow => println!(
                "Shadow pair ready for epoch {}: {} + {} (cut {:?}); the active pair is unchanged.\n\
                 Compare: lambda-trends views diff; switch: lambda-trends flip; drop: lambda-trends recompute --abort",
                pair.epoch.0, pair.batch, pair.speed, pair.cut
            ),
            (Ok(pair), _) => println!(
                "Active pair is now epoch {}: {} + {} (cut {:?}, views {}).",
                pair.epoch.0,
                pair.batch,
                pair.speed,
                pair.cut,
                names_of(&pair.views)
            ),
            (Err(e), None) => return Err(e.into()),
            (Err(e), Some(_)) if shutdown.is_cancelled() => {
                eprintln!("recompute: stopped ({e})");
                return Ok(());
            }
            (Err(e), Some(_)) => eprintln!("recompute: failed, the active pair is unchanged: {e}"),
        }
        let Some(minutes) = every else { return Ok(()) };
        eprintln!("recompute: next in {minutes} min (Ctrl-C to stop)");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(minutes.max(1) * 60)) => {}
            _ = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// A progress bar of the computing step (rows scanned of all, rows written, ETA), drawn on a
/// terminal only, and the task that updates it.
fn progress_bar(progress: Arc<ScanProgress>) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "recompute: {bar:30} {pos}/{len} rows scanned ({percent}%), {msg}, ETA {eta}",
        )
        .expect("a valid template"),
    );
    let shown = bar.clone();
    let task = tokio::spawn(async move {
        loop {
            let total = progress.total.load(Ordering::Relaxed);
            if total > 0 {
                shown.set_length(total);
                shown.set_position(progress.scanned.load(Ordering::Relaxed).min(total));
                shown.set_message(format!(
                    "{} files, {} view rows written",
                    progress.files.load(Ordering::Relaxed),
                    progress.written.load(Ordering::Relaxed)
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    (bar, task)
}

fn names_of(views: &ViewSet) -> String {
    views
        .views
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `flip`: makes the shadow pair active.
pub async fn flip(backends: &Backends) -> Result<()> {
    let pair = LambdaSwitch::new(backends.coordinator.clone())
        .flip_shadow()
        .await?;
    println!(
        "Flipped: active pair is now epoch {}: {} + {} (views {}). `lambda-trends rollback` returns to the previous one.",
        pair.epoch.0,
        pair.batch,
        pair.speed,
        names_of(&pair.views)
    );
    Ok(())
}

/// `views list`.
pub async fn list(backends: &Backends, cfg: &RecomputeConfig, file: Option<&Path>) -> Result<()> {
    let switch = LambdaSwitch::new(backends.coordinator.clone());
    let active = switch.active().await?;
    let shadow = switch.shadow().await?;
    if let Some(path) = views_file(file, cfg) {
        let set = views::definitions::load(&path)?;
        println!("views file {} (version {}):", path.display(), set.version);
        for v in &set.views {
            let mut where_ = Vec::new();
            if active.views.get(&v.name) == Some(v) {
                where_.push("active");
            }
            if shadow
                .as_ref()
                .is_some_and(|(s, _)| s.views.get(&v.name) == Some(v))
            {
                where_.push("shadow");
            }
            let state = if where_.is_empty() {
                "not computed: run `lambda-trends recompute --shadow`".to_string()
            } else {
                where_.join(", ")
            };
            println!("  {v}  [{state}]");
        }
    } else {
        println!("no views file (set recompute.views-file or pass --views)");
    }
    println!(
        "active pair, epoch {} (view version {}):",
        active.epoch.0, active.view_version
    );
    for v in &active.views.views {
        println!("  {v}");
    }
    match &shadow {
        Some((info, _)) => {
            println!(
                "shadow pair, epoch {} (view version {}), ready to flip:",
                info.epoch.0, info.view_version
            );
            for v in &info.views.views {
                println!("  {v}");
            }
        }
        None => println!("no shadow pair"),
    }
    Ok(())
}

/// `views diff`.
pub async fn diff(
    backends: &Backends,
    from: Option<&str>,
    to: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<()> {
    let switch = LambdaSwitch::new(backends.coordinator.clone());
    let active = switch.active().await?;
    let Some((info, cut)) = switch.shadow().await? else {
        bail!("there is no shadow pair to compare: run `lambda-trends recompute --shadow` first");
    };
    let shadow: ActivePair = info.pair(&cut);
    let to = match to {
        Some(t) => parse_time(t)?,
        None => Utc::now(),
    };
    let from = match from {
        Some(t) => parse_time(t)?,
        None => to - chrono::Duration::days(7),
    };
    if from > to {
        bail!("--from is after --to");
    }
    let d = batch_layer::diff::diff_pairs(
        backends,
        &active,
        &shadow,
        SlotStart::containing(from.timestamp_millis()),
        SlotStart::containing(to.timestamp_millis()),
        limit,
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    let time = |s: SlotStart| {
        DateTime::from_timestamp_millis(s.0)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| s.0.to_string())
    };
    println!(
        "active epoch {} vs shadow epoch {}, slots {} .. {} UTC",
        d.active_epoch,
        d.shadow_epoch,
        time(d.from),
        time(d.to)
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12} {:>12}",
        "view", "keys", "equal", "changed", "-active", "+shadow", "total active", "total shadow"
    );
    for (name, v) in &d.views {
        let note = match (v.in_active, v.in_shadow) {
            (true, false) => " (dropped)",
            (false, true) => " (new)",
            _ => "",
        };
        println!(
            "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12} {:>12}",
            format!("{name}{note}"),
            v.keys,
            v.equal,
            v.changed,
            v.only_active,
            v.only_shadow,
            v.total_active,
            v.total_shadow
        );
    }
    for k in &d.differences {
        println!(
            "\n{} (view {}): active {}, shadow {}",
            k.key, k.view, k.active, k.shadow
        );
        for (slot, a, s) in k.slots.iter().take(12) {
            println!("  {}  {a:>8} -> {s:<8}", time(*slot));
        }
        if k.slots.len() > 12 {
            println!("  … {} more slots", k.slots.len() - 12);
        }
    }
    println!(
        "\n{}",
        if d.is_equal() {
            "The pairs hold the same counts."
        } else {
            "The pairs differ (cells of the newest slot can also differ by posts counted between the two reads)."
        }
    );
    Ok(())
}

/// `history`.
pub async fn history(backends: &Backends, limit: usize, json: bool) -> Result<()> {
    let records = LambdaSwitch::new(backends.coordinator.clone())
        .history(limit)
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&records)?);
        return Ok(());
    }
    if records.is_empty() {
        println!("no flip, rollback or recompute recorded yet");
    }
    for r in records {
        let at =
            r.at.or(r.pair.flipped_at)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "?".into());
        println!(
            "{at}  {:<8}  epoch {:>4}  {} + {}  views v{} [{}]  cut {:?}  by {}",
            r.action,
            r.pair.epoch.0,
            r.pair.batch,
            r.pair.speed,
            r.pair.view_version,
            names_of(&r.pair.views),
            r.pair.cut,
            r.actor.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}

/// `sql QUERY [--format] [--as-of]`.
pub async fn sql(
    backends: &Backends,
    cfg: &RecomputeConfig,
    query: &str,
    format: SqlFormat,
    as_of: Option<&str>,
    repeat: u32,
) -> Result<()> {
    let as_of = as_of.map(parse_time).transpose()?;
    let ctx = batch_layer::sql::sql_session(backends.master.as_ref(), as_of, &cfg.limits()).await?;
    for run in 1..=repeat {
        let started = std::time::Instant::now();
        let df = ctx
            .sql(query)
            .await
            .context("the query is not valid (tables: posts, hashtags)")?;
        // Earlier runs of a --repeat do all the work, writing included, into a sink.
        let rows = if run == repeat {
            write_rows(df, format, &mut std::io::stdout().lock()).await?
        } else {
            write_rows(df, format, &mut std::io::sink()).await?
        };
        if repeat > 1 {
            eprintln!(
                "run {run}/{repeat}: {rows} rows in {:.3} s",
                started.elapsed().as_secs_f64()
            );
        } else if matches!(format, SqlFormat::Table) {
            eprintln!("{rows} row{}", if rows == 1 { "" } else { "s" });
        }
    }
    Ok(())
}

/// Writes a query's rows in `format`; returns how many.
async fn write_rows(
    df: datafusion::dataframe::DataFrame,
    format: SqlFormat,
    out: &mut impl Write,
) -> Result<usize> {
    let mut rows = 0;
    match format {
        SqlFormat::Table => {
            let batches: Vec<RecordBatch> = df.collect().await?;
            rows = batches.iter().map(RecordBatch::num_rows).sum();
            writeln!(
                out,
                "{}",
                datafusion::arrow::util::pretty::pretty_format_batches(&batches)?
            )?;
        }
        SqlFormat::Csv => {
            let mut stream = df.execute_stream().await?;
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                w.write(&batch)?;
            }
        }
        SqlFormat::Json => {
            let mut stream = df.execute_stream().await?;
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                w.write(&batch)?;
            }
            w.finish()?;
        }
    }
    Ok(rows)
}
