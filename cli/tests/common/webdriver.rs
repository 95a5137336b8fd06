//! A small blocking WebDriver client: one chromedriver process and one
//! browser session, driven over the W3C WebDriver protocol (plain JSON over
//! HTTP), plus the page helpers the browser tests use. Test code: a failed
//! WebDriver call panics with what it asked and what came back.

use super::wait_for;
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Deadline of one WebDriver request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long chromedriver gets to say it is ready.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long [`Browser::click`] waits for its target to become clickable.
const CLICKABLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between two looks at a page condition.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The first of `names` found on `PATH`.
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// A chromedriver process and one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
}

impl Browser {
    /// Start chromedriver on a free port and open a headless Chromium
    /// session with a 360-px-wide phone screen, in Indonesian.
    pub fn start(chromedriver: &Path, chromium: &Path) -> Browser {
        let port = kopnet_testnet::cluster::ports::reserve(1).unwrap()[0];
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap();
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
        };
        wait_for("chromedriver to be ready", DRIVER_START_TIMEOUT, || {
            let v: Value = browser
                .http
                .get(format!("{}/status", browser.base))
                .send()
                .ok()?
                .json()
                .ok()?;
            v["value"]["ready"].as_bool().filter(|r| *r)
        });
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--lang=id",
                         "--window-size=360,800"],
                // A 360-px-wide phone screen.
                "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 800, "pixelRatio": 2.0},
                                    "userAgent": "Mozilla/5.0 (Linux; Android 14) Mobile kopnet-test"},
            },
        }}});
        let v = browser.call("POST", "/session", caps);
        browser.session = v["sessionId"].as_str().expect("session id").to_string();
        browser
    }

    /// One WebDriver request; its `value` on success.
    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let response = request.send().expect("webdriver request");
        let status = response.status();
        let v: Value = response.json().expect("webdriver json");
        assert!(status.is_success(), "webdriver {method} {path}: {v}");
        v["value"].clone()
    }

    /// `path` under this session: `/session/{id}{path}`.
    pub fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Load `url` in the page.
    pub fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({ "url": url }));
    }

    /// Run a script in the page; what it returns.
    pub fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            json!({"script": script, "args": []}),
        )
    }

    /// Run an async script: it calls `done(value)` when finished.
    pub fn js_async(&self, body: &str) -> Value {
        let script = format!("const done = arguments[arguments.length - 1]; {body}");
        self.call(
            "POST",
            &self.s("/execute/async"),
            json!({"script": script, "args": []}),
        )
    }

    /// Text of the first element matching `css`, if it exists.
    pub fn text(&self, css: &str) -> Option<String> {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            json!(css)
        );
        self.js(&script).as_str().map(str::to_string)
    }

    /// Attribute `name` of the first element matching `css`, if both exist.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.getAttribute({}) : null;",
            json!(css),
            json!(name)
        );
        self.js(&script).as_str().map(str::to_string)
    }

    /// Whether the first element matching `css` is shown and enabled.
    pub fn visible(&self, css: &str) -> bool {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.offsetParent !== null && !e.disabled;",
            json!(css)
        );
        self.js(&script).as_bool().unwrap_or(false)
    }

    /// Whether the page fits the 360-px screen without sideways scrolling.
    pub fn fits_width(&self) -> bool {
        self.js("return document.documentElement.scrollWidth <= window.innerWidth;")
            .as_bool()
            .unwrap_or(false)
    }

    /// The WebDriver reference of the first element matching `css`.
    pub fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            json!({"using": "css selector", "value": css}),
        );
        match v[ELEMENT_KEY].as_str() {
            Some(id) => id.to_string(),
            None => panic!("no element id for {css}: {v}"),
        }
    }

    /// Wait until `css` is visible and enabled, then click it like a finger.
    pub fn click(&self, css: &str) {
        wait_for(&format!("{css} to be clickable"), CLICKABLE_TIMEOUT, || {
            self.visible(css).then_some(())
        });
        let id = self.element(css);
        self.call("POST", &self.s(&format!("/element/{id}/click")), json!({}));
    }

    /// Clear the field matching `css` and type `text` into it.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &self.s(&format!("/element/{id}/clear")), json!({}));
        self.call(
            "POST",
            &self.s(&format!("/element/{id}/value")),
            json!({ "text": text }),
        );
    }

    /// Save a PNG of the screen at `path`.
    pub fn screenshot(&self, path: &Path) {
        let v = self.call("GET", &self.s("/screenshot"), Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("screenshot"))
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }

    /// Wait for a page condition, showing the page's text if it never holds.
    pub fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Browser) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                let body = self.text("body").unwrap_or_default();
                let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
                panic!("timed out waiting for {what}; page says: {body}");
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
