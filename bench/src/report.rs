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

/// Samples the VmRSS of each process every 100 ms and keeps each one's largest value, and the
/// largest sum over all of them (replicas peak at different moments, so the peak of the sum can
/// be below the sum of the peaks), until dropped.
pub struct RssSampler {
    pids: Vec<u32>,
    peaks_kib: Arc<Vec<AtomicU64>>,
    peak_total_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    /// Samples `pids`; `None` without any.
    pub fn start(pids: &[u32]) -> Option<RssSampler> {
        if pids.is_empty() {
            return None;
        }
        let peaks_kib: Arc<Vec<AtomicU64>> =
            Arc::new(pids.iter().map(|_| AtomicU64::new(0)).collect());
        let peak_total_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (peaks, peak_total, done) = (peaks_kib.clone(), peak_total_kib.clone(), stop.clone());
        let sampled = pids.to_vec();
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let mut total = 0;
                for (pid, peak) in sampled.iter().zip(peaks.iter()) {
                    if let Some(rss) = status_kib(*pid, "VmRSS:") {
                        peak.fetch_max(rss, Ordering::Relaxed);
                        total += rss;
                    }
                }
                peak_total.fetch_max(total, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Some(RssSampler {
            pids: pids.to_vec(),
            peaks_kib,
            peak_total_kib,
            stop,
        })
    }

    /// One process: `alfred RSS: now …, peak sampled during the run …, VmHWM …` in MiB. Several:
    /// that line for each (`alfred pid N RSS: …`), then their sums (`alfred RSS, N processes
    /// together: …`).
    pub fn lines(&self) -> Vec<String> {
        let mib = |kib: Option<u64>| {
            kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        let mut lines = Vec::with_capacity(self.pids.len() + 1);
        let (mut now_sum, mut peak_sum, mut hwm_sum) = (Some(0), 0, Some(0));
        for (pid, peak) in self.pids.iter().zip(self.peaks_kib.iter()) {
            let now = status_kib(*pid, "VmRSS:");
            let peak = peak.load(Ordering::Relaxed);
            let hwm = status_kib(*pid, "VmHWM:");
            now_sum = now_sum.zip(now).map(|(a, b)| a + b);
            peak_sum += peak;
            hwm_sum = hwm_sum.zip(hwm).map(|(a, b)| a + b);
            let who = if self.pids.len() == 1 {
                "alfred".to_owned()
            } else {
                format!("alfred pid {pid}")
            };
            lines.push(format!(
                "  {who} RSS: now {}, peak during the run {}, VmHWM (peak since start) {}",
                mib(now),
                mib(Some(peak)),
                mib(hwm),
            ));
        }
        if self.pids.len() > 1 {
            lines.push(format!(
                "  alfred RSS, {} processes together: now {}, sum of the peaks {} (peak of the sum {}), sum of VmHWM {}",
                self.pids.len(),
                mib(now_sum),
                mib(Some(peak_sum)),
                mib(Some(self.peak_total_kib.load(Ordering::Relaxed))),
                mib(hwm_sum),
            ));
        }
        lines
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
