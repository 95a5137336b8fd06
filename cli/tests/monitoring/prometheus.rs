//! A Prometheus server for one test: Debian's `prometheus` binary on a free
//! loopback port, scraping a test network's nodes every second with the
//! project's alert rules (durations shortened), its configuration and data
//! in a temporary directory, killed when the guard drops.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set (by `.ci/run`, where `apt-get install prometheus` worked) to make
/// the test fail instead of skipping when `prometheus` is missing.
pub const REQUIRE_ENV: &str = "KOPNET_REQUIRE_PROMETHEUS";

/// How often the test server scrapes and evaluates the rules.
pub const INTERVAL: &str = "1s";
/// Every range selector (`[5m]`) of the rules becomes this in the copy the
/// test server loads.
pub const TEST_RANGE: &str = "10s";
/// Every `for:` of the rules becomes this in the copy.
pub const TEST_FOR: &str = "1s";

/// The `prometheus` binary on PATH, or why there is none.
pub fn binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("prometheus"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "prometheus not found on PATH (apt-get install prometheus)".to_string())
}

/// The alert rules with every range selector in an `expr:` line replaced by
/// `range` and every `for:` by `for_`: the same expressions on a scale of
/// seconds. (The rules file keeps each expression on one line and its
/// durations plain, `[2m]`, for this.)
pub fn shorten_durations(rules: &str, range: &str, for_: &str) -> String {
    let mut out = String::with_capacity(rules.len());
    for line in rules.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with("for:") {
            out.push_str(&format!("{indent}for: {for_}"));
        } else if trimmed.starts_with("expr:") {
            out.push_str(&replace_ranges(line, range));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `text` with each `[duration]` (letters and digits only) replaced by
/// `[range]`.
fn replace_ranges(text: &str, range: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        match rest.find(']') {
            Some(close) if rest[..close].chars().all(|c| c.is_ascii_alphanumeric()) => {
                out.push_str(range);
                rest = &rest[close..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

/// A running test server; killed on drop.
pub struct Prometheus {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Prometheus {
    /// Start `binary` in `dir` scraping `targets` (`host:port` of each
    /// node's `/metrics`) as job `kopnet`, with `rules` (a rules file's
    /// text) loaded.
    pub fn start(binary: &Path, dir: &Path, targets: &[String], rules: &str) -> Prometheus {
        let port = kopnet_testnet::cluster::ports::reserve(1).expect("a free port")[0];
        let rules_path = dir.join("alerts.yml");
        std::fs::write(&rules_path, rules).unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let config = format!(
            "global:\n  scrape_interval: {INTERVAL}\n  evaluation_interval: {INTERVAL}\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: kopnet\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: [{}]\n",
            rules_path.display(),
            targets.join(", ")
        );
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = dir.join("prometheus.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("prometheus starts");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Whether `/-/ready` answers 200.
    pub fn ready(&self) -> bool {
        crate::common::http()
            .get(format!("{}/-/ready", self.url))
            .send()
            .is_ok_and(|r| r.status().is_success())
    }

    /// `GET /api/v1/{path}` with `params`: the answer's `data`, or `None`
    /// when it fails.
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Option<Value> {
        let response = crate::common::http()
            .get(format!("{}/api/v1/{path}", self.url))
            .query(params)
            .send()
            .ok()?;
        let body: Value = response.json().ok()?;
        (body["status"] == "success").then(|| body["data"].clone())
    }

    /// The samples `expr` evaluates to now (`None` when the query fails).
    pub fn query(&self, expr: &str) -> Option<Vec<Value>> {
        let data = self.api("query", &[("query", expr)])?;
        data["result"].as_array().cloned()
    }

    /// The loaded rules: (name, expression, health) of each.
    pub fn rules(&self) -> Vec<(String, String, String)> {
        let Some(data) = self.api("rules", &[]) else {
            return Vec::new();
        };
        let groups = data["groups"].as_array().cloned().unwrap_or_default();
        groups
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (text("name"), text("query"), text("health"))
            })
            .collect()
    }

    /// The alerts pending or firing now.
    pub fn alerts(&self) -> Vec<Value> {
        self.api("alerts", &[])
            .and_then(|d| d["alerts"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Wait until `f` returns Some, or panic after `timeout` with `what`
    /// and the end of the server's log.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = f() {
                return value;
            }
            if Instant::now() >= deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                panic!("timed out waiting for {what}; Prometheus' log ends:\n{tail}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn durations_are_shortened_in_expressions_and_for_clauses_only() {
    let rules = "      - alert: A\n        expr: changes(x[2m]) == 0 and y{a=\"[b c]\"} > 1\n        for: 3m\n        annotations:\n          summary: \"[5m] stays\"\n";
    assert_eq!(
        shorten_durations(rules, "10s", "1s"),
        "      - alert: A\n        expr: changes(x[10s]) == 0 and y{a=\"[b c]\"} > 1\n        for: 1s\n        annotations:\n          summary: \"[5m] stays\"\n"
    );
}
