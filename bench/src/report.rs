//! Percentiles and the resident memory of the process under test.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Percentiles of sorted microsecond samples, in milliseconds.
pub fn percentiles(sorted_us: &[u32]) -> [f64; 5] {
    let n = sorted_us.len();
    let at = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let index = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
        f64::from(sorted_us[index]) / 1000.0
    };
    [at(0.50), at(0.90), at(0.99), at(0.999), at(1.0)]
}

/// `p50 … max` as one line.
pub fn latency_line(label: &str, samples: &mut [u32]) -> String {
    samples.sort_unstable();
    let [p50, p90, p99, p999, max] = percentiles(samples);
    format!("  {label} ms: p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  p99.9 {p999:.2}  max {max:.2}")
}

/// A field of `/proc/{pid}/status` in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Samples VmRSS every 100 ms and keeps the largest value, until dropped.
pub struct RssSampler {
    pid: u32,
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, done) = (peak_kib.clone(), stop.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(rss) = status_kib(pid, "VmRSS:") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssSampler {
            pid,
            peak_kib,
            stop,
        }
    }

    /// `alfred RSS: now …, peak sampled during the run …, VmHWM …` in MiB.
    pub fn line(&self) -> String {
        let mib = |kib: Option<u64>| {
            kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        format!(
            "  alfred RSS: now {}, peak during the run {}, VmHWM (peak since start) {}",
            mib(status_kib(self.pid, "VmRSS:")),
            mib(Some(self.peak_kib.load(Ordering::Relaxed))),
            mib(status_kib(self.pid, "VmHWM:")),
        )
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
