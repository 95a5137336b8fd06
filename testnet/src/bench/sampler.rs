//! Per-process resource figures read from `/proc` (Linux only; zeros elsewhere).

use std::path::Path;

/// CPU seconds (utime + stime) of a process.
pub fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| stat_cpu_seconds(&s))
        .unwrap_or(0.0)
}

/// Peak resident set size (VmHWM) of a process, in bytes.
pub fn peak_rss_bytes(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Total size of the files under `dir`, in bytes.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// CPU seconds (utime + stime) of a `/proc/.../stat` line, 0 if unreadable.
fn stat_cpu_seconds(stat: &str) -> f64 {
    let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11usize, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

/// CPU seconds used so far by this process's threads named `name` (their
/// `comm`; Linux truncates it to 15 bytes).
pub fn own_threads_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let wanted = name.get(..name.len().min(15)).unwrap_or(name);
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == wanted)
        })
        .map(|t| {
            std::fs::read_to_string(t.path().join("stat"))
                .map(|s| stat_cpu_seconds(&s))
                .unwrap_or(0.0)
        })
        .sum()
}

/// CPU seconds used so far by this whole process.
pub fn own_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .map(|s| stat_cpu_seconds(&s))
        .unwrap_or(0.0)
}

/// The machine's CPU time so far, all cores: (busy seconds, idle seconds),
/// from the first line of `/proc/stat` (busy: user, nice, system, irq,
/// softirq, steal; idle: idle, iowait). Counts every process on the host,
/// this run's and any other's.
pub fn machine_cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return (0.0, 0.0);
    };
    let Some(line) = stat.lines().next() else {
        return (0.0, 0.0);
    };
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0) as f64 / 100.0;
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    let idle = at(3) + at(4);
    (busy, idle)
}

/// The machine a run is on, as the report states it beside every figure.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub nproc: usize,
    /// `model name` of `/proc/cpuinfo`'s first processor.
    pub cpu_model: String,
    pub memory_gb: f64,
    /// `/proc/loadavg`'s three load averages.
    pub load_average: String,
}

pub fn host() -> Host {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let memory_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    Host {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        memory_gb: memory_kb as f64 / (1024.0 * 1024.0),
        load_average,
    }
}
