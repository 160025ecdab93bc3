//! A bounded HTTP/1.1 load generator for loopback: a fixed request rate for a fixed time over
//! keep-alive connections, and the latency figures of what it measured.
//!
//! Open loop: request `k` is due at `start + k / rate`, and its latency is counted from then,
//! so a stalled server is charged for the requests that queued behind it (no coordinated
//! omission).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

/// How much load, for how long at most.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Requests per second.
    pub rate: u32,
    /// How long the load lasts at most (it stops earlier when told).
    pub duration: Duration,
    /// Connections (each sends its requests one after another).
    pub connections: u32,
    /// A request not answered within it fails.
    pub request_timeout: Duration,
}

impl Plan {
    /// The number of requests the plan sends at most.
    pub fn requests(&self) -> u64 {
        // Whole milliseconds: the rate times the duration, rounded down.
        u64::from(self.rate) * u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX) / 1000
    }
}

/// One request's outcome.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// When it was due, from the start of the load.
    pub due: Duration,
    /// From when it was due to its last response byte (or its failure).
    pub latency: Duration,
    /// Answered `200 OK`.
    pub ok: bool,
}

/// Sends `GET path` to `addr` as `plan` says, until `stop` turns true or the plan's duration
/// is over; returns every request's sample, in due order.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    plan: Plan,
    start: Instant,
    stop: watch::Receiver<bool>,
) -> Vec<Sample> {
    let total = plan.requests();
    let period = Duration::from_secs(1) / plan.rate.max(1);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let workers: Vec<_> = (0..u64::from(plan.connections.max(1)))
        .map(|first| {
            let request = request.clone();
            let step = u64::from(plan.connections.max(1));
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut conn = None;
                let mut samples = Vec::new();
                let mut k = first;
                while k < total && !*stop.borrow() {
                    let due = period * u32::try_from(k).unwrap_or(u32::MAX);
                    sleep_until(start + due).await;
                    let ok = timeout(plan.request_timeout, send(&mut conn, addr, &request))
                        .await
                        .is_ok_and(|answer| answer.unwrap_or(false));
                    if !ok {
                        conn = None;
                    }
                    let latency = start.elapsed().saturating_sub(due);
                    samples.push(Sample { due, latency, ok });
                    k += step;
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await.unwrap_or_default());
    }
    samples.sort_by_key(|s| s.due);
    samples
}

/// Sends one request on `conn` (connecting first if there is none); `Ok(true)` for `200 OK`.
async fn send(
    conn: &mut Option<BufReader<TcpStream>>,
    addr: SocketAddr,
    request: &str,
) -> std::io::Result<bool> {
    let stream = match conn {
        Some(stream) => stream,
        None => conn.insert(BufReader::new(TcpStream::connect(addr).await?)),
    };
    stream.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let ok = line.split(' ').nth(1) == Some("200");
    let mut length = 0;
    let mut close = false;
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .parse()
                    .map_err(|_| std::io::Error::other("bad Content-Length"))?;
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    if close {
        *conn = None;
    }
    Ok(ok)
}

/// The `q` quantile (0..=1) of `latencies`, nearest rank; zero for none.
pub fn quantile(latencies: &mut [Duration], q: f64) -> Duration {
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    latencies.sort_unstable();
    let last = latencies.len() - 1;
    // Nearest rank: the smallest value with at least q of the samples at or below it.
    let rank = (q * latencies.len() as f64).ceil() as usize;
    latencies[rank.saturating_sub(1).min(last)]
}

/// Latency figures of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Requests answered `200 OK`.
    pub served: u64,
    /// The others (error status, connection failure, timeout).
    pub failed: u64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// The slowest.
    pub max: Duration,
}

impl Summary {
    /// The figures of `samples`.
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Self {
        let mut latencies = Vec::new();
        let mut served = 0;
        let mut failed = 0;
        for sample in samples {
            latencies.push(sample.latency);
            if sample.ok {
                served += 1;
            } else {
                failed += 1;
            }
        }
        Self {
            served,
            failed,
            p50: quantile(&mut latencies, 0.50),
            p99: quantile(&mut latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut ms: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(quantile(&mut ms, 0.50), Duration::from_millis(50));
        assert_eq!(quantile(&mut ms, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&mut ms, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&mut [], 0.5), Duration::ZERO);
    }

    #[test]
    fn summary_counts_failures() {
        let sample = |ms, ok| Sample {
            due: Duration::ZERO,
            latency: Duration::from_millis(ms),
            ok,
        };
        let summary = Summary::of(&[sample(1, true), sample(3, false), sample(2, true)]);
        assert_eq!((summary.served, summary.failed), (2, 1));
        assert_eq!(summary.max, Duration::from_millis(3));
    }

    #[test]
    fn plan_counts_requests() {
        let plan = Plan {
            rate: 200,
            duration: Duration::from_secs(60),
            connections: 16,
            request_timeout: Duration::from_secs(10),
        };
        assert_eq!(plan.requests(), 12_000);
    }
}
