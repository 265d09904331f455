//! The data engineer's loop, from the command line, with every number checked: a view added to
//! the views file is recomputed with `--shadow`, compared with `views diff`, switched to with
//! `flip` (serving's language filter then answers from it), recorded in `history`, and rolled
//! back; `sql --as-of` answers from what had been ingested at a past time.
//!
//! Each component runs as its own process on one embedded data directory (`speed`, `ingest`,
//! `serve`), as an operator would run them.

mod common;

use common::{Children, lambda_trends_in, offsets_sum, status_json};
use model::hashtag_keys;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const WORDS: [&str; 6] = ["rust", "Go", "zig", "ocaml", "Kotlin", "elixir"];
const LANGS: [&str; 3] = ["en", "de", "ja"];

/// Ground truth of a replay file.
#[derive(Default)]
struct Truth {
    /// Per hashtag key.
    thesis: BTreeMap<String, i64>,
    /// Per (lang, hashtag key).
    by_lang: BTreeMap<(String, String), i64>,
    /// Per (hour, hashtag key): distinct authors.
    authors: BTreeMap<(i64, String), std::collections::BTreeSet<i64>>,
    /// Hashtag rows (one per post and distinct hashtag).
    rows: i64,
    /// Posts.
    posts: u64,
}

/// Writes `n` X v2 stream lines (ids from `first`) into `path`, adding them to `truth`.
fn replay_file(path: &Path, first: u64, n: u64, rng: &mut StdRng, truth: &mut Truth) {
    let now = chrono::Utc::now().timestamp_millis();
    let mut lines = String::new();
    for i in first..first + n {
        let ts = now - rng.random_range(0..50 * 60_000);
        let lang = LANGS[(i % 3) as usize];
        let author = i % 40;
        let tags: Vec<&str> = (0..rng.random_range(0..4))
            .map(|_| WORDS[rng.random_range(0..WORDS.len())])
            .collect();
        let text = format!(
            "post {i} {}",
            tags.iter()
                .map(|t| format!("#{t}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        for k in hashtag_keys(&text, None) {
            *truth.thesis.entry(k.clone()).or_default() += 1;
            *truth
                .by_lang
                .entry((lang.to_string(), k.clone()))
                .or_default() += 1;
            let hour = ts.div_euclid(3_600_000) * 3_600_000;
            truth
                .authors
                .entry((hour, k))
                .or_default()
                .insert(author as i64);
            truth.rows += 1;
        }
        truth.posts += 1;
        let created = chrono::DateTime::from_timestamp_millis(ts)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = serde_json::json!({"data": {
            "id": (1_000_000 + i).to_string(), "text": text, "created_at": created,
            "author_id": author.to_string(), "lang": lang,
        }});
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    std::fs::write(path, lines).unwrap();
}

/// The components, killed when the test ends however it ends.
struct Components {
    data: PathBuf,
    children: Children,
}

impl Components {
    fn spawn(&mut self, name: &str, args: &[&str]) {
        let mut command = lambda_trends_in(&self.data);
        command.args(args).env("RUST_LOG", "info");
        self.children.spawn(name, command);
    }

    fn logs(&self) -> String {
        self.children.logs()
    }
}

/// Runs a command to completion; fails the test with its output (and the components' logs)
/// if it fails.
fn run(c: &Components, args: &[&str]) -> String {
    let out = run_raw(c, args);
    assert!(
        out.status.success(),
        "lambda-trends {args:?} failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        c.logs()
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_raw(c: &Components, args: &[&str]) -> Output {
    lambda_trends_in(&c.data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Waits until the speed layer and the master ingest have both taken `posts` records.
fn wait_caught_up(c: &Components, posts: u64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let s = status_json(&c.data);
        let (speed, master) = (
            offsets_sum(&s, "speed_committed"),
            offsets_sum(&s, "master_offsets"),
        );
        if speed >= posts && master >= posts {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not caught up with {posts} posts: speed {speed}, master {master}\n{}",
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn get(base: &str, path: &str) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

/// Waits until serving reports `epoch` as the active one.
fn wait_epoch(base: &str, epoch: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(base, "/api/v1/status").1["active"]["epoch"] != epoch {
        assert!(Instant::now() < deadline, "serving never saw epoch {epoch}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn trending_counts(v: &Value) -> BTreeMap<String, i64> {
    v["hashtags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["hashtag"].as_str().unwrap().to_string(),
                h["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_new_view_is_shadowed_diffed_flipped_served_and_rolled_back_and_sql_sees_the_past() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut c = Components {
        data: data.clone(),
        children: Children::new(&data),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut rng = StdRng::seed_from_u64(7);
    let mut truth = Truth::default();

    // The first 300 posts, counted and ingested.
    let first = dir.path().join("first.jsonl");
    replay_file(&first, 0, 300, &mut rng, &mut truth);
    run(
        &c,
        &[
            "collect",
            "--source",
            "replay",
            "--file",
            first.to_str().unwrap(),
            "--rate",
            "100000",
        ],
    );
    c.spawn("speed", &["speed"]);
    c.spawn("ingest", &["ingest"]);
    c.spawn(
        "serve",
        &["serve", "--listen", &format!("127.0.0.1:{port}")],
    );
    wait_caught_up(&c, 300);
    // A moment strictly between the two batches' ingests, for `sql --as-of`.
    std::thread::sleep(Duration::from_millis(1100));
    let between = chrono::Utc::now();
    std::thread::sleep(Duration::from_millis(1100));
    let second = dir.path().join("second.jsonl");
    replay_file(&second, 300, 300, &mut rng, &mut truth);
    run(
        &c,
        &[
            "collect",
            "--source",
            "replay",
            "--file",
            second.to_str().unwrap(),
            "--rate",
            "100000",
        ],
    );
    wait_caught_up(&c, 600);

    // The thesis view alone, flipped to epoch 1.
    let out = run(&c, &["recompute"]);
    assert!(out.contains("epoch 1"), "{out}");

    // A data engineer adds two views.
    let views = dir.path().join("views.toml");
    std::fs::write(
        &views,
        "version = 2\n\
         [[view]]\nname = \"by_lang\"\ndescription = \"posts per hashtag and language\"\ngroup-by = [\"lang\"]\n\
         [[view]]\nname = \"authors_hourly\"\nbucket = \"1h\"\nmeasure = \"authors\"\n",
    )
    .unwrap();
    let views = views.to_str().unwrap();
    let listed = run(&c, &["views", "list", "--views", views]);
    assert!(
        listed.contains("by_lang") && listed.contains("not computed"),
        "{listed}"
    );

    let out = run(&c, &["recompute", "--views", views, "--shadow"]);
    assert!(out.contains("Shadow pair ready for epoch 2"), "{out}");
    let status = status_json(&data);
    assert_eq!(
        status["active"]["epoch"], 1,
        "a shadow recompute does not flip"
    );
    let listed = run(&c, &["views", "list", "--views", views]);
    assert!(
        listed
            .lines()
            .any(|l| l.contains("by_lang") && l.contains("[shadow]")),
        "{listed}"
    );
    // Another recompute waits for the shadow pair to be flipped or dropped.
    let blocked = run_raw(&c, &["recompute"]);
    assert!(!blocked.status.success());
    assert!(
        String::from_utf8_lossy(&blocked.stderr).contains("lambda-trends flip"),
        "{}",
        String::from_utf8_lossy(&blocked.stderr)
    );
    // Serving still answers from epoch 1, which has no language view.
    let (code, body) = get(&base, "/api/v1/trending?lang=de&minutes=120");
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("no_view")),
        "{body}"
    );

    // The diff: the thesis view is unchanged; by_lang is new, with every hashtag row once.
    let diff: Value = serde_json::from_str(&run(&c, &["views", "diff", "--json"])).unwrap();
    let thesis = &diff["views"]["hashtag_slot_counts"];
    assert_eq!(thesis["changed"], 0, "{diff}");
    assert_eq!(thesis["only_active"], 0, "{diff}");
    assert_eq!(thesis["only_shadow"], 0, "{diff}");
    assert_eq!(thesis["total_active"], truth.rows, "{diff}");
    assert_eq!(thesis["total_shadow"], truth.rows, "{diff}");
    let by_lang = &diff["views"]["by_lang"];
    assert_eq!(by_lang["in_active"], false);
    assert_eq!(by_lang["in_shadow"], true);
    assert_eq!(by_lang["only_shadow"], truth.by_lang.len(), "{diff}");
    assert_eq!(by_lang["total_shadow"], truth.rows, "{diff}");
    let authors_total: usize = truth.authors.values().map(|a| a.len()).sum();
    assert_eq!(
        diff["views"]["authors_hourly"]["total_shadow"], authors_total,
        "{diff}"
    );
    let text = run(&c, &["views", "diff"]);
    assert!(
        text.contains("by_lang (new)") && text.contains("The pairs differ"),
        "{text}"
    );

    // Flip: serving answers per language from the new view, exactly.
    let out = run(&c, &["flip"]);
    assert!(out.contains("epoch 2"), "{out}");
    wait_epoch(&base, 2);
    for lang in LANGS {
        let (code, body) = get(
            &base,
            &format!("/api/v1/trending?lang={lang}&minutes=120&limit=100"),
        );
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["lang"], lang);
        let expected: BTreeMap<String, i64> = truth
            .by_lang
            .iter()
            .filter(|((l, _), _)| l == lang)
            .map(|((_, k), n)| (k.clone(), *n))
            .collect();
        assert_eq!(trending_counts(&body), expected, "trending for {lang}");
    }
    let (_, all) = get(&base, "/api/v1/trending?minutes=120&limit=100");
    assert_eq!(
        trending_counts(&all),
        truth.thesis,
        "the unfiltered list holds only bare hashtags, with the thesis counts"
    );

    // History: who did what, with which views.
    let history: Value = serde_json::from_str(&run(&c, &["history", "--json"])).unwrap();
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["flip", "shadow", "flip"], "{history}");
    let last = &history[2];
    assert!(
        last["actor"].as_str().is_some_and(|a| a.contains('@')),
        "{last}"
    );
    assert_eq!(last["pair"]["view_version"], 2);
    let names: Vec<&str> = last["pair"]["views"]["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hashtag_slot_counts", "authors_hourly", "by_lang"]);

    // Rollback: epoch 3 serves the thesis-only pair again.
    let out = run(&c, &["rollback"]);
    assert!(out.contains("epoch 3"), "{out}");
    wait_epoch(&base, 3);
    let (code, body) = get(&base, "/api/v1/trending?lang=de&minutes=120");
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("no_view")),
        "{body}"
    );
    let (_, all) = get(&base, "/api/v1/trending?minutes=120&limit=100");
    assert_eq!(trending_counts(&all), truth.thesis);
    let history: Value = serde_json::from_str(&run(&c, &["history", "--json"])).unwrap();
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["action"],
        "rollback"
    );

    // SQL over the master dataset, now and as of the moment between the two batches.
    let count = |extra: &[&str]| -> u64 {
        let mut args = vec!["sql", "--format", "json"];
        args.extend_from_slice(extra);
        args.push("SELECT count(*) AS n FROM posts");
        let out = run(&c, &args);
        let row: Value = serde_json::from_str(out.trim()).unwrap();
        row["n"].as_u64().unwrap()
    };
    assert_eq!(count(&[]), 600);
    let as_of = between.to_rfc3339();
    assert_eq!(count(&["--as-of", &as_of]), 300, "as of {as_of}");
    assert_eq!(count(&["--as-of", "2000-01-01"]), 0);
    let csv = run(
        &c,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT lang, count(*) AS n FROM hashtags GROUP BY lang ORDER BY lang",
        ],
    );
    let mut expected = String::from("lang,n\n");
    for lang in ["de", "en", "ja"] {
        let n: i64 = truth
            .by_lang
            .iter()
            .filter(|((l, _), _)| l == lang)
            .map(|(_, n)| n)
            .sum();
        expected.push_str(&format!("{lang},{n}\n"));
    }
    assert_eq!(csv, expected);
    // Timed warm runs: the rows once, a time per run on stderr.
    let repeated = run_raw(
        &c,
        &[
            "sql",
            "--format",
            "csv",
            "--repeat",
            "3",
            "SELECT lang, count(*) AS n FROM hashtags GROUP BY lang ORDER BY lang",
        ],
    );
    assert!(repeated.status.success());
    assert_eq!(String::from_utf8_lossy(&repeated.stdout), expected);
    let timings = String::from_utf8_lossy(&repeated.stderr);
    for run in 1..=3 {
        assert!(
            timings.contains(&format!("run {run}/3: 3 rows in ")),
            "{timings}"
        );
    }
    let table = run(
        &c,
        &[
            "sql",
            "SELECT hashtag, count(*) AS n FROM hashtags GROUP BY hashtag ORDER BY n DESC, hashtag LIMIT 3",
        ],
    );
    assert!(table.contains("| hashtag"), "an aligned table: {table}");
    let bad = run_raw(&c, &["sql", "SELECT nope FROM posts"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("nope"),
        "the error names the column: {}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
