//! A deterministic synthetic post generator, and the exact ground truth to check counts against.
//!
//! [`SyntheticSource`] produces posts that look like real ones: a few filler words, sometimes a
//! mention or a `t.co` link, and, in a configurable share of posts ([`SyntheticConfig::hashtag_post_ratio`],
//! one post in eight by default), one to [`SyntheticConfig::max_tags_per_post`] hashtags written as
//! `#Tag` and separated by spaces. The hashtags come from a vocabulary generated once from the
//! seed: mostly ASCII words and compounds (`rustlang`, `WorldCup2026`), some with case variants that
//! normalise to one key (`#Rust` and `#rust`), and a few in other scripts (`東京`, `москва`,
//! `café`). A tag is drawn by its Zipf rank ([`SyntheticConfig::zipf_exponent`]), so a few tags
//! dominate and there is a long tail.
//!
//! Bursts: every [`SyntheticConfig::burst_every_secs`] seconds a word *bursts* for
//! [`SyntheticConfig::burst_secs`] seconds: it is drawn [`SyntheticConfig::burst_factor`] times as
//! often as its Zipf rank says (50× for ten minutes by default; the other words keep their
//! relative odds). The word is chosen from the seed and the burst number alone (see
//! [`SyntheticSource::trending_at`]), among ranks between 1 % and 10 % of the vocabulary, so the
//! rise is visible and takes it near the top.
//!
//! Volume: [`SyntheticConfig::rate_factor`] is a diurnal curve, `1 + A·cos(2π(t − peak)/24 h)`,
//! that the collector multiplies its rate by (and [`SyntheticConfig::posts_between`] integrates),
//! so a day of synthetic traffic has a busy evening and a quiet night, as real traffic has.
//!
//! Posts carry `hashtags: None`, so every consumer extracts the tags from the text and the
//! extractor is exercised. Every vocabulary word starts with a letter and holds only letters, marks,
//! digits and `_`, so extraction recovers exactly the intended tags.
//!
//! The output is a pure function of the configuration and the sequence of timestamps passed to
//! [`SyntheticSource::next_post`]. [`GroundTruth`] counts the posts exactly, per hashtag key and
//! 5-minute slot, with [`Post::hashtag_keys`], the same definition the speed and batch layers use.

use std::collections::{BTreeMap, HashSet};

use model::{Post, SlotStart, normalize_hashtag};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use serde::{Deserialize, Serialize};

/// Settings of the synthetic source. Unknown keys are rejected; missing keys take the defaults of
/// [`SyntheticConfig::default`]. Out-of-range values are clamped by [`SyntheticSource::new`]; call
/// [`SyntheticConfig::validate`] to reject them instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Seed of every random choice (default 42). Same seed and timestamps, same posts.
    pub seed: u64,
    /// Number of distinct hashtag keys in the vocabulary (default 5000; at least 1).
    pub vocabulary: usize,
    /// Exponent `s` of the Zipf law over vocabulary ranks (default 1.1; finite, ≥ 0; 0 is uniform).
    pub zipf_exponent: f64,
    /// Share of posts that carry hashtags, in `[0, 1]` (default 0.125: one post in eight).
    pub hashtag_post_ratio: f64,
    /// Most distinct hashtags in one post (default 4; at least 1). A post with hashtags has one, and
    /// each further one with probability 0.3, up to this limit.
    pub max_tags_per_post: usize,
    /// Number of distinct authors, user ids `1..=authors` (default 100 000; at least 1).
    pub authors: u64,
    /// Seconds from one burst's start to the next (default 1800); 0 disables bursts.
    pub burst_every_secs: u64,
    /// How long a burst lasts, seconds (default 600; at most `burst-every-secs`); 0 disables bursts.
    pub burst_secs: u64,
    /// How many times as often the bursting word is drawn (default 50; at least 1, 1 disables bursts).
    pub burst_factor: f64,
    /// Amplitude `A` of the diurnal curve of the post rate, in `[0, 1)` (default 0.5: from half the
    /// mean rate at night to 1.5 times it at the peak); 0 gives a flat rate.
    pub diurnal_amplitude: f64,
    /// Hour of the day (UTC, `[0, 24)`) when the diurnal curve peaks (default 19).
    pub diurnal_peak_hour: f64,
}

impl Default for SyntheticConfig {
    /// `seed` 42, `vocabulary` 5000, `zipf-exponent` 1.1, `hashtag-post-ratio` 0.125,
    /// `max-tags-per-post` 4, `authors` 100 000, `burst-every-secs` 1800, `burst-secs` 600,
    /// `burst-factor` 50, `diurnal-amplitude` 0.5, `diurnal-peak-hour` 19.
    fn default() -> Self {
        SyntheticConfig {
            seed: 42,
            vocabulary: 5000,
            zipf_exponent: 1.1,
            hashtag_post_ratio: 0.125,
            max_tags_per_post: 4,
            authors: 100_000,
            burst_every_secs: 1800,
            burst_secs: 600,
            burst_factor: 50.0,
            diurnal_amplitude: 0.5,
            diurnal_peak_hour: 19.0,
        }
    }
}

impl SyntheticConfig {
    /// Checks every value is in range; the error lists what is not.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.vocabulary == 0 {
            problems.push("vocabulary must be at least 1".to_owned());
        }
        if !(self.zipf_exponent.is_finite() && self.zipf_exponent >= 0.0) {
            problems.push(format!(
                "zipf-exponent must be finite and >= 0, got {}",
                self.zipf_exponent
            ));
        }
        if !(0.0..=1.0).contains(&self.hashtag_post_ratio) {
            problems.push(format!(
                "hashtag-post-ratio must be in [0, 1], got {}",
                self.hashtag_post_ratio
            ));
        }
        if self.max_tags_per_post == 0 {
            problems.push("max-tags-per-post must be at least 1".to_owned());
        }
        if self.authors == 0 {
            problems.push("authors must be at least 1".to_owned());
        }
        if !(self.burst_factor.is_finite() && self.burst_factor >= 1.0) {
            problems.push(format!(
                "burst-factor must be finite and >= 1, got {}",
                self.burst_factor
            ));
        }
        if self.burst_secs > self.burst_every_secs && self.burst_every_secs > 0 {
            problems.push(format!(
                "burst-secs ({}) must not exceed burst-every-secs ({})",
                self.burst_secs, self.burst_every_secs
            ));
        }
        if !(0.0..1.0).contains(&self.diurnal_amplitude) {
            problems.push(format!(
                "diurnal-amplitude must be in [0, 1), got {}",
                self.diurnal_amplitude
            ));
        }
        if !(0.0..24.0).contains(&self.diurnal_peak_hour) {
            problems.push(format!(
                "diurnal-peak-hour must be in [0, 24), got {}",
                self.diurnal_peak_hour
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

const DAY_MS: f64 = 86_400_000.0;

impl SyntheticConfig {
    fn amplitude(&self) -> f64 {
        if (0.0..1.0).contains(&self.diurnal_amplitude) {
            self.diurnal_amplitude
        } else {
            0.0
        }
    }

    fn phase(&self, timestamp_ms: i64) -> f64 {
        let peak_ms = self.diurnal_peak_hour.rem_euclid(24.0) * 3_600_000.0;
        std::f64::consts::TAU * ((timestamp_ms as f64 - peak_ms).rem_euclid(DAY_MS) / DAY_MS)
    }

    /// The diurnal curve at `timestamp_ms`: the factor the mean rate is multiplied by,
    /// `1 + A·cos(2π(t − peak)/day)`, between `1 − A` and `1 + A`, with a mean of 1 over a day.
    pub fn rate_factor(&self, timestamp_ms: i64) -> f64 {
        1.0 + self.amplitude() * self.phase(timestamp_ms).cos()
    }

    /// Posts due between `from_ms` and `to_ms` at a mean rate of `rate` posts per second shaped
    /// by the diurnal curve: the integral of `rate × rate_factor` (exact, not sampled).
    pub fn posts_between(&self, rate: f64, from_ms: i64, to_ms: i64) -> f64 {
        let seconds = (to_ms - from_ms) as f64 / 1000.0;
        let wave = self.amplitude() * DAY_MS / 1000.0 / std::f64::consts::TAU
            * (self.phase(to_ms).sin() - self.phase(from_ms).sin());
        // Whole days wrap the phase; the sine difference is still the exact integral.
        rate * (seconds + wave)
    }
}

/// One vocabulary word: its counting key and the ways authors write it (the first is the usual one).
#[derive(Debug, Clone)]
struct Word {
    key: String,
    displays: Vec<String>,
}

/// A deterministic source of synthetic posts; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct SyntheticSource {
    seed: u64,
    rng: StdRng,
    /// Vocabulary, index = Zipf rank − 1.
    words: Vec<Word>,
    zipf: Zipf<f64>,
    hashtag_post_ratio: f64,
    max_tags: usize,
    authors: u64,
    burst_every_ms: i64,
    burst_ms: i64,
    burst_factor: f64,
    /// `H(n, s)`, the normaliser of the Zipf law, for a word's probability.
    zipf_norm: f64,
    zipf_exponent: f64,
    last_tweetid: i64,
    /// Vocabulary indices of the hashtags of the last post (reused buffer).
    picked: Vec<usize>,
    filler: Vec<&'static str>,
    openers: Vec<&'static str>,
}

/// Milliseconds of the Twitter snowflake epoch (2010-11-04T01:42:54.657Z).
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

impl SyntheticSource {
    /// A source for `cfg`, with its vocabulary generated from `cfg.seed`. Out-of-range values are
    /// clamped: counts to at least 1, shares into `[0, 1]`, a non-finite or negative exponent to the
    /// default 1.1.
    pub fn new(cfg: &SyntheticConfig) -> Self {
        let defaults = SyntheticConfig::default();
        let vocabulary = cfg.vocabulary.max(1);
        let exponent = if cfg.zipf_exponent.is_finite() && cfg.zipf_exponent >= 0.0 {
            cfg.zipf_exponent
        } else {
            defaults.zipf_exponent
        };
        let share = |v: f64| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        let words = build_vocabulary(cfg.seed, vocabulary);
        let zipf = Zipf::new(words.len() as f64, exponent)
            .or_else(|_| Zipf::new(words.len() as f64, defaults.zipf_exponent))
            .expect("n >= 1 and s >= 0 are valid Zipf parameters");
        let burst_every_ms =
            i64::try_from(cfg.burst_every_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let burst_ms = i64::try_from(cfg.burst_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX)
            .min(burst_every_ms);
        let burst_factor = if cfg.burst_factor.is_finite() && cfg.burst_factor >= 1.0 {
            cfg.burst_factor
        } else {
            defaults.burst_factor
        };
        let zipf_norm = (1..=words.len()).map(|k| (k as f64).powf(-exponent)).sum();
        SyntheticSource {
            seed: cfg.seed,
            rng: StdRng::seed_from_u64(splitmix64(cfg.seed ^ 0x05EE_D0FF_0575)),
            words,
            zipf,
            hashtag_post_ratio: share(cfg.hashtag_post_ratio),
            max_tags: cfg.max_tags_per_post.max(1),
            authors: cfg.authors.max(1),
            burst_every_ms,
            burst_ms,
            burst_factor,
            zipf_norm,
            zipf_exponent: exponent,
            last_tweetid: 0,
            picked: Vec::with_capacity(cfg.max_tags_per_post.clamp(1, 64)),
            filler: FILLER.split_whitespace().collect(),
            openers: OPENERS.split('|').collect(),
        }
    }

    /// Next post, created at `timestamp_ms` (Unix epoch milliseconds); `tweetid` strictly increases
    /// from post to post (snowflake-like: derived from the timestamp when that is larger).
    pub fn next_post(&mut self, timestamp_ms: i64) -> Post {
        let userid = self.pick_author();
        let username = username_for(self.seed, userid);

        self.picked.clear();
        if self.rng.random_bool(self.hashtag_post_ratio) {
            self.pick_tags(timestamp_ms);
        }
        let tweet = self.compose_text();

        let snowflake = timestamp_ms
            .saturating_sub(SNOWFLAKE_EPOCH_MS)
            .max(0)
            .saturating_mul(1 << 22);
        let tweetid = snowflake.max(self.last_tweetid.saturating_add(1));
        self.last_tweetid = tweetid;

        Post {
            userid: userid as i64,
            username,
            timestamp: timestamp_ms,
            tweetid,
            tweet,
            source: Some("synthetic".to_owned()),
            lang: Some("en".to_owned()),
            hashtags: None,
        }
    }

    /// The key of the word bursting at `timestamp_ms`, or `None` outside bursts (and when they
    /// are disabled). The word depends only on the seed and the burst number
    /// `timestamp_ms / burst_every_secs`; its rank is between 1 % and 10 % of the vocabulary.
    pub fn trending_at(&self, timestamp_ms: i64) -> Option<&str> {
        self.burst_index(timestamp_ms)
            .map(|i| self.words[i].key.as_str())
    }

    /// Number of distinct hashtag keys in the vocabulary.
    pub fn vocabulary_len(&self) -> usize {
        self.words.len()
    }

    /// The key of the vocabulary word of Zipf rank `rank` (1 = most frequent), if in range.
    pub fn key_of_rank(&self, rank: usize) -> Option<&str> {
        rank.checked_sub(1)
            .and_then(|i| self.words.get(i))
            .map(|w| w.key.as_str())
    }

    fn burst_index(&self, timestamp_ms: i64) -> Option<usize> {
        if self.burst_every_ms == 0 || self.burst_ms == 0 || self.burst_factor <= 1.0 {
            return None;
        }
        let window = timestamp_ms.div_euclid(self.burst_every_ms);
        if timestamp_ms - window * self.burst_every_ms >= self.burst_ms {
            return None;
        }
        let h = splitmix64(self.seed ^ (window as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        let n = self.words.len();
        let (low, high) = (n / 100, (n / 10).max(n / 100 + 1));
        Some(low + (h % (high - low) as u64) as usize)
    }

    /// The chance that a draw is replaced by the bursting word at `index`, chosen so that word is
    /// drawn `burst_factor` times as often as its Zipf probability `p` (relative to the others):
    /// `q + (1 − q)·p = f·p / (1 + (f − 1)·p)`, i.e. `q = (f − 1)·p / (1 + (f − 1)·p)`.
    fn burst_replacement(&self, index: usize) -> f64 {
        let p = ((index + 1) as f64).powf(-self.zipf_exponent) / self.zipf_norm;
        let boost = (self.burst_factor - 1.0) * p;
        boost / (1.0 + boost)
    }

    /// Author ids `1..=authors`, skewed towards small ids (some accounts post a lot more).
    fn pick_author(&mut self) -> u64 {
        let u: f64 = self.rng.random();
        1 + ((u * u * self.authors as f64) as u64).min(self.authors - 1)
    }

    fn pick_tags(&mut self, timestamp_ms: i64) {
        let mut n = 1;
        while n < self.max_tags && self.rng.random_bool(0.3) {
            n += 1;
        }
        let n = n.min(self.words.len());
        let burst = self
            .burst_index(timestamp_ms)
            .map(|b| (b, self.burst_replacement(b)));
        for _ in 0..n {
            for _attempt in 0..8 {
                let index = match burst {
                    Some((b, q)) if self.rng.random_bool(q) => b,
                    _ => {
                        let rank = self.zipf.sample(&mut self.rng) as usize;
                        rank.clamp(1, self.words.len()) - 1
                    }
                };
                if !self.picked.contains(&index) {
                    self.picked.push(index);
                    break;
                }
            }
        }
    }

    fn compose_text(&mut self) -> String {
        let rng = &mut self.rng;
        let mut text = String::with_capacity(160);
        if rng.random_bool(0.1) {
            let mentioned = 1 + rng.random_range(0..self.authors);
            text.push('@');
            push_username(&mut text, self.seed, mentioned);
        }
        let words = rng.random_range(3..=14usize);
        // Tags either all at the end (most posts) or spread among the words.
        let inline = rng.random_bool(0.4);
        let mut tags = self.picked.iter();
        for i in 0..words {
            if inline
                && i > 0
                && rng.random_bool(0.25)
                && let Some(&t) = tags.next()
            {
                push_tag(&mut text, &self.words[t], rng);
            }
            push_sep(&mut text);
            if i == 0 && rng.random_bool(0.5) {
                text.push_str(self.openers[rng.random_range(0..self.openers.len())]);
            } else {
                text.push_str(self.filler[rng.random_range(0..self.filler.len())]);
            }
            let r: f64 = rng.random();
            if r < 0.06 {
                text.push_str(PUNCTUATION[rng.random_range(0..PUNCTUATION.len())]);
            } else if r < 0.09 {
                text.push(' ');
                text.push_str(EMOJI[rng.random_range(0..EMOJI.len())]);
            }
        }
        for &t in tags {
            push_tag(&mut text, &self.words[t], rng);
        }
        if rng.random_bool(0.15) {
            push_sep(&mut text);
            text.push_str("https://t.co/");
            for _ in 0..10 {
                text.push(BASE62[rng.random_range(0..BASE62.len())] as char);
            }
        }
        text
    }

    /// Keys of the hashtags the last post was meant to carry, sorted (for tests).
    #[cfg(test)]
    fn last_intended_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .picked
            .iter()
            .map(|&i| self.words[i].key.clone())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// Pushes a space unless `text` is empty.
fn push_sep(text: &mut String) {
    if !text.is_empty() {
        text.push(' ');
    }
}

/// Pushes ` #Display`, the usual display form 70 % of the time, another variant otherwise.
fn push_tag(text: &mut String, word: &Word, rng: &mut StdRng) {
    let display = if word.displays.len() == 1 || rng.random_bool(0.7) {
        &word.displays[0]
    } else {
        &word.displays[rng.random_range(1..word.displays.len())]
    };
    push_sep(text);
    text.push('#');
    text.push_str(display);
}

/// The user name of author `userid`: fixed for a seed, made of syllables and maybe digits.
fn username_for(seed: u64, userid: u64) -> String {
    let mut name = String::with_capacity(16);
    push_username(&mut name, seed, userid);
    name
}

fn push_username(out: &mut String, seed: u64, userid: u64) {
    let mut h = splitmix64(seed ^ userid.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let syllables = 2 + (h % 3) as usize;
    h >>= 2;
    for _ in 0..syllables {
        out.push_str(NAME_SYLLABLES[(h % NAME_SYLLABLES.len() as u64) as usize]);
        h >>= 5;
    }
    match h % 4 {
        0 => {}
        1 => {
            out.push('_');
            out.push_str(NAME_SYLLABLES[((h >> 2) % NAME_SYLLABLES.len() as u64) as usize]);
        }
        _ => {
            let digits = (h >> 2) % 10_000;
            out.push_str(&digits.to_string());
        }
    }
}

/// SplitMix64: a fast 64-bit mixing function, for choices that must depend on values only.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The word lists the vocabulary is built from, split once.
struct Lists {
    ascii_roots: Vec<&'static str>,
    ascii_suffixes: Vec<&'static str>,
    curated: Vec<&'static str>,
    cyrillic: Vec<&'static str>,
    cjk: Vec<&'static str>,
    accented: Vec<&'static str>,
    other_scripts: Vec<&'static str>,
}

impl Lists {
    fn new() -> Self {
        let split = |s: &'static str| s.split_whitespace().collect();
        Lists {
            ascii_roots: split(ASCII_ROOTS),
            ascii_suffixes: split(ASCII_SUFFIXES),
            curated: split(CURATED),
            cyrillic: split(CYRILLIC),
            cjk: split(CJK),
            accented: split(ACCENTED),
            other_scripts: split(OTHER_SCRIPTS),
        }
    }
}

/// Builds `n` words with distinct keys, deterministically from `seed`.
fn build_vocabulary(seed: u64, n: usize) -> Vec<Word> {
    let mut rng = StdRng::seed_from_u64(splitmix64(seed));
    let lists = Lists::new();
    let mut seen: HashSet<String> = HashSet::with_capacity(n);
    let mut words = Vec::with_capacity(n);
    let mut base = String::new();
    let mut curated = lists.curated.iter();
    while words.len() < n {
        let i = words.len();
        // Well-known tags, scattered over the top ranks.
        if i < 400
            && rng.random_bool(0.15)
            && let Some(tag) = curated.next()
        {
            let word = finish(vec![(*tag).to_owned(), tag.to_lowercase()]);
            if seen.insert(word.key.clone()) {
                words.push(word);
            }
            continue;
        }
        let script = rng.random_range(0..100u32);
        // Top ranks are short, like real top tags; the tail has longer compounds.
        let max_parts = if i < 200 { 2 } else { 3 };
        let mut word = None;
        for _attempt in 0..20 {
            let candidate = make_word(&mut rng, &lists, script, max_parts, &mut base);
            if !seen.contains(&candidate.key) {
                word = Some(candidate);
                break;
            }
        }
        // Fallback for a crowded vocabulary: `_<index>` makes the key unique (generated bases have
        // no `_`, and the index is unique).
        let word = word.unwrap_or_else(|| {
            let mut w = make_word(&mut rng, &lists, script, max_parts, &mut base);
            for d in &mut w.displays {
                d.push_str(&format!("_{i}"));
            }
            w.key = normalize_hashtag(&w.displays[0]);
            w
        });
        seen.insert(word.key.clone());
        words.push(word);
    }
    words
}

/// One candidate word of the script class `script` (0–99, a percentage bucket), of at most
/// `max_parts` roots.
fn make_word(
    rng: &mut StdRng,
    lists: &Lists,
    script: u32,
    max_parts: usize,
    base: &mut String,
) -> Word {
    base.clear();
    let cased = match script {
        // ASCII compounds, 88 %.
        0..=87 => {
            let parts = match rng.random_range(0..100u32) {
                0..=44 => 1,
                45..=89 => 2,
                _ => 3,
            }
            .min(max_parts);
            let mut camel = String::new();
            let mut previous = usize::MAX;
            for _ in 0..parts {
                let mut r = rng.random_range(0..lists.ascii_roots.len());
                if r == previous {
                    r = (r + 1) % lists.ascii_roots.len();
                }
                previous = r;
                let root = lists.ascii_roots[r];
                base.push_str(root);
                camel.push_str(&capitalize(root));
            }
            let suffix = ascii_suffix(rng, &lists.ascii_suffixes);
            base.push_str(suffix.as_str());
            camel.push_str(&capitalize(&suffix));
            let mut displays = vec![base.clone(), camel.clone()];
            if rng.random_bool(0.5) {
                displays.swap(0, 1);
            }
            if base.len() <= 8 {
                displays.push(base.to_uppercase());
            }
            if parts > 1 {
                displays.push(capitalize(base));
            }
            let keep = match rng.random_range(0..100u32) {
                0..=49 => 1,
                50..=84 => 2,
                _ => 3,
            };
            displays.truncate(keep);
            return finish(displays);
        }
        // Cyrillic, 3 %.
        88..=90 => compound(rng, &lists.cyrillic, base),
        // Chinese and Japanese, 3 %.
        91..=93 => compound(rng, &lists.cjk, base),
        // Latin with diacritics, 3 %.
        94..=96 => compound(rng, &lists.accented, base),
        // Korean, Arabic, Hebrew, Devanagari, Greek, Thai, 3 %.
        _ => compound(rng, &lists.other_scripts, base),
    };
    let mut displays = vec![base.clone()];
    if cased && rng.random_bool(0.5) {
        displays.push(capitalize(base));
    }
    finish(displays)
}

/// Builds one or two roots of `list` plus maybe a year into `base`; true if the script has case.
fn compound(rng: &mut StdRng, list: &[&str], base: &mut String) -> bool {
    let first = rng.random_range(0..list.len());
    base.push_str(list[first]);
    if rng.random_bool(0.3) {
        let second = rng.random_range(0..list.len());
        if second != first {
            base.push_str(list[second]);
        }
    }
    if rng.random_bool(0.2) {
        base.push_str(&rng.random_range(2020..=2030u32).to_string());
    }
    base.chars()
        .any(|c| c.is_uppercase() || c.to_uppercase().next() != Some(c))
}

/// Keys the word by its first display form and keeps only the variants that normalise to that key.
fn finish(mut displays: Vec<String>) -> Word {
    let key = normalize_hashtag(&displays[0]);
    let mut seen = HashSet::new();
    displays.retain(|d| normalize_hashtag(d) == key && seen.insert(d.clone()));
    Word { key, displays }
}

fn ascii_suffix(rng: &mut StdRng, suffixes: &[&str]) -> String {
    match rng.random_range(0..100u32) {
        0..=79 => String::new(),
        80..=89 => rng.random_range(2020..=2030u32).to_string(),
        90..=94 => rng.random_range(1..=99u32).to_string(),
        _ => suffixes[rng.random_range(0..suffixes.len())].to_owned(),
    }
}

/// The word with its first character uppercased.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Exact counts of a post stream: posts per (hashtag key, 5-minute slot), with the keys of
/// [`Post::hashtag_keys`] and the slot of [`SlotStart::containing`] the post's timestamp.
#[derive(Default, Clone, Debug)]
pub struct GroundTruth {
    counts: BTreeMap<String, KeyCounts>,
    posts: u64,
    posts_with_hashtags: u64,
}

#[derive(Default, Clone, Debug)]
struct KeyCounts {
    total: u64,
    slots: BTreeMap<SlotStart, u64>,
}

impl GroundTruth {
    /// Counts `post`: once for each of its distinct hashtag keys, in the slot of its timestamp.
    pub fn record(&mut self, post: &Post) {
        self.posts += 1;
        let keys = post.hashtag_keys();
        if keys.is_empty() {
            return;
        }
        self.posts_with_hashtags += 1;
        let slot = SlotStart::containing(post.timestamp);
        for key in keys {
            let counts = self.counts.entry(key).or_default();
            counts.total += 1;
            *counts.slots.entry(slot).or_default() += 1;
        }
    }

    /// Posts with hashtag `key` (a normalised key) in `slot`.
    pub fn count(&self, key: &str, slot: SlotStart) -> u64 {
        self.counts
            .get(key)
            .and_then(|c| c.slots.get(&slot))
            .copied()
            .unwrap_or(0)
    }

    /// Posts with hashtag `key` in all slots.
    pub fn total(&self, key: &str) -> u64 {
        self.counts.get(key).map_or(0, |c| c.total)
    }

    /// Posts recorded, with or without hashtags.
    pub fn posts(&self) -> u64 {
        self.posts
    }

    /// Posts recorded that count for at least one hashtag.
    pub fn posts_with_hashtags(&self) -> u64 {
        self.posts_with_hashtags
    }

    /// Every non-zero count as `(key, slot, count)`, ordered by key, then slot.
    pub fn iter(&self) -> impl Iterator<Item = (&str, SlotStart, u64)> {
        self.counts.iter().flat_map(|(key, c)| {
            c.slots
                .iter()
                .map(move |(&slot, &n)| (key.as_str(), slot, n))
        })
    }

    /// Every hashtag key seen, in order.
    pub fn hashtags(&self) -> impl Iterator<Item = &str> {
        self.counts.keys().map(String::as_str)
    }

    /// The `k` keys with the highest totals, highest first; ties broken by key.
    pub fn top(&self, k: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(&String, u64)> =
            self.counts.iter().map(|(key, c)| (key, c.total)).collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        all.into_iter()
            .take(k)
            .map(|(key, n)| (key.clone(), n))
            .collect()
    }
}

/// ASCII roots of compound tags, whitespace-separated.
const ASCII_ROOTS: &str = "\
    rust lang world cup music kpop news tech ai crypto game games day love art photo travel food \
    sport football soccer nba nfl movie film tv series anime manga book books science space \
    climate energy health fitness yoga coffee tea vegan pizza cat dog pets nature sunset beach \
    summer winter spring autumn monday friday weekend election vote policy economy market stocks \
    bitcoin ethereum nft startup dev code coding python java linux cloud data open source design \
    ux fashion style beauty makeup wedding family kids school uni job jobs work remote life mood \
    tbt ootd selfie live breaking update global local city night party concert tour album single \
    fan fans team win goal match final league champions olympics f1 racing esports stream \
    podcast radio earth ocean rain storm heat wave galaxy moon mars rocket robot quantum chip \
    phone android ios apple web app security privacy hack bug release launch sale deal shop gift \
    holiday xmas newyear birthday happy good morning vibes throwback motivation inspiration \
    blessed goals green peace pride justice history poetry writing indie retro pixel vinyl jazz \
    rock metal hiphop rap pop dance edm chess tennis golf cricket rugby hockey baseball marathon \
    cycling hiking camping garden plants baking recipe brunch wine beer burger sushi ramen taco \
    cake";

/// Well-known tags, as usually written, whitespace-separated; each also gets its lowercase
/// variant.
const CURATED: &str = "\
    rustlang WorldCup2026 kpop AI ChatGPT NBA Eurovision ClimateChange StarWars MondayMotivation \
    TBT OOTD BTS Bitcoin Web3 OpenSource CodeNewbie Olympics SuperBowl BlackFriday EarthDay \
    Oscars Grammys Halloween Ramadan Diwali F1 ChampionsLeague Wimbledon NASA Rust Python \
    JavaScript GameDev IndieDev Caturday FollowFriday Wordle PhotoOfTheDay NowPlaying";

/// Suffixes of ASCII tags, whitespace-separated.
const ASCII_SUFFIXES: &str = "\
    day life fans news live week gang time nation vibes";

/// Cyrillic roots, whitespace-separated.
const CYRILLIC: &str = "\
    москва привет футбол новости музыка россия киев спорт кино игры весна лето зима город друзья \
    любовь работа погода питер хоккей";

/// Chinese and Japanese roots, whitespace-separated.
const CJK: &str = "\
    東京 大阪 京都 北京 上海 台湾 日本 拉麺 寿司 桜 猫 音楽 映画 \
    アニメ ゲーム ニュース サッカー 野球 おはよう ありがとう";

/// Latin roots with diacritics (precomposed, NFKC-stable), whitespace-separated.
const ACCENTED: &str = "\
    café fútbol münchen españa méxico sãopaulo zürich crème brûlée garçon niño año français köln \
    øresund ålesund łódź kraków éxito noël";

/// Korean, Arabic, Hebrew, Devanagari, Greek and Thai roots, whitespace-separated.
const OTHER_SCRIPTS: &str = "\
    서울 케이팝 부산 한국 축구 مصر رمضان كرة ישראל שלום भारत क्रिकेट मुंबई ελλάδα αθήνα ποδόσφαιρο \
    ประเทศไทย กรุงเทพ";

/// First words of post texts, `|`-separated.
const OPENERS: &str = "\
    Just|So|Wow|Today|New|Finally|Breaking:|Good morning|Happy|Honestly|Can't believe|Big news:|\
    Reminder:|Tonight|Okay|Lol|Thread:|PSA:";

/// Filler words of post texts, whitespace-separated.
const FILLER: &str = "\
    the a new today is so this my we love look at what day can't believe check out our latest \
    thanks everyone who came to great time with friends here go again finally really excited \
    about it was amazing and of for in on just got back from best ever never more than you they \
    all good bad weather game match show tonight tomorrow live now watching reading listening \
    playing working coffee first last week weekend year people city home team win lost update \
    release version feels like thing things need want should could would maybe probably \
    definitely literally actually anyone else think know see hear read link below above details \
    soon big small little lot lots wait ready done start end free open close happy sad tired \
    hungry proud funny crazy wild cool nice beautiful weird vibe mood story photo video song \
    album book movie trip flight train traffic morning night afternoon evening";

/// Punctuation appended to filler words.
const PUNCTUATION: &[&str] = &[",", ".", "!", "?", "...", "!!", ":"];

/// Emoji placed between filler words.
const EMOJI: &[&str] = &[
    "😂", "🔥", "❤️", "🙏", "😍", "👀", "✨", "🎉", "😭", "👍", "💯", "🤔",
];

/// Syllables of user names.
const NAME_SYLLABLES: &[&str] = &[
    "ka", "ri", "to", "mi", "sa", "no", "lu", "ve", "da", "ne", "jo", "an", "el", "ma", "ro", "ti",
    "zo", "be", "ly", "ko", "na", "si", "ra", "mo", "pa", "te", "ji", "ha", "yu", "ke", "li", "fa",
];

/// Characters of `t.co` link paths.
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[cfg(test)]
mod tests {
    use super::*;
    use model::SLOT_MILLIS;

    /// 2026-05-01T12:00:00Z.
    const T0: i64 = 1_777_636_800_000;

    fn generate(cfg: &SyntheticConfig, n: usize, step_ms: i64) -> Vec<Post> {
        let mut src = SyntheticSource::new(cfg);
        (0..n)
            .map(|i| src.next_post(T0 + i as i64 * step_ms))
            .collect()
    }

    #[test]
    fn config_defaults_and_kebab_case() {
        let cfg: SyntheticConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, SyntheticConfig::default());
        assert!(cfg.validate().is_ok());
        let cfg: SyntheticConfig = serde_json::from_str(
            r#"{"seed":7,"zipf-exponent":1.3,"hashtag-post-ratio":0.5,"burst-every-secs":0}"#,
        )
        .unwrap();
        assert_eq!(
            (cfg.seed, cfg.zipf_exponent, cfg.hashtag_post_ratio),
            (7, 1.3, 0.5)
        );
        assert_eq!(cfg.burst_every_secs, 0);
        assert_eq!(cfg.vocabulary, 5000);
        assert!(serde_json::from_str::<SyntheticConfig>(r#"{"sed":7}"#).is_err());
        let bad = SyntheticConfig {
            vocabulary: 0,
            hashtag_post_ratio: 2.0,
            zipf_exponent: f64::NAN,
            ..SyntheticConfig::default()
        };
        let err = bad.validate().unwrap_err();
        assert!(
            err.contains("vocabulary")
                && err.contains("hashtag-post-ratio")
                && err.contains("zipf-exponent")
        );
        // `new` clamps instead of failing.
        let mut src = SyntheticSource::new(&bad);
        assert_eq!(src.vocabulary_len(), 1);
        let _ = src.next_post(T0);
    }

    #[test]
    fn same_seed_same_posts_other_seed_other_posts() {
        let cfg = SyntheticConfig::default();
        let a = generate(&cfg, 2000, 7);
        let b = generate(&cfg, 2000, 7);
        assert_eq!(a, b);
        let c = generate(&SyntheticConfig { seed: 43, ..cfg }, 2000, 7);
        assert_ne!(a, c);
    }

    #[test]
    fn post_shape() {
        let posts = generate(&SyntheticConfig::default(), 5000, 3);
        let mut last_id = 0;
        for p in &posts {
            assert!(p.tweetid > last_id, "tweetid increases");
            last_id = p.tweetid;
            assert!((1..=100_000).contains(&p.userid));
            assert!(!p.username.is_empty());
            assert_eq!(p.source.as_deref(), Some("synthetic"));
            assert_eq!(p.lang.as_deref(), Some("en"));
            assert_eq!(p.hashtags, None);
            assert!(!p.tweet.is_empty() && !p.tweet.starts_with(' ') && !p.tweet.contains("  "));
        }
        // The same author always has the same user name.
        let mut names = std::collections::HashMap::new();
        for p in &posts {
            assert_eq!(
                names.entry(p.userid).or_insert_with(|| p.username.clone()),
                &p.username
            );
        }
        // Snowflake-like ids even when timestamps repeat or go back.
        let mut src = SyntheticSource::new(&SyntheticConfig::default());
        let a = src.next_post(T0).tweetid;
        let b = src.next_post(T0).tweetid;
        let c = src.next_post(T0 - 60_000).tweetid;
        assert!(a < b && b < c);
        assert_eq!(a, (T0 - SNOWFLAKE_EPOCH_MS) << 22);
    }

    #[test]
    fn vocabulary_is_valid_distinct_and_varied() {
        let src = SyntheticSource::new(&SyntheticConfig::default());
        assert_eq!(src.vocabulary_len(), 5000);
        let mut keys = HashSet::new();
        let (mut variants, mut non_ascii, mut cyrillic, mut cjk) = (0, 0, 0, 0);
        for w in &src.words {
            assert!(keys.insert(w.key.clone()), "duplicate key {}", w.key);
            assert!(!w.displays.is_empty());
            for d in &w.displays {
                let mut chars = d.chars();
                assert!(
                    chars.next().is_some_and(char::is_alphabetic),
                    "{d:?} starts with a letter"
                );
                assert!(
                    d.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || is_mark(c)),
                    "{d:?} is letters, marks, digits and _"
                );
                assert_eq!(normalize_hashtag(d), w.key);
            }
            variants += usize::from(w.displays.len() > 1);
            non_ascii += usize::from(!w.key.is_ascii());
            cyrillic += usize::from(
                w.key
                    .chars()
                    .any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
            );
            cjk += usize::from(
                w.key
                    .chars()
                    .any(|c| ('\u{3040}'..='\u{9FFF}').contains(&c)),
            );
        }
        assert!(variants > 1000, "many words have case variants: {variants}");
        assert!(
            (250..=900).contains(&non_ascii),
            "some non-ASCII words: {non_ascii}"
        );
        assert!(cyrillic > 50 && cjk > 50, "cyrillic {cyrillic}, cjk {cjk}");
        // Large vocabularies stay distinct (the fallback kicks in).
        let big = SyntheticSource::new(&SyntheticConfig {
            vocabulary: 60_000,
            ..SyntheticConfig::default()
        });
        let keys: HashSet<&str> = big.words.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(keys.len(), 60_000);
    }

    /// Combining marks (Devanagari vowel signs, Thai vowels): hashtag characters, not alphanumeric.
    fn is_mark(c: char) -> bool {
        matches!(c, '\u{0900}'..='\u{097F}' | '\u{0E00}'..='\u{0E7F}' | '\u{0300}'..='\u{036F}')
    }

    #[test]
    fn extraction_recovers_exactly_the_intended_tags() {
        let mut src = SyntheticSource::new(&SyntheticConfig {
            hashtag_post_ratio: 0.5,
            ..SyntheticConfig::default()
        });
        for i in 0..20_000 {
            let post = src.next_post(T0 + i * 13);
            assert_eq!(
                post.hashtag_keys(),
                src.last_intended_keys(),
                "text: {:?}",
                post.tweet
            );
        }
    }

    #[test]
    fn about_one_post_in_eight_has_hashtags() {
        let mut src = SyntheticSource::new(&SyntheticConfig::default());
        let n = 100_000;
        let (mut with_tags, mut intended) = (0u32, 0u32);
        for i in 0..n {
            let post = src.next_post(T0 + i * 10);
            with_tags += u32::from(!post.hashtag_keys().is_empty());
            intended += u32::from(!src.picked.is_empty());
        }
        let ratio = f64::from(with_tags) / n as f64;
        assert!((ratio - 0.125).abs() < 0.005, "ratio {ratio}");
        assert_eq!(with_tags, intended);
    }

    #[test]
    fn zipf_skew_rank_1_beats_rank_100() {
        let cfg = SyntheticConfig {
            burst_every_secs: 0,
            ..SyntheticConfig::default()
        };
        let mut src = SyntheticSource::new(&cfg);
        let mut truth = GroundTruth::default();
        for i in 0..100_000 {
            truth.record(&src.next_post(T0 + i * 10));
        }
        let r1 = truth.total(src.key_of_rank(1).unwrap());
        let r10 = truth.total(src.key_of_rank(10).unwrap());
        let r100 = truth.total(src.key_of_rank(100).unwrap());
        assert!(
            r1 > r10 && r10 > r100,
            "rank 1: {r1}, rank 10: {r10}, rank 100: {r100}"
        );
        assert!(r1 > 20 * r100.max(1), "rank 1: {r1}, rank 100: {r100}");
        assert_eq!(truth.top(1)[0].0, src.key_of_rank(1).unwrap());
    }

    #[test]
    fn ground_truth_equals_a_recount() {
        let posts = generate(&SyntheticConfig::default(), 30_000, 50); // 25 minutes: 5+ slots
        let mut truth = GroundTruth::default();
        for p in &posts {
            truth.record(p);
        }
        let mut recount: std::collections::HashMap<(String, SlotStart), u64> = Default::default();
        let mut totals: std::collections::HashMap<String, u64> = Default::default();
        let mut with_tags = 0;
        for p in &posts {
            let keys = model::hashtag_keys(&p.tweet, None);
            with_tags += u64::from(!keys.is_empty());
            for k in keys {
                *recount
                    .entry((
                        k.clone(),
                        SlotStart(p.timestamp - p.timestamp.rem_euclid(SLOT_MILLIS)),
                    ))
                    .or_default() += 1;
                *totals.entry(k).or_default() += 1;
            }
        }
        assert_eq!(truth.posts(), 30_000);
        assert_eq!(truth.posts_with_hashtags(), with_tags);
        let iterated: Vec<(&str, SlotStart, u64)> = truth.iter().collect();
        assert_eq!(iterated.len(), recount.len());
        for (k, slot, n) in iterated {
            assert_eq!(recount[&(k.to_owned(), slot)], n);
            assert_eq!(truth.count(k, slot), n);
        }
        assert_eq!(truth.hashtags().count(), totals.len());
        for (k, n) in &totals {
            assert_eq!(truth.total(k), *n);
        }
        let slots: HashSet<SlotStart> = truth.iter().map(|(_, s, _)| s).collect();
        assert!(slots.len() >= 5);
        assert_eq!(truth.count("no-such-tag", SlotStart(T0)), 0);
        let top = truth.top(10);
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
        let mut by_total: Vec<(String, u64)> = totals.into_iter().collect();
        by_total.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_total.truncate(10);
        assert_eq!(top, by_total);
    }

    #[test]
    fn case_variants_normalise_to_one_key() {
        let mut src = SyntheticSource::new(&SyntheticConfig {
            hashtag_post_ratio: 1.0,
            ..SyntheticConfig::default()
        });
        // A frequent word with several written forms.
        let (rank, word) = src
            .words
            .iter()
            .enumerate()
            .find(|(_, w)| w.displays.len() >= 2)
            .map(|(i, w)| (i + 1, w.clone()))
            .unwrap();
        assert!(rank < 50, "a top-50 word has variants");
        let mut truth = GroundTruth::default();
        let mut forms_seen = HashSet::new();
        let mut posts_with_word = 0;
        for i in 0..50_000 {
            let post = src.next_post(T0 + i * 10);
            let mut has = false;
            for token in post.tweet.split(' ') {
                if let Some(form) = token.strip_prefix('#')
                    && word.displays.iter().any(|d| d == form)
                {
                    forms_seen.insert(form.to_owned());
                    has = true;
                }
            }
            posts_with_word += u64::from(has);
            truth.record(&post);
        }
        assert!(
            forms_seen.len() >= 2,
            "several forms of {:?} were written: {forms_seen:?}",
            word.key
        );
        assert_eq!(truth.total(&word.key), posts_with_word);
        for form in &word.displays {
            if form != &word.key {
                assert_eq!(
                    truth.total(form),
                    0,
                    "{form} is not counted apart from {}",
                    word.key
                );
            }
        }
    }

    #[test]
    fn a_word_bursts_fifty_fold_for_ten_minutes_of_every_half_hour() {
        let cfg = SyntheticConfig {
            vocabulary: 200,
            hashtag_post_ratio: 1.0,
            max_tags_per_post: 1,
            ..SyntheticConfig::default()
        };
        let mut src = SyntheticSource::new(&cfg);
        let start = T0 - T0.rem_euclid(1_800_000);
        let word = src.trending_at(start).unwrap().to_owned();
        assert_eq!(src.trending_at(start + 599_999), Some(word.as_str()));
        assert_eq!(src.trending_at(start + 600_000), None, "ten minutes only");
        assert_eq!(src.trending_at(start + 1_799_999), None);
        let later: HashSet<String> = (1..30)
            .map(|b| src.trending_at(start + b * 1_800_000).unwrap().to_owned())
            .collect();
        assert!(later.len() > 5, "bursts pick different words: {later:?}");
        let rank = src.words.iter().position(|w| w.key == word).unwrap() + 1;
        assert!(
            (2..=20).contains(&rank),
            "a rank between 1 % and 10 %: {rank}"
        );
        // The word's share of hashtags inside the burst and outside it, against its Zipf
        // probability p: f·p / (1 + (f − 1)·p) inside (50× relative to the others), p outside.
        let share = |src: &mut SyntheticSource, at: i64| {
            let mut truth = GroundTruth::default();
            for _ in 0..100_000 {
                truth.record(&src.next_post(at));
            }
            truth.total(&word) as f64 / truth.posts_with_hashtags() as f64
        };
        let p = (rank as f64).powf(-cfg.zipf_exponent) / src.zipf_norm;
        let inside = share(&mut src, start + 1000);
        let outside = share(&mut src, start + 900_000);
        let expected = 50.0 * p / (1.0 + 49.0 * p);
        assert!(
            (inside / expected - 1.0).abs() < 0.05,
            "inside {inside:.4}, expected {expected:.4} (p {p:.5})"
        );
        assert!(
            (outside / p - 1.0).abs() < 0.2,
            "outside {outside:.5}, p {p:.5}"
        );
        // Disabled bursts.
        for off in [
            SyntheticConfig {
                burst_every_secs: 0,
                ..cfg.clone()
            },
            SyntheticConfig {
                burst_secs: 0,
                ..cfg.clone()
            },
            SyntheticConfig {
                burst_factor: 1.0,
                ..cfg.clone()
            },
        ] {
            assert_eq!(SyntheticSource::new(&off).trending_at(start), None);
        }
    }

    #[test]
    fn the_diurnal_curve_peaks_in_the_evening_and_integrates_exactly() {
        let cfg = SyntheticConfig::default();
        let day0 = T0 - T0.rem_euclid(86_400_000);
        let at = |h: f64| day0 + (h * 3_600_000.0) as i64;
        assert!((cfg.rate_factor(at(19.0)) - 1.5).abs() < 1e-9);
        assert!((cfg.rate_factor(at(7.0)) - 0.5).abs() < 1e-9);
        assert!((cfg.rate_factor(at(1.0)) - 1.0).abs() < 1e-9);
        // A whole day has the mean rate; an evening hour more than a night hour.
        let day = cfg.posts_between(100.0, at(3.0), at(27.0));
        assert!((day - 100.0 * 86_400.0).abs() < 1e-3, "{day}");
        assert!(
            cfg.posts_between(100.0, at(18.5), at(19.5))
                > 2.5 * cfg.posts_between(100.0, at(6.5), at(7.5))
        );
        // The integral against a fine sum.
        let (from, to) = (at(5.25), at(9.75));
        let steps = 100_000;
        let dt = (to - from) as f64 / steps as f64;
        let sum: f64 = (0..steps)
            .map(|i| 100.0 * cfg.rate_factor(from + ((i as f64 + 0.5) * dt) as i64) * dt / 1000.0)
            .sum();
        let exact = cfg.posts_between(100.0, from, to);
        assert!((sum / exact - 1.0).abs() < 1e-6, "{sum} vs {exact}");
        let flat = SyntheticConfig {
            diurnal_amplitude: 0.0,
            ..cfg
        };
        assert_eq!(flat.posts_between(10.0, at(1.0), at(2.0)), 36_000.0);
    }

    #[test]
    fn texts_look_like_posts() {
        let posts = generate(&SyntheticConfig::default(), 20_000, 10);
        let count = |f: &dyn Fn(&Post) -> bool| posts.iter().filter(|p| f(p)).count();
        assert!(count(&|p| p.tweet.starts_with('@')) > 1000);
        assert!(count(&|p| p.tweet.contains("https://t.co/")) > 2000);
        let non_ascii_tags = count(&|p| {
            p.tweet
                .split(' ')
                .any(|t| t.starts_with('#') && !t.is_ascii())
        });
        assert!(non_ascii_tags > 20, "some non-Latin tags: {non_ascii_tags}");
    }

    /// Throughput check: `cargo test --release -p lambda-trends-collector --lib -- --ignored`.
    #[test]
    #[ignore = "timing; run in release"]
    fn generates_at_least_500k_posts_per_second() {
        let mut src = SyntheticSource::new(&SyntheticConfig::default());
        let n = 2_000_000;
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for i in 0..n {
            bytes += src.next_post(T0 + i / 100).tweet.len();
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        eprintln!("{rate:.0} posts/s, {bytes} bytes of text");
        if !cfg!(debug_assertions) {
            assert!(rate >= 500_000.0, "{rate:.0} posts/s");
        }
    }
}
