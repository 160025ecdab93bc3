//! Pacing under throttling, outside the simulator: 50 caches in one process, each over its own
//! SDK client, start together against a loopback stand-in that throttles every request beyond
//! 20 a second. They need 25 s of that quota; each cache learns the limit from its throttled
//! answers alone, and every first load waits its turn instead of failing.

use asm_runtime::SecretCache;
use asm_testkit::Endpoint;
use tokio::task::JoinSet;

const CACHES: usize = 50;
const SECRETS: usize = 10;
const LIMIT: u32 = 20;

#[tokio::test(start_paused = true)]
async fn fifty_caches_converge_under_a_throttling_limit_and_every_first_load_succeeds() {
    let service = Endpoint::throttling(LIMIT).await;
    let mut loads = JoinSet::new();
    for _ in 0..CACHES {
        let cache = SecretCache::builder(service.client().await)
            .build()
            .expect("default settings");
        for secret in 0..SECRETS {
            let cache = cache.clone();
            loads.spawn(async move { cache.get(&format!("app/s{secret}")).await.map(drop) });
        }
    }
    let mut failed = Vec::new();
    while let Some(loaded) = loads.join_next().await {
        if let Err(err) = loaded.expect("no panic") {
            failed.push(err.to_string());
        }
    }
    let per_second = service.requests_per_second();
    let report = format!(
        "{} requests, {} throttled; per second: {per_second:?}",
        service.requests(),
        service.throttled()
    );
    assert!(
        failed.is_empty(),
        "{} failed: {failed:?}\n{report}",
        failed.len()
    );
    let needed = (CACHES * SECRETS) as u64;
    println!("{needed} reads needed: {report}");
    // The first seconds are above the limit: each cache sends before it has learnt anything.
    // After them the fleet of caches settles near the limit.
    let settled = per_second.iter().skip(5);
    let worst = settled.copied().max().unwrap_or(0);
    assert!(worst <= LIMIT * 2, "{report}");
    assert!(service.requests() <= needed * 3 / 2, "{report}");
}
