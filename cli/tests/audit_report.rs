//! The regulator's desk on a `kopnet testnet up` network: the run plants a
//! cash-in over the (local) reporting threshold, a structuring pattern and
//! a dormant account that wakes 55 s later; `kopnet audit report --format
//! csv`, signed with the observer's key, lists each planted case and no
//! flag on any ordinary demo account. The endpoint refuses unsigned
//! callers, keys that are not a registered observer's, and is not served
//! by validators.

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const DAY_MS: u64 = 86_400_000;
const WIB_OFFSET_MS: u64 = 7 * 3_600_000;

/// `YYYY-MM-DD` of the WIB day `days` since 1970-01-01.
fn day_name(days: u64) -> String {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Yesterday and tomorrow (WIB): a period around the run, whatever the
/// hour it runs at.
fn period_around_now() -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let today = (now + WIB_OFFSET_MS) / DAY_MS;
    (day_name(today - 1), day_name(today + 1))
}

fn report(api: &str, key: &Path, from: &str, to: &str, format: &str) -> std::process::Output {
    Command::new(kopnet())
        .args(["audit", "report", "--node", api, "--key"])
        .arg(key)
        .args(["--from", from, "--to", to, "--format", format])
        .output()
        .unwrap()
}

/// The rows of the CSV section `# name` (header row included).
fn section<'a>(csv: &'a str, name: &str) -> Vec<&'a str> {
    csv.lines()
        .skip_while(|l| *l != format!("# {name}"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

#[test]
fn audit_report_lists_the_planted_cases_and_no_flag_on_ordinary_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let mut child = Command::new(kopnet())
        .args(["testnet", "up", "--dir"])
        .arg(&net)
        .args(["--rate", "40", "--members", "10", "--window-secs", "10"])
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let cases_file = net.join("audit-cases.json");
    let read_cases = || -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(&cases_file).ok()?).ok()
    };
    // The dormant account wakes 55 s after the cases are planted.
    let cases = wait_for(
        "the dormant account to wake",
        Duration::from_secs(240),
        || read_cases().filter(|c| c["dormant_woke"] == true),
    );
    let api = cases["observer_api"].as_str().unwrap().to_string();
    let key = std::path::PathBuf::from(cases["regulator_key"].as_str().unwrap());
    let planted: Vec<String> = ["cash_in_over_threshold", "structuring", "dormant"]
        .iter()
        .map(|k| cases[*k].as_str().unwrap().to_string())
        .collect();
    let (from, to) = period_around_now();
    // The observer may be a block behind the node that took the wake-up.
    let csv = wait_for("the dormant flag", Duration::from_secs(30), || {
        let out = report(&api, &key, &from, &to, "csv");
        assert!(
            out.status.success(),
            "audit report failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let csv = String::from_utf8(out.stdout).unwrap();
        csv.contains(&format!("dormant_awakening,{}", planted[2]))
            .then_some(csv)
    });
    eprintln!("{csv}");

    // 1. The cash-in over the threshold, with its home and the other
    // cooperative's counter and teller.
    let cash = section(&csv, "cash_transactions");
    let over: Vec<&&str> = cash
        .iter()
        .filter(|r| r.contains(&planted[0]) && r.contains(",cash_in,12000000,"))
        .collect();
    assert_eq!(over.len(), 1, "{csv}");
    let columns: Vec<&str> = over[0].split(',').collect();
    assert_eq!(columns.len(), 12, "{}", over[0]);
    assert_ne!(
        columns[2], columns[10],
        "home and counter differ: {}",
        over[0]
    );
    assert!(
        columns[11].starts_with("kop"),
        "a teller served it: {}",
        over[0]
    );
    // The structuring member's day passes the threshold too (3 × 9.000.000).
    assert!(
        cash.iter()
            .any(|r| r.contains(&format!("{},", planted[1])) && r.contains(",27000000,")),
        "{csv}"
    );
    // 2. The flags: structuring and the dormant account, and nothing on any
    // ordinary demo account.
    let flags = section(&csv, "flags");
    assert!(
        flags
            .iter()
            .any(|r| r.starts_with(&format!("structuring,{}", planted[1]))),
        "{csv}"
    );
    assert!(
        flags
            .iter()
            .any(|r| r.starts_with(&format!("dormant_awakening,{}", planted[2]))),
        "{csv}"
    );
    for row in flags.iter().skip(1) {
        let account = row.split(',').nth(1).unwrap();
        assert!(
            planted.iter().any(|p| p == account),
            "a flag on an ordinary account: {row}"
        );
    }
    // 3. A statement for every cooperative and the network fund, each
    // with the windows closed so far.
    let layout: Value =
        serde_json::from_str(&std::fs::read_to_string(net.join("testnet.json")).unwrap()).unwrap();
    let coops = layout["cooperatives"].as_array().unwrap();
    let statements = section(&csv, "statements");
    assert_eq!(statements.len(), 1 + coops.len() + 1, "{csv}");
    for coop in coops {
        let id = coop["id"].as_str().unwrap();
        let row = statements
            .iter()
            .find(|r| r.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("no statement for {id}: {csv}"));
        let windows: u64 = row.split(',').nth(1).unwrap().parse().unwrap();
        assert!(windows > 0, "{row}");
    }

    // The JSON is the node's report as it is.
    let json = report(&api, &key, &from, &to, "json");
    assert!(json.status.success());
    let body: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(body["cash_transactions"]["threshold"], 10_000_000);
    assert_eq!(body["complete"], true);

    // Who may not read it: anyone unsigned, a cooperative's key, and no
    // validator serves it.
    let url = format!("{api}/v1/audit/report?from={from}&to={to}");
    let anonymous = http().get(&url).send().unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let coop_key = layout["cooperatives"][0]["key"].as_str().unwrap();
    let refused = report(&api, Path::new(coop_key), &from, &to, "csv");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not_a_regulator"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let validator = layout["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["role"] == "validator")
        .unwrap()["api_url"]
        .as_str()
        .unwrap()
        .to_string();
    let elsewhere = report(&validator, &key, &from, &to, "csv");
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("not_an_observer"));
    // A period too long is refused.
    let long = report(&api, &key, "2026-01-01", "2026-12-31", "csv");
    assert!(String::from_utf8_lossy(&long.stderr).contains("bad_period"));

    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let text = lines.join().unwrap().join("\n");
    assert!(exit.success(), "testnet up exit {exit:?}:\n{text}");
    assert!(text.contains("audit cases planted"), "{text}");
}
