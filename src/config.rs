//! The configuration tree and its layering: defaults < file < environment (`LT__SECTION__KEY`)
//! < command-line flags.

use anyhow::{Context, Result};
use batch_layer::ingest::IngestConfig;
use batch_layer::recompute::RecomputeConfig;
use collector::publisher::{CollectorConfig, SourceKind};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ports::BackendUrls;
use serde::{Deserialize, Serialize};
use serving::ServingConfig;
use serving::telemetry::TelemetryConfig;
use speed_layer::SpeedConfig;
use std::path::{Path, PathBuf};

/// Every setting, by section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// Directory of the embedded backends' data.
    pub data_dir: PathBuf,
    /// Where each backend lives.
    pub backends: BackendUrls,
    /// The collector.
    pub collector: CollectorConfig,
    /// The speed layer.
    pub speed: SpeedConfig,
    /// The master ingest.
    pub ingest: IngestConfig,
    /// Compaction of the master dataset's small files.
    pub compact: batch_layer::compact::CompactConfig,
    /// The recompute.
    pub recompute: RecomputeConfig,
    /// The serving layer.
    pub serving: ServingConfig,
    /// Health and metrics endpoints of the single-component commands.
    pub telemetry: TelemetryConfig,
    /// Logging.
    pub log: LogConfig,
    /// Kafka client settings, for a `kafka://` event log.
    #[cfg(feature = "kafka")]
    pub kafka: kafka::KafkaOptions,
    /// Cassandra/Scylla client settings, for a `cassandra://` view store.
    #[cfg(feature = "cassandra")]
    pub cassandra: cassandra::CassandraOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            backends: BackendUrls::default(),
            collector: CollectorConfig::default(),
            speed: SpeedConfig::default(),
            ingest: IngestConfig::default(),
            compact: batch_layer::compact::CompactConfig::default(),
            recompute: RecomputeConfig::default(),
            serving: ServingConfig::default(),
            telemetry: TelemetryConfig::default(),
            log: LogConfig::default(),
            #[cfg(feature = "kafka")]
            kafka: kafka::KafkaOptions::default(),
            #[cfg(feature = "cassandra")]
            cassandra: cassandra::CassandraOptions::default(),
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `info,speed_layer=debug` (`RUST_LOG` wins if set).
    pub filter: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            format: "text".into(),
        }
    }
}

/// Settings given as command-line flags (the top layer).
#[derive(Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub rate: Option<f64>,
    pub recompute_every: Option<u64>,
    pub source: Option<String>,
    pub replay_path: Option<PathBuf>,
    pub replay_speed: Option<f64>,
    pub max_posts: Option<u64>,
}

impl Config {
    /// Layers defaults, the file (`file`, else `lambda-trends.toml` if present), the
    /// environment and `flags`.
    pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                anyhow::ensure!(
                    f.is_file(),
                    "the configuration file {} does not exist",
                    f.display()
                );
                fig = fig.merge(Toml::file(f));
            }
            None if Path::new("lambda-trends.toml").is_file() => {
                fig = fig.merge(Toml::file("lambda-trends.toml"))
            }
            None => {}
        }
        fig = fig.merge(
            Env::prefixed("LT__")
                .split("__")
                .map(|k| k.as_str().replace('_', "-").into()),
        );
        let mut cfg: Config = fig.extract().context("invalid configuration")?;
        if let Some(d) = &flags.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(l) = &flags.listen {
            cfg.serving.listen = l.clone();
        }
        if let Some(r) = flags.rate {
            anyhow::ensure!(
                r >= 0.0 && r.is_finite(),
                "--rate must be a number of posts per second, 0 or more"
            );
            cfg.collector.rate = r;
        }
        if let Some(m) = flags.recompute_every {
            cfg.recompute.every_minutes = m;
        }
        if let Some(s) = &flags.source {
            cfg.collector.source = match s.as_str() {
                "synthetic" => SourceKind::Synthetic,
                "replay" => SourceKind::Replay,
                "jetstream" => SourceKind::Jetstream,
                "x-sample" => SourceKind::XSample,
                other => anyhow::bail!(
                    "unknown source `{other}`: use `synthetic`, `replay`, `jetstream` or `x-sample`"
                ),
            };
        }
        if let Some(p) = &flags.replay_path {
            cfg.collector.replay.path = p.clone();
            cfg.collector.source = SourceKind::Replay;
        }
        if let Some(s) = flags.replay_speed {
            anyhow::ensure!(
                s >= 0.0 && s.is_finite(),
                "--speed must be 0 (use --rate) or a factor over the recorded pace, e.g. 1 or 60"
            );
            cfg.collector.replay.speed = s;
        }
        if let Some(m) = flags.max_posts {
            cfg.collector.max_posts = m;
        }
        Ok(cfg)
    }

    /// The merged configuration as TOML, with every secret shown as `<redacted>`.
    pub fn to_toml(&self) -> Result<String> {
        Ok(ports::Secret::redacting(|| toml::to_string_pretty(self))?)
    }
}

/// Starts logging to stderr.
pub fn init_tracing(cfg: &LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if cfg.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
