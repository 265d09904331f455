//! `lambda-trends`: the command line. It only parses arguments, layers the configuration and
//! wires the components (each a library with a `run(…, shutdown)` entry point); all logic lives
//! in the crates.

mod backends;
mod config;
mod data_cli;

use anyhow::{Context, Result};
use batch_layer::recompute::{RecomputeRequest, run_recompute_of};
use clap::{Parser, Subcommand};
use config::Config;
use ports::{Backends, LambdaSwitch};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Live hashtag trends on a Lambda architecture.
#[derive(Debug, Parser)]
#[command(name = "lambda-trends", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML). Default: `lambda-trends.toml` if it exists.
    #[arg(long, global = true, env = "LT_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded backends' data (default `./data`).
    #[arg(long, global = true, env = "LT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs everything in one process: collector, speed layer, ingest, periodic recompute, serving.
    Up {
        /// Address of the API and dashboard.
        #[arg(long)]
        listen: Option<String>,
        /// Where posts come from: `synthetic` (the default), `replay` (with `collector.replay.path`),
        /// `jetstream` (Bluesky, live and free) or `x-sample` (needs $X_BEARER_TOKEN). See
        /// `lambda-trends collect --help`.
        #[arg(long)]
        source: Option<String>,
        /// Synthetic posts per second.
        #[arg(long)]
        rate: Option<f64>,
        /// Minutes between automatic recomputes (0: none).
        #[arg(long)]
        recompute_every: Option<u64>,
    },
    /// Runs the collector alone: reads one source and appends its posts to the event log.
    ///
    /// Sources:
    ///
    ///   synthetic  a seeded firehose: a Zipf hashtag vocabulary, a diurnal curve and bursts
    ///              (`[collector.synthetic]`); exact, reproducible, no network.
    ///
    ///   replay     a recorded file (--file): X API v2 stream lines or search/timeline pages,
    ///              or v1.1 statuses, plain or gzip; at --rate posts/s, or the recorded pace
    ///              times --speed.
    ///
    ///   jetstream  Bluesky's live firehose, free and without an account
    ///              (`[collector.jetstream]`: instances, a cursor file to resume from).
    ///
    ///   x-sample   the X API v2 sampled stream (a paid X plan; the bearer token comes from
    ///              $X_BEARER_TOKEN or `collector.x.bearer-token-file`).
    ///
    /// Malformed input goes to the `posts-dlq` topic with its reason; SIGTERM flushes and stops.
    #[command(verbatim_doc_comment)]
    Collect {
        /// `synthetic`, `replay`, `jetstream` or `x-sample` (default: `collector.source`,
        /// `synthetic` unless configured).
        #[arg(long)]
        source: Option<String>,
        /// The file for `--source replay` (implies it).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Posts per second for `synthetic` and `replay` (0: as fast as possible).
        #[arg(long)]
        rate: Option<f64>,
        /// `replay` at the recorded pace times this factor (1: as recorded, 60: an hour a
        /// minute) instead of --rate.
        #[arg(long)]
        speed: Option<f64>,
        /// Stop after this many posts.
        #[arg(long)]
        max_posts: Option<u64>,
    },
    /// Runs a speed-layer worker alone.
    Speed,
    /// Runs the master ingest alone (with periodic compaction, `compact.every-minutes`).
    Ingest,
    /// Compacts the master dataset once: merges small files, deletes long-retired ones.
    Compact,
    /// Recomputes the batch views from the master dataset into the inactive pair, and flips to it.
    Recompute {
        /// Abandons the recompute in progress (left by a crash, or a shadow pair not wanted).
        #[arg(long)]
        abort: bool,
        /// Fills the inactive pair without flipping: compare it with `views diff`, then `flip`.
        #[arg(long)]
        shadow: bool,
        /// The views file to compute (default: `recompute.views-file`; none: the active pair's views).
        #[arg(long, value_name = "FILE")]
        views: Option<PathBuf>,
        /// Computes only this view (repeatable) besides the built-in thesis view.
        #[arg(long = "view", value_name = "NAME")]
        view: Vec<String>,
        /// Runs again every this many minutes, until stopped.
        #[arg(long, value_name = "MINUTES")]
        every: Option<u64>,
    },
    /// Makes the shadow pair left by `recompute --shadow` active.
    Flip,
    /// Makes the previous batch/speed pair active again.
    Rollback,
    /// View definitions: list them, compare the shadow pair with the active one.
    Views {
        #[command(subcommand)]
        command: data_cli::ViewsCommand,
    },
    /// Every flip, rollback, shadow recompute and abort: when, who, which views, which cut.
    History {
        /// The newest this many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Runs SQL over the master dataset: tables `posts` and `hashtags`.
    Sql {
        /// The query, e.g. "SELECT hashtag, count(*) FROM hashtags GROUP BY 1 ORDER BY 2 DESC LIMIT 10".
        query: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: data_cli::SqlFormat,
        /// Sees only what had been ingested at this time (RFC 3339 or `YYYY-MM-DD[ HH:MM[:SS]]`, UTC).
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// Runs the query this many times in one session and prints each run's wall time to
        /// stderr (the first run pays for reading the files cold); only the last run's rows are
        /// written. For timing a query warm.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
    },
    /// Runs the API, socket.io and the dashboard alone.
    Serve {
        /// Address to listen on.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Shows the active pair, the recompute in progress and how far each component has got.
    Status {
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Creates what is missing: the view tables, the topics and the coordinator documents.
    Migrate,
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Prints the merged configuration (defaults < file < environment < flags).
    Show,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut overrides = config::Overrides {
        data_dir: cli.data_dir.clone(),
        ..Default::default()
    };
    match &cli.command {
        Command::Up {
            listen,
            source,
            rate,
            recompute_every,
        } => {
            overrides.source = source.clone();
            overrides.listen = listen.clone();
            overrides.rate = *rate;
            overrides.recompute_every = *recompute_every;
        }
        Command::Serve { listen } => overrides.listen = listen.clone(),
        Command::Collect {
            source,
            file,
            rate,
            speed,
            max_posts,
        } => {
            overrides.source = source.clone();
            overrides.replay_path = file.clone();
            overrides.replay_speed = *speed;
            overrides.rate = *rate;
            overrides.max_posts = *max_posts;
        }
        _ => {}
    }
    let cfg = Config::load(cli.config.as_deref(), &overrides)?;
    config::init_tracing(&cfg.log);
    if let Command::Config {
        command: ConfigCommand::Show,
    } = &cli.command
    {
        print!("{}", cfg.to_toml()?);
        return Ok(());
    }
    let backends = backends::open(&cfg).await?;
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    match cli.command {
        Command::Up { .. } => up(backends, cfg, shutdown).await,
        Command::Collect { .. } => {
            let metrics = install_metrics();
            probes(&backends, &[Probe::Log], &shutdown);
            let stats = with_telemetry(&cfg.telemetry, metrics, &shutdown, async {
                Ok(collector::publisher::run(
                    backends.log.clone(),
                    backends.codec.clone(),
                    cfg.collector.clone(),
                    shutdown.clone(),
                    None,
                )
                .await?)
            })
            .await?;
            eprintln!(
                "collected {} posts ({} rejected)",
                stats.posts, stats.rejected
            );
            Ok(())
        }
        Command::Speed => {
            let metrics = install_metrics();
            probes(
                &backends,
                &[Probe::Log, Probe::Views, Probe::Coordinator],
                &shutdown,
            );
            with_telemetry(&cfg.telemetry, metrics, &shutdown, async {
                Ok(speed_layer::run(backends.clone(), cfg.speed.clone(), shutdown.clone()).await?)
            })
            .await
        }
        Command::Ingest => {
            let metrics = install_metrics();
            probes(&backends, &[Probe::Log], &shutdown);
            with_telemetry(&cfg.telemetry, metrics, &shutdown, async {
                let compaction = batch_layer::compact::run_periodic(
                    backends.clone(),
                    cfg.compact.clone(),
                    cfg.recompute.limits(),
                    shutdown.clone(),
                );
                let ingest = batch_layer::ingest::run(
                    backends.clone(),
                    cfg.ingest.clone(),
                    shutdown.clone(),
                );
                let (ingested, compacted) = tokio::join!(ingest, compaction);
                ingested?;
                Ok(compacted?)
            })
            .await
        }
        Command::Compact => {
            let r = batch_layer::compact::compact(&backends, &cfg.compact, &cfg.recompute.limits())
                .await?;
            println!(
                "Merged {} files into {} ({} rows), deleted {} retired files; manifest version {}.",
                r.files_in, r.files_out, r.rows, r.purged, r.manifest_version
            );
            Ok(())
        }
        Command::Serve { .. } => {
            let metrics = install_metrics();
            probes(
                &backends,
                &[Probe::Log, Probe::Views, Probe::Coordinator],
                &shutdown,
            );
            let actions = admin_actions(&backends, &cfg);
            Ok(serving::run(backends, serving_config(&cfg), metrics, actions, shutdown).await?)
        }
        Command::Recompute {
            abort,
            shadow,
            views,
            view,
            every,
        } => {
            if abort {
                match LambdaSwitch::new(backends.coordinator.clone())
                    .abort_recompute()
                    .await?
                {
                    Some(r) => eprintln!(
                        "The recompute to epoch {} was abandoned; the active pair is unchanged.",
                        r.epoch.0
                    ),
                    None => eprintln!("No recompute was in progress."),
                }
                return Ok(());
            }
            data_cli::recompute(
                &backends,
                &cfg.recompute,
                views.as_deref(),
                &view,
                shadow,
                every,
                &shutdown,
            )
            .await
        }
        Command::Flip => data_cli::flip(&backends).await,
        Command::Views { command } => match command {
            data_cli::ViewsCommand::List { views } => {
                data_cli::list(&backends, &cfg.recompute, views.as_deref()).await
            }
            data_cli::ViewsCommand::Diff {
                from,
                to,
                limit,
                json,
            } => data_cli::diff(&backends, from.as_deref(), to.as_deref(), limit, json).await,
        },
        Command::History { limit, json } => data_cli::history(&backends, limit, json).await,
        Command::Sql {
            query,
            format,
            as_of,
            repeat,
        } => {
            data_cli::sql(
                &backends,
                &cfg.recompute,
                &query,
                format,
                as_of.as_deref(),
                repeat,
            )
            .await
        }
        Command::Rollback => {
            let pair = LambdaSwitch::new(backends.coordinator.clone())
                .rollback()
                .await?;
            println!(
                "Rolled back: active pair is now epoch {}: {} + {}.",
                pair.epoch.0, pair.batch, pair.speed
            );
            Ok(())
        }
        Command::Status { json } => status(&backends, &cfg.speed.group, json).await,
        Command::Migrate => {
            backends.views.migrate().await?;
            println!("View tables are ready in {}.", backends.views.describe());
            for topic in [model::POSTS_TOPIC, model::POSTS_DLQ_TOPIC] {
                let partitions = backends.log.ensure_topic(topic).await?;
                println!("Topic {topic} is ready ({partitions} partitions).");
            }
            LambdaSwitch::new(backends.coordinator.clone())
                .initialize()
                .await?;
            println!("Coordinator documents are ready.");
            Ok(())
        }
        Command::Config { .. } => unreachable!("handled above"),
    }
}

/// Serving's settings, with the speed layer's consumer group it reports the lag of.
fn serving_config(cfg: &Config) -> serving::ServingConfig {
    serving::ServingConfig {
        speed_group: cfg.speed.group.clone(),
        ..cfg.serving.clone()
    }
}

/// What the admin API may do in this process: run a recompute (the same as `lambda-trends
/// recompute`, with the configured memory and time limits).
fn admin_actions(backends: &Backends, cfg: &Config) -> serving::admin::AdminActions {
    let (backends, recompute) = (backends.clone(), cfg.recompute.clone());
    serving::admin::AdminActions {
        recompute: Some(Arc::new(move |shutdown: CancellationToken| {
            let (backends, recompute) = (backends.clone(), recompute.clone());
            Box::pin(async move {
                let request = RecomputeRequest {
                    views: data_cli::configured_views(&recompute).map_err(|e| format!("{e:#}"))?,
                    shadow: false,
                    actor: Some("admin-api".into()),
                    progress: None,
                };
                run_recompute_of(
                    &backends,
                    &recompute,
                    &request,
                    &shutdown,
                    |p| tracing::info!(progress = %p, "Recompute progress."),
                )
                .await
                .map_err(|e| format!("{e:#}"))
            })
        })),
    }
}

fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(h) => Some(h),
        Err(error) => {
            tracing::warn!(%error, "Metrics are disabled: no recorder could be installed.");
            None
        }
    }
}

/// Runs `component` with the telemetry endpoints beside it (when `telemetry.listen` is set);
/// a telemetry server that cannot start stops the command.
async fn with_telemetry<T>(
    cfg: &serving::telemetry::TelemetryConfig,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    shutdown: &CancellationToken,
    component: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let telemetry = serving::telemetry::run(cfg, metrics, shutdown.clone());
    tokio::pin!(component, telemetry);
    tokio::select! {
        result = &mut component => result,
        served = &mut telemetry => {
            served?;
            component.await
        }
    }
}

fn spawn_signal_handler(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("a SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("Shutting down: finishing in-flight work.");
        shutdown.cancel();
    });
}

/// `lambda-trends up`: every component in one process.
/// A backend a component needs, probed for `/readyz` ([`ports::health::spawn_probes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Log,
    Views,
    Coordinator,
}

fn probes(backends: &Backends, needs: &[Probe], shutdown: &CancellationToken) {
    ports::health::spawn_probes(
        backends,
        ports::health::Needs {
            log: needs.contains(&Probe::Log),
            views: needs.contains(&Probe::Views),
            coordinator: needs.contains(&Probe::Coordinator),
        },
        shutdown.clone(),
    );
}

async fn up(backends: Backends, cfg: Config, shutdown: CancellationToken) -> Result<()> {
    let metrics = install_metrics();
    probes(
        &backends,
        &[Probe::Log, Probe::Views, Probe::Coordinator],
        &shutdown,
    );
    let mut tasks: JoinSet<(&'static str, Result<()>)> = JoinSet::new();
    {
        let (log, codec, c, s) = (
            backends.log.clone(),
            backends.codec.clone(),
            cfg.collector.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            (
                "collector",
                collector::publisher::run(log, codec, c, s, None)
                    .await
                    .map(|_| ())
                    .map_err(Into::into),
            )
        });
    }
    {
        let (b, c, s) = (backends.clone(), cfg.speed.clone(), shutdown.clone());
        tasks.spawn(async move { ("speed", speed_layer::run(b, c, s).await.map_err(Into::into)) });
    }
    {
        let (b, c, s) = (backends.clone(), cfg.ingest.clone(), shutdown.clone());
        tasks.spawn(async move {
            (
                "ingest",
                batch_layer::ingest::run(b, c, s).await.map_err(Into::into),
            )
        });
    }
    {
        let (b, c, s) = (backends.clone(), serving_config(&cfg), shutdown.clone());
        let actions = admin_actions(&backends, &cfg);
        tasks.spawn(async move {
            (
                "serving",
                serving::run(b, c, metrics, actions, s)
                    .await
                    .map_err(Into::into),
            )
        });
    }
    if cfg.recompute.every_minutes > 0 {
        let (b, c, s) = (backends.clone(), cfg.recompute.clone(), shutdown.clone());
        tasks.spawn(async move { ("recompute", periodic_recompute(b, c, s).await) });
    }
    {
        let (b, c, l, s) = (
            backends.clone(),
            cfg.compact.clone(),
            cfg.recompute.limits(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            (
                "compaction",
                batch_layer::compact::run_periodic(b, c, l, s)
                    .await
                    .map_err(Into::into),
            )
        });
    }
    eprintln!(
        "lambda-trends is up: dashboard and API on http://{} (data in {}). Ctrl-C stops it.",
        cfg.serving.listen,
        cfg.data_dir.display()
    );
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        let (name, result) = joined.context("a component panicked")?;
        match result {
            Ok(()) => tracing::info!(component = name, "Component finished."),
            Err(e) => {
                tracing::error!(component = name, error = %format!("{e:#}"), "Component failed; stopping everything.");
                failure.get_or_insert(e.context(format!("{name} failed")));
                shutdown.cancel();
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn periodic_recompute(
    backends: Backends,
    cfg: batch_layer::recompute::RecomputeConfig,
    shutdown: CancellationToken,
) -> Result<()> {
    let every = Duration::from_secs(cfg.every_minutes * 60);
    loop {
        tokio::select! { _ = tokio::time::sleep(every) => {}, _ = shutdown.cancelled() => return Ok(()) }
        let request = RecomputeRequest {
            views: data_cli::configured_views(&cfg)?,
            shadow: false,
            actor: Some("up (periodic)".into()),
            progress: None,
        };
        match run_recompute_of(
            &backends,
            &cfg,
            &request,
            &shutdown,
            |p| tracing::info!(progress = %p, "Recompute progress."),
        )
        .await
        {
            Ok(pair) => {
                tracing::info!(epoch = pair.epoch.0, "Periodic recompute flipped the pair.")
            }
            Err(e) if shutdown.is_cancelled() => {
                tracing::info!(error = %e, "Recompute stopped by shutdown.")
            }
            Err(batch_layer::BatchError::Backend(ports::PortError::Conflict(why))) => {
                tracing::warn!(%why, "Periodic recompute skipped: another recompute or a shadow pair is in the way.")
            }
            Err(e) => {
                tracing::error!(error = %e, "Periodic recompute failed; the active pair is unchanged.")
            }
        }
    }
}

async fn status(backends: &Backends, speed_group: &str, json: bool) -> Result<()> {
    let switch = LambdaSwitch::new(backends.coordinator.clone());
    let pair = switch.active().await?;
    let state = switch.speed_state().await?;
    let ends = backends.log.end_offsets(model::POSTS_TOPIC).await?;
    let speed = backends
        .log
        .committed_offsets(model::POSTS_TOPIC, speed_group)
        .await?;
    let manifest = backends.master.manifest().await?;
    if json {
        let v = serde_json::json!({
            "active": pair, "speed_state": state, "log_end_offsets": ends,
            "speed_committed": speed, "master_offsets": manifest.offsets, "master_rows": manifest.rows(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let total: u64 = ends.values().sum();
    let lag = |done: &std::collections::BTreeMap<u32, u64>| -> u64 {
        ends.iter()
            .map(|(p, e)| e.saturating_sub(done.get(p).copied().unwrap_or(0)))
            .sum()
    };
    println!(
        "active pair   epoch {}: {} + {}",
        pair.epoch.0, pair.batch, pair.speed
    );
    println!("cut           {:?}", pair.cut);
    println!(
        "views         v{}: {}",
        pair.view_version,
        pair.views
            .views
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match pair.flipped_at {
        Some(t) => println!("flipped at    {t}"),
        None => println!("flipped at    never (initial pair)"),
    }
    if let Some(prev) = &pair.previous {
        println!(
            "rollback to   epoch {}: {} + {}",
            prev.epoch.0, prev.batch, prev.speed
        );
    }
    match &state.recompute {
        Some(r) if r.batch_ready.is_some() => println!(
            "recompute     shadow pair for epoch {} ready: `lambda-trends views diff`, then `flip` or `recompute --abort`",
            r.epoch.0
        ),
        Some(r) => println!(
            "recompute     to epoch {} in progress since {}",
            r.epoch.0, r.started_at
        ),
        None => println!("recompute     none in progress"),
    }
    println!("event log     {total} posts");
    println!("speed layer   {} behind", lag(&speed));
    println!(
        "master        {} rows, manifest v{}, {} behind",
        manifest.rows(),
        manifest.version,
        lag(&manifest.offsets)
    );
    Ok(())
}
