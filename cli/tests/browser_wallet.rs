//! End to end through a real phone browser: headless Chromium driven over
//! WebDriver (Debian's `chromium` and `chromium-driver`) against a local
//! network of real `kopnet node run` processes.
//!
//! 1. `/wallet/selftest`: the wallet's JavaScript (codec, addresses, WebCrypto
//!    Ed25519 signatures, QR payloads, backup) against the Rust golden vectors.
//! 2. `/wallet` on a 360-px-wide phone screen: create a key in the page, read
//!    its address; a cooperative registers and mints for it with the CLI; the
//!    balance appears live. Too large a payment is refused with the reason in
//!    words; then pay a merchant of another cooperative from its
//!    payment-request QR payload (fee shown before confirming), watch it
//!    commit; both balances change on the pages (wallet and explorer) and
//!    through the API. Then a payment request (receive), a cash-out at another
//!    cooperative's counter, and an encrypted backup restored through the page.
//! 3. The explorer: transaction; the teller's counter view of the agent
//!    cooperative, which shows the page's cash-out and then, live, a cash-in;
//!    cooperatives (volume = on-us + cross, cross share of its own volume);
//!    a closed settlement window with its bilateral matrix; network health
//!    with the node's commit latency; the English switch.
//!
//! Screenshots go to `target/tmp/screenshots/`, or to `docs/screenshots/`
//! with `KOPNET_UPDATE_SCREENSHOTS=1`. The test skips (with the reason) when
//! `chromedriver` or `chromium` is not installed.
//!
//! The WebDriver client is a few blocking HTTP calls (the protocol is plain
//! JSON), so the test stays synchronous like the cluster helpers it uses.

mod common;

use base64::Engine as _;
use common::*;
use kopnet_ledger::{AccountKind, Action, KycTier};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str]) -> Option<PathBuf> {
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
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
}

impl Browser {
    fn start(chromedriver: &Path, chromium: &Path) -> Browser {
        let port = kopnet_testnet::cluster::ports::reserve(1).unwrap()[0];
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
        };
        wait_for("chromedriver to be ready", Duration::from_secs(20), || {
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

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
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

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({ "url": url }));
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            json!({"script": script, "args": []}),
        )
    }

    /// Run an async script: it calls `done(value)` when finished.
    fn js_async(&self, body: &str) -> Value {
        let script = format!("const done = arguments[arguments.length - 1]; {body}");
        self.call(
            "POST",
            &self.s("/execute/async"),
            json!({"script": script, "args": []}),
        )
    }

    /// Text of the first element matching `css`, if it exists.
    fn text(&self, css: &str) -> Option<String> {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            json!(css)
        );
        self.js(&script).as_str().map(str::to_string)
    }

    fn attr(&self, css: &str, name: &str) -> Option<String> {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.getAttribute({}) : null;",
            json!(css),
            json!(name)
        );
        self.js(&script).as_str().map(str::to_string)
    }

    fn visible(&self, css: &str) -> bool {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.offsetParent !== null && !e.disabled;",
            json!(css)
        );
        self.js(&script).as_bool().unwrap_or(false)
    }

    /// Whether the page fits the 360-px screen without sideways scrolling.
    fn fits_width(&self) -> bool {
        self.js("return document.documentElement.scrollWidth <= window.innerWidth;")
            .as_bool()
            .unwrap_or(false)
    }

    fn element(&self, css: &str) -> String {
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
    fn click(&self, css: &str) {
        wait_for(
            &format!("{css} to be clickable"),
            Duration::from_secs(15),
            || self.visible(css).then_some(()),
        );
        let id = self.element(css);
        self.call("POST", &self.s(&format!("/element/{id}/click")), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &self.s(&format!("/element/{id}/clear")), json!({}));
        self.call(
            "POST",
            &self.s(&format!("/element/{id}/value")),
            json!({ "text": text }),
        );
    }

    fn screenshot(&self, path: &Path) {
        let v = self.call("GET", &self.s("/screenshot"), Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("screenshot"))
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }

    /// Wait for a page condition, showing the page's text if it never holds.
    fn wait<T>(
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
            std::thread::sleep(Duration::from_millis(100));
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

fn screenshot_dir() -> PathBuf {
    if std::env::var_os("KOPNET_UPDATE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    }
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(kopnet()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kopnet {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let lead = digits.len() % 3;
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && i % 3 == lead {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

fn balance(cluster: &Cluster, node: usize, address: &str) -> Option<u64> {
    cluster.get(node, &format!("/v1/accounts/{address}"))?["balance"].as_u64()
}

#[test]
fn phone_wallet_pays_a_merchant_at_another_cooperative() {
    let Some(chromedriver) = find_program(&["chromedriver"]) else {
        println!("SKIPPED: chromedriver not found on PATH (apt-get install chromium-driver)");
        return;
    };
    let Some(chromium) = find_program(&["chromium", "chromium-browser", "google-chrome"]) else {
        println!("SKIPPED: chromium not found on PATH (apt-get install chromium)");
        return;
    };
    let started = Instant::now();
    let cluster = Cluster::start(4, 0);
    let browser = Browser::start(&chromedriver, &chromium);
    let shots = screenshot_dir();
    let payer_node = 0;
    let merchant_node = 1;
    let payer_coop = cluster.nodes[payer_node].id.clone();
    let merchant_coop = cluster.nodes[merchant_node].id.clone();
    let url = |i: usize, path: &str| format!("{}{path}", cluster.nodes[i].api);
    println!("cluster up in {:?}", started.elapsed());

    // 1. The JavaScript against the Rust golden vectors, in the real browser.
    browser.goto(&url(payer_node, "/wallet/selftest"));
    let state = browser.wait("the self-test", Duration::from_secs(30), |b| {
        b.attr("#summary", "data-state").filter(|s| s != "running")
    });
    let summary = browser.text("#summary").unwrap_or_default();
    println!("browser self-test: {summary}");
    assert_eq!(
        state,
        "passed",
        "self-test failed: {}",
        browser.text("#results").unwrap_or_default()
    );

    // 2. A new wallet: the key is generated in the page.
    browser.goto(&url(payer_node, "/wallet"));
    browser.click("#create-key");
    let address = browser.wait("the new address", Duration::from_secs(15), |b| {
        b.text("#my-address").filter(|a| a.starts_with("kop"))
    });
    println!("wallet address (made in the browser): {address}");
    // Not registered yet: the page shows the address as a QR for the teller.
    browser.wait("the register card", Duration::from_secs(15), |b| {
        b.visible("#register-card").then_some(())
    });
    assert!(browser
        .attr("#register-qr", "src")
        .unwrap_or_default()
        .starts_with("/v1/qr?data=kop"));

    // The teller registers and mints for it with the CLI.
    let net = cluster.net_dir();
    let coop_key = net.join("coops").join(format!("{payer_coop}.key"));
    let coop_key = coop_key.to_str().unwrap();
    let node_url = cluster.nodes[payer_node].api.clone();
    cli(&[
        "coop",
        "register-member",
        "--key",
        coop_key,
        "--node",
        &node_url,
        "--member",
        &address,
    ]);
    cli(&[
        "coop",
        "mint",
        "--key",
        coop_key,
        "--node",
        &node_url,
        "--member",
        &address,
        "--amount",
        "Rp100.000",
    ]);
    // The merchant, at another cooperative, registered by that cooperative.
    let merchant_key = kopnet_ledger::testkit::key_for("browser-test warung");
    let merchant = merchant_key.public().to_address();
    let mut teller = Wallet::new(cluster.coop_key(&merchant_coop), &cluster.chain_id);
    let next = cluster.get(merchant_node, "/v1/cooperatives").unwrap()["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == merchant_coop.as_str())
        .unwrap()["next_nonce"]
        .as_u64()
        .unwrap();
    teller.nonce = next - 1;
    let register = teller.sign(Action::RegisterMember {
        member: merchant_key.public(),
        kind: AccountKind::Merchant,
        tier: KycTier::Business,
    });
    assert!(cluster
        .submit(merchant_node, &register)
        .status()
        .is_success());
    assert_eq!(
        cluster.wait_tx(merchant_node, &register.hash(), Duration::from_secs(30)),
        "ok"
    );

    // The balance arrives on the page by itself (live events).
    browser.wait(
        "the minted balance on the page",
        Duration::from_secs(30),
        |b| b.attr("#balance", "data-value").filter(|v| v == "100000"),
    );
    assert_eq!(browser.text("#balance").as_deref(), Some("Rp100.000"));
    browser.wait("the home cooperative", Duration::from_secs(10), |b| {
        b.text("#home-coop").filter(|t| t.contains(&payer_coop))
    });
    browser.wait("the history", Duration::from_secs(10), |b| {
        b.text("#history").filter(|t| t.contains("Rp100.000"))
    });
    assert!(browser.fits_width(), "the wallet is wider than 360 px");
    browser.screenshot(&shots.join("wallet-home.png"));

    // 3. Pay the merchant through the page. First too much: the quote says
    // why in words and the confirm button stays off.
    browser.click("#nav-pay");
    browser.type_into("#pay-to", &merchant);
    browser.type_into("#pay-amount", "Rp500.000");
    browser.click("#pay-next");
    let why = browser.wait("the rejection reason", Duration::from_secs(15), |b| {
        b.visible("#confirm-error")
            .then(|| b.text("#confirm-error"))
            .flatten()
    });
    println!("quote for Rp500.000: {why}");
    assert_eq!(why, "saldo tidak cukup");
    assert!(!browser.visible("#confirm-go"), "confirm must be disabled");
    browser.click("section[data-view=confirm] button.back");
    // Then the real payment, from the merchant's payment-request QR payload
    // (what a scan yields): the page fills in the amount and shows the
    // merchant's name; the fee is shown before confirming.
    let payload = http()
        .get(url(merchant_node, "/v1/qr/pay"))
        .query(&[
            ("to", merchant.as_str()),
            ("amount", "25000"),
            ("name", "Warung Bu Sri"),
            ("city", "Yogyakarta"),
            ("ref", "INV-042"),
            ("format", "text"),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap();
    browser.click("#nav-pay");
    browser.type_into("#pay-amount", "");
    browser.type_into("#pay-to", &payload);
    browser.wait("the amount from the QR", Duration::from_secs(10), |b| {
        b.js("return document.querySelector('#pay-amount').value;")
            .as_str()
            .filter(|v| *v == "25.000")
            .map(str::to_string)
    });
    assert!(browser
        .text("#pay-merchant")
        .unwrap_or_default()
        .contains("Warung Bu Sri"));
    browser.type_into("#pay-memo", "bakso");
    browser.click("#pay-next");
    let fee = browser.wait("the quoted fee", Duration::from_secs(15), |b| {
        b.text("#confirm-fee")
    });
    let payee = browser.text("#confirm-payee").unwrap_or_default();
    let total = browser.text("#confirm-total").unwrap_or_default();
    println!("confirm screen: fee {fee}, merchant receives {payee}, total {total}");
    // Cross-cooperative merchant payment: 0.7 % out of the merchant's receipt.
    assert_eq!(fee, "Rp0");
    assert_eq!(payee, "Rp24.825");
    assert_eq!(total, "Rp25.000");
    browser.screenshot(&shots.join("wallet-pay-confirm.png"));
    browser.click("#confirm-go");
    let status = browser.wait("the payment to commit", Duration::from_secs(30), |b| {
        b.attr("#tx-status", "data-state")
            .filter(|s| s != "pending")
    });
    let status_text = browser.text("#tx-status").unwrap_or_default();
    println!("payment status on the page: {status_text}");
    assert_eq!(status, "committed", "{status_text}");
    let hash = browser.attr("#tx-status", "data-hash").unwrap();

    // Both balances, through the API (on the merchant's node too) ...
    let payer_balance = wait_for("payer balance via API", Duration::from_secs(15), || {
        balance(&cluster, merchant_node, &address).filter(|b| *b == 75_000)
    });
    let merchant_balance = wait_for("merchant balance via API", Duration::from_secs(15), || {
        balance(&cluster, payer_node, &merchant).filter(|b| *b == 24_825)
    });
    println!("API: payer {payer_balance}, merchant {merchant_balance}, tx {hash}");
    let tx = cluster
        .get(merchant_node, &format!("/v1/tx/{hash}"))
        .unwrap();
    assert_eq!(tx["result"]["code"], "ok");
    assert_eq!(tx["kind"], "payment");

    // ... and on the pages: the wallet's home, then the explorer's account page.
    browser.click("#confirm-done");
    browser.wait(
        "the new balance on the wallet",
        Duration::from_secs(15),
        |b| b.attr("#balance", "data-value").filter(|v| v == "75000"),
    );
    // 4. Receive: a payment request as an EMVCo QR code, checked by the server.
    browser.click("#nav-receive");
    browser.type_into("#rc-amount", "15.000");
    browser.type_into("#rc-ref", "INV-7");
    browser.type_into("#rc-name", "Ani");
    browser.click("#rc-make");
    let payload = browser.wait("the payment request", Duration::from_secs(10), |b| {
        b.text("#rc-payload").filter(|p| p.starts_with("000201"))
    });
    let parsed: Value = http()
        .get(url(payer_node, "/v1/qr/parse"))
        .query(&[("payload", &payload)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(parsed["to"], address.as_str(), "{parsed}");
    assert_eq!(parsed["amount"], 15000);
    assert_eq!(parsed["reference"], "INV-7");
    browser.wait("the QR image", Duration::from_secs(10), |b| {
        b.js("const i = document.querySelector('#rc-qr'); return i.complete && i.naturalWidth > 0;")
            .as_bool()
            .filter(|ok| *ok)
    });
    browser.screenshot(&shots.join("wallet-receive.png"));
    browser.click("section[data-view=receive] button.back");

    // 5. Cash-out at the merchant's cooperative's counter, fee shown first.
    browser.click("#nav-cashout");
    // Pick the counter (a <select>; options are not clickable elements on their own).
    let picked = browser.wait("the cooperative list", Duration::from_secs(10), |b| {
        b.js(&format!(
            "const s = document.querySelector('#co-agent'); \
             if (![...s.options].some(o => o.value === '{merchant_coop}')) return null; \
             s.value = '{merchant_coop}'; return s.value;"
        ))
        .as_str()
        .map(str::to_string)
    });
    assert_eq!(picked, merchant_coop);
    browser.type_into("#co-amount", "10.000");
    browser.click("#co-next");
    let fee = browser.wait("the cash-out fee", Duration::from_secs(15), |b| {
        b.text("#confirm-agent")?;
        b.text("#confirm-fee")
    });
    assert_eq!(
        fee,
        "Rp3.500",
        "agent Rp2.500 + home cooperative Rp1.000: {:?}",
        browser.text("#confirm-card")
    );
    assert_eq!(browser.text("#confirm-total").as_deref(), Some("Rp13.500"));
    browser.click("#confirm-go");
    let status = browser.wait("the cash-out to commit", Duration::from_secs(30), |b| {
        b.attr("#tx-status", "data-state")
            .filter(|s| s != "pending")
    });
    assert_eq!(status, "committed", "{:?}", browser.text("#tx-status"));
    let cash_out_hash = browser.attr("#tx-status", "data-hash").unwrap();
    wait_for(
        "payer balance after cash-out",
        Duration::from_secs(15),
        || balance(&cluster, merchant_node, &address).filter(|b| *b == 61_500),
    );
    browser.click("#confirm-done");
    browser.wait("the balance after cash-out", Duration::from_secs(15), |b| {
        b.attr("#balance", "data-value").filter(|v| v == "61500")
    });

    browser.goto(&url(
        merchant_node,
        &format!("/explorer#/account/{merchant}"),
    ));
    browser.wait(
        "the merchant's balance in the explorer",
        Duration::from_secs(15),
        |b| b.text("#main").filter(|t| t.contains("Rp24.825")),
    );

    // 4. The explorer: the transaction and the cooperatives page.
    browser.goto(&url(merchant_node, &format!("/explorer#/tx/{hash}")));
    browser.wait("the transaction page", Duration::from_secs(15), |b| {
        b.text("#main")
            .filter(|t| t.contains("tercatat") && t.contains("Rp25.000"))
    });
    // The merchant discount, 0.7 % of Rp25.000, as the fees the payment charged.
    assert!(browser.text("#main").unwrap_or_default().contains("Rp175"));

    // The teller's counter: from the agent cooperative's card to its
    // counter view, which lists the page's cash-out ...
    browser.goto(&url(merchant_node, "/explorer#/coops"));
    browser.click(&format!("[data-coop=\"{merchant_coop}\"] a.counter-link"));
    let row = format!("#counter-list li[data-tx=\"{cash_out_hash}\"]");
    let text = browser.wait(
        "the cash-out at the counter",
        Duration::from_secs(15),
        |b| b.text(&row),
    );
    println!("counter row: {text}");
    assert!(text.contains("Tarik tunai"), "{text}");
    assert!(
        text.contains("Rp10.000") && text.contains("Rp3.500"),
        "{text}"
    );
    assert_eq!(browser.attr(&row, "data-result").as_deref(), Some("ok"));
    assert!(browser
        .attr(&format!("{row} a[href^=\"#/account/\"]"), "href")
        .unwrap_or_default()
        .ends_with(&address));
    // ... and only cash at this counter (not the payment).
    assert!(browser.text(&format!("[data-tx=\"{hash}\"]")).is_none());
    // A cash-in at the same counter lands on the open page by itself: the
    // teller registers the merchant's Rp20.000 (on-us: no fee).
    browser.js("window.kopnetNotReloaded = true; return null;");
    let cash_in = teller.sign(Action::CashIn {
        agent: kopnet_ledger::CoopId::new(&merchant_coop).unwrap(),
        member: merchant_key.public(),
        amount: 20_000,
    });
    assert!(cluster
        .submit(merchant_node, &cash_in)
        .status()
        .is_success());
    let cash_in_hash = cash_in.hash().to_hex();
    let first = browser.wait(
        "the live cash-in at the counter",
        Duration::from_secs(30),
        |b| {
            b.attr("#counter-list li:first-child", "data-tx")
                .filter(|h| *h == cash_in_hash)
        },
    );
    assert_eq!(first, cash_in_hash, "newest first");
    let text = browser
        .text(&format!("[data-tx=\"{cash_in_hash}\"]"))
        .unwrap_or_default();
    assert!(
        text.contains("Setor tunai") && text.contains("Rp20.000") && text.contains("Rp0"),
        "{text}"
    );
    assert_eq!(
        browser.js("return window.kopnetNotReloaded === true;"),
        json!(true),
        "the row came live, without reloading the page"
    );
    assert!(browser.text(&row).is_some(), "the cash-out is still listed");
    assert!(
        browser.fits_width(),
        "the counter page is wider than 360 px"
    );
    browser.screenshot(&shots.join("explorer-counter.png"));
    // The payer's own cooperative took no cash at its counter.
    browser.goto(&url(
        merchant_node,
        &format!("/explorer#/counter/{payer_coop}"),
    ));
    browser.wait("the other counter", Duration::from_secs(15), |b| {
        b.text("#counter-empty")
    });
    assert!(browser.text(&row).is_none());
    let coop = cluster.get(merchant_node, "/v1/cooperatives").unwrap()["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == merchant_coop.as_str())
        .cloned()
        .unwrap();
    assert_eq!(coop["merchants"], 1);
    // The merchant's cooperative, by hand. Cross: in 25.000 (payment) +
    // 10.000 + 2.500 (cash-out and its agent fee), out 75 + 25 (the
    // discount's shares for the payer's cooperative and the network fund).
    // On-us: 75 (its own share of the discount) + 20.000 (the cash-in).
    assert_eq!(
        (coop["gross_received"].as_u64(), coop["gross_sent"].as_u64()),
        (Some(37_500), Some(100))
    );
    assert_eq!(coop["on_us_volume"], 20_075, "{coop}");
    assert_eq!(coop["cross_volume"], 37_600);
    assert_eq!(coop["volume"], 57_675);
    let volume = format!("Rp{}", group_thousands(57_675));
    let card = format!("[data-coop=\"{merchant_coop}\"]");
    browser.goto(&url(merchant_node, "/explorer#/coops"));
    browser.wait("the cooperatives page", Duration::from_secs(15), |b| {
        b.text(&format!("{card} [data-field=volume]"))
            .filter(|t| t.contains(&volume))
    });
    // Cross share of its own volume: 37.600 / 57.675.
    assert_eq!(
        browser
            .text(&format!("{card} [data-field=cross-share] strong"))
            .as_deref(),
        Some("65,2 %")
    );
    // No amount wraps mid-number: each amount is one line high.
    let wrapped = browser.js("return [...document.querySelectorAll('#main .amount')] \
           .filter((e) => e.getClientRects().length > 1).map((e) => e.textContent);");
    assert_eq!(wrapped, json!([]), "amounts wrapped across lines");
    assert!(
        browser.fits_width(),
        "the cooperatives page is wider than 360 px"
    );
    browser.screenshot(&shots.join("explorer-cooperatives.png"));
    // Close the settlement window: the explorer shows its net positions and
    // the bilateral matrix.
    cli(&[
        "coop",
        "close-window",
        "--key",
        coop_key,
        "--node",
        &node_url,
    ]);
    browser.goto(&url(merchant_node, "/explorer#/settlement"));
    let settlement = browser.wait("the closed window", Duration::from_secs(15), |b| {
        b.text("#main")
            .filter(|t| t.contains("Jendela 0 — Belum diselesaikan"))
    });
    assert!(settlement.contains("Matriks bilateral"), "{settlement}");
    browser.screenshot(&shots.join("explorer-settlement.png"));
    assert!(settlement.contains("Rp37.400"), "{settlement}");
    // Network health: the node's own commit latency and block interval are
    // there on the first render (the merchant's node took the teller's
    // transactions, so it has latencies to report).
    let status = cluster.get(merchant_node, "/v1/status").unwrap();
    assert!(
        status["commit_latency"]["samples"].as_u64() >= Some(2),
        "{status}"
    );
    assert!(
        status["block_interval"]["intervals"].as_u64() >= Some(1),
        "{status}"
    );
    browser.goto(&url(merchant_node, "/explorer#/network"));
    let network = browser.wait("network health", Duration::from_secs(15), |b| {
        b.text("#main")
            .filter(|t| t.contains(&merchant_coop) && t.contains("Peer"))
    });
    assert!(!network.contains("undefined"), "{network}");
    let latency = browser
        .text("[data-field=commit-latency]")
        .unwrap_or_default();
    println!("network page: commit latency {latency}");
    assert!(
        latency.starts_with("p50 ") && latency.contains(" · p99 "),
        "{latency}"
    );
    let interval = browser
        .text("[data-field=block-interval]")
        .unwrap_or_default();
    // "734 ms" (or "1,2 s"), then "rata-rata 13 jeda terakhir; ...".
    let (mean, detail) = interval.split_once("rata-rata ").unwrap_or_default();
    assert!(
        mean.starts_with(|c: char| c.is_ascii_digit())
            && (mean.ends_with(" ms") || mean.ends_with(" s")),
        "{interval}"
    );
    assert!(detail.contains(" jeda terakhir"), "{interval}");
    let health = browser.text("#main dl.kv").unwrap_or_default();
    for english in ["role", "round", "syncing", "mempool", "false", "true", "…"] {
        assert!(
            !health.contains(english),
            "untranslated {english:?}: {health}"
        );
    }
    assert!(
        health.contains("Peran") && health.contains("Putaran"),
        "{health}"
    );
    assert!(
        browser.fits_width(),
        "the network page is wider than 360 px"
    );
    browser.screenshot(&shots.join("explorer-network.png"));
    for view in ["#/settlement", "#/network", "#/"] {
        browser.goto(&url(merchant_node, &format!("/explorer{view}")));
        browser.wait(&format!("explorer {view}"), Duration::from_secs(15), |b| {
            b.attr("#main", "data-ready").filter(|r| r == "true")
        });
        assert!(
            browser.text("#main .error").is_none(),
            "explorer {view}: {}",
            browser.text("#main").unwrap_or_default()
        );
    }
    // The English switch.
    browser.click("#lang");
    browser.wait("English labels", Duration::from_secs(5), |b| {
        b.text("nav.tabs").filter(|t| t.contains("Cooperatives"))
    });
    browser.goto(&url(merchant_node, "/explorer#/network"));
    browser.wait("English network labels", Duration::from_secs(15), |b| {
        b.text("#main")
            .filter(|t| t.contains("Role") && t.contains("Commit latency"))
    });
    browser.click("#lang");

    // 6. Backup and restore: export an encrypted backup of the page's key,
    // remove the key from the browser, restore it through the page.
    browser.goto(&url(payer_node, "/wallet"));
    browser.wait("the wallet", Duration::from_secs(15), |b| {
        b.attr("#balance", "data-value").filter(|v| v == "61500")
    });
    let backup = browser.js_async(
        "import('/static/keys.js').then(async (k) => { \
           const key = await k.load(); \
           const text = await k.exportBackup(key, 'sandi rahasia kopnet'); \
           await k.forget(); done(text); }).catch((e) => done('error: ' + e));",
    );
    let backup = backup.as_str().unwrap().to_string();
    assert!(backup.contains("kopnet-wallet-backup"), "{backup}");
    assert!(backup.contains(&address));
    let file = cluster.dir.path().join("wallet-backup.json");
    std::fs::write(&file, &backup).unwrap();
    browser.goto(&url(payer_node, "/wallet"));
    browser.click("section[data-view=setup] summary");
    let input = browser.element("#restore-file");
    browser.call(
        "POST",
        &browser.s(&format!("/element/{input}/value")),
        json!({ "text": file.to_str().unwrap() }),
    );
    browser.type_into("#restore-pass", "salah");
    browser.click("#restore-go");
    browser.wait(
        "the wrong-passphrase message",
        Duration::from_secs(15),
        |b| {
            b.visible("#error")
                .then(|| b.text("#error"))
                .flatten()
                .filter(|t| t.contains("Kata sandi salah"))
        },
    );
    browser.type_into("#restore-pass", "sandi rahasia kopnet");
    browser.click("#restore-go");
    browser.wait("the restored wallet", Duration::from_secs(20), |b| {
        b.attr("#balance", "data-value").filter(|v| v == "61500")
    });
    assert_eq!(
        browser.text("#my-address").as_deref(),
        Some(address.as_str())
    );
    println!("browser test done in {:?}", started.elapsed());
}

#[test]
fn pages_and_assets_have_types_and_cache_headers() {
    // No browser needed: one node is enough to check what the server sends.
    let cluster = Cluster::start(1, 0);
    let base = &cluster.nodes[0].api;
    let client = http();
    for (path, ty) in [
        ("/wallet", "text/html"),
        ("/explorer", "text/html"),
        ("/static/app.css", "text/css"),
        ("/static/codec.js", "text/javascript"),
        ("/static/test/vectors.json", "application/json"),
        ("/sw.js", "text/javascript"),
    ] {
        let r = client.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(ty),
            "{path}"
        );
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        let etag = h["etag"].to_str().unwrap().to_string();
        let again = client
            .get(format!("{base}{path}"))
            .header("if-none-match", &etag)
            .send()
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    let missing = client.get(format!("{base}/static/nope.js")).send().unwrap();
    assert_eq!(missing.status(), 404);
    let merchant = kopnet_ledger::testkit::key_for("warung-bu-sri")
        .public()
        .to_address();
    let svg = client
        .get(format!(
            "{base}/v1/qr/pay?to={merchant}&amount=25000&ref=INV-042"
        ))
        .send()
        .unwrap();
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().unwrap().contains("<svg"));
    let text = client
        .get(format!(
            "{base}/v1/qr/pay?to={merchant}&amount=25000&ref=INV-042&name=Warung%20Bu%20Sri&city=Yogyakarta&mcc=5812&format=text"
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let parsed: Value = client
        .get(format!("{base}/v1/qr/parse"))
        .query(&[("payload", &text)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(parsed["to"], merchant.as_str());
    assert_eq!(parsed["amount"], 25000);
    let mut bad = text.clone();
    bad.replace_range(bad.len() - 4.., "0000");
    let r = client
        .get(format!("{base}/v1/qr/parse"))
        .query(&[("payload", &bad)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().unwrap();
    assert_eq!(v["error"]["code"], "bad_payment_request");
    for bad in [
        "/v1/qr",
        "/v1/qr?data=",
        "/v1/qr/pay?to=kop123",
        "/v1/qr/pay?to=x&amount=-1",
    ] {
        let r = client.get(format!("{base}{bad}")).send().unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let long = "x".repeat(600);
    let r = client
        .get(format!("{base}/v1/qr?data={long}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}
