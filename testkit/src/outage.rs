//! A loopback proxy in front of a Secrets Manager endpoint serving several regions (moto)
//! and fails the regions it is told to: a request signed for such a region is read and never
//! answered (a regional outage, a blackholed endpoint); the others pass through. Requests are
//! counted by region, answered or not.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// What the proxy's connections share: the regions down, and the requests seen by region.
#[derive(Debug, Default)]
struct Regions {
    down: HashSet<String>,
    requests: HashMap<String, u64>,
}

type Shared = Arc<Mutex<Regions>>;

/// A regional outage stand-in served by a task of the current runtime; stopped when dropped.
#[derive(Debug)]
pub struct RegionalOutage {
    addr: SocketAddr,
    regions: Shared,
    task: JoinHandle<()>,
}

impl RegionalOutage {
    /// Proxies a free loopback port to `upstream` (`host:port`), every region up.
    pub async fn start(upstream: SocketAddr) -> Self {
        let (listener, addr) = crate::loopback_listener().await;
        let regions = Shared::default();
        let shared = Arc::clone(&regions);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, Arc::clone(&shared)));
            }
        });
        Self {
            addr,
            regions,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes `region` down: its requests from now on are read and never answered.
    pub fn fail(&self, region: &str) {
        self.regions().down.insert(region.to_owned());
    }

    /// Brings `region` back: its new requests are passed through again.
    pub fn restore(&self, region: &str) {
        self.regions().down.remove(region);
    }

    /// Requests signed for `region` seen so far (answered or not).
    pub fn requests(&self, region: &str) -> u64 {
        self.regions().requests.get(region).copied().unwrap_or(0)
    }

    fn regions(&self) -> std::sync::MutexGuard<'_, Regions> {
        self.regions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for RegionalOutage {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one client connection: each request is counted, then held for ever if its region is
/// down, else sent upstream on a connection of its own and answered with what comes back
/// (moto closes each connection after its answer, and so does the proxy).
async fn serve(mut client: TcpStream, upstream: SocketAddr, regions: Shared) {
    let mut buffer = Vec::new();
    let Some((request, region)) = read_request(&mut client, &mut buffer).await else {
        return;
    };
    let down = {
        let mut regions = regions.lock().unwrap_or_else(PoisonError::into_inner);
        *regions.requests.entry(region.clone()).or_default() += 1;
        regions.down.contains(&region)
    };
    if down {
        let mut sink = [0u8; 4096];
        while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(&request).await.is_ok() {
        let _ = tokio::io::copy(&mut server, &mut client).await;
    }
}

/// Reads one HTTP/1.1 request; returns its bytes and the region its SigV4 signature names.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(Vec<u8>, String)> {
    let request = crate::http::read_request(stream, buffer).await?;
    // `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
    let region = (request.header("authorization"))
        .and_then(|auth| {
            let credential = auth.split("Credential=").nth(1)?;
            Some(credential.split('/').nth(2)?.to_owned())
        })
        .unwrap_or_default();
    Some((request.bytes, region))
}
