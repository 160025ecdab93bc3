//! Cache hits, measured in one run over one mocked SDK client:
//!
//! - `hit`: `SecretCache::get` on a warm entry, `Live::current` (a derived struct kept fresh by
//!   `watch`), AWS's `SecretsManagerCachingClient::get_secret_value` on a warm entry, and the
//!   floor of one `ArcSwap::load` + `Arc` clone.
//! - `hit_threads`: the same reads on 1 and on 2 threads at once (throughput; the ratio is the
//!   scaling), every thread reading one secret (`same`), or each thread its own (`own`). Reads of
//!   one secret share its `Arc`'s reference count, one cache line written by every thread.
//!
//! Run with every other bench: `cargo bench -p asm-runtime --benches` (see `BENCHMARKS.md`).

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use asm_runtime::{AwsSecrets, Live, SecretCache, SecretString};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_secretsmanager_caching::SecretsManagerCachingClient;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::FutureExt;

const ID: &str = "prod/db";
/// Secrets read in `hit_threads`, one per thread when threads read their own.
const IDS: [&str; 2] = [ID, "prod/db-2"];

/// The struct `Live::current` returns.
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[allow(dead_code, reason = "built by the loader, read by nobody in a bench")]
    password: SecretString,
}

/// One mocked client that answers every `GetSecretValue` with the same secret, and every
/// `DescribeSecret` (the live handle's load checks rotation rules) with its version.
fn mocked_client() -> Client {
    let describe = mock!(Client::describe_secret)
        .sequence()
        .output(|| {
            DescribeSecretOutput::builder()
                .name(ID)
                .version_ids_to_stages("v1", vec!["AWSCURRENT".to_owned()])
                .build()
        })
        .repeatedly()
        .build();
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf")
                .name(ID)
                .version_id("v1")
                .version_stages("AWSCURRENT")
                .secret_string(r#"{"password":"p"}"#)
                .build()
        })
        .repeatedly()
        .build();
    mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::MatchAny,
        &[&rule, &describe]
    )
}

/// Our cache and AWS's, both warm, over clones of one client.
fn warm_caches(rt: &tokio::runtime::Runtime) -> (SecretCache, SecretsManagerCachingClient) {
    let client = mocked_client();
    let ours = SecretCache::new(client.clone());
    for id in IDS {
        rt.block_on(ours.get(id)).expect("warm-up load (ours)");
    }
    let peer = SecretsManagerCachingClient::new(
        client,
        NonZeroUsize::new(1000).expect("non-zero"),
        Duration::from_secs(600),
        false,
    )
    .expect("peer cache");
    for id in IDS {
        rt.block_on(peer.get_secret_value(id, None, None, false))
            .expect("warm-up load (peer)");
    }
    (ours, peer)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn hit(c: &mut Criterion) {
    let rt = runtime();
    let (ours, peer) = warm_caches(&rt);
    let live: Live<Db> = rt.block_on(Db::watch(&ours)).expect("watch");
    let _guard = rt.enter();
    let mut group = c.benchmark_group("hit");
    group.bench_function("SecretCache::get", |b| {
        b.iter(|| {
            // A hit completes on its first poll: no await reaches the network.
            let secret = ours.get(black_box(ID)).now_or_never();
            black_box(secret)
        })
    });
    group.bench_function("Live::current", |b| {
        b.iter(|| black_box(black_box(&live).current()))
    });
    group.bench_function("aws_secretsmanager_caching::get_secret_value", |b| {
        b.iter(|| {
            let secret = peer
                .get_secret_value(black_box(ID), None, None, false)
                .now_or_never()
                .map(|r| r.map_err(|e| e.to_string()));
            black_box(secret)
        })
    });
    let floor = ArcSwap::from_pointee(String::from("value"));
    group.bench_function("ArcSwap::load_full (floor)", |b| {
        b.iter(|| black_box(Arc::clone(&*black_box(&floor).load())))
    });
    group.finish();
}

/// Runs `read(thread index)` `iters` times on each of `threads` threads started together; the
/// wall time.
fn on_threads(threads: usize, iters: u64, read: &(dyn Fn(usize) + Sync)) -> Duration {
    let start = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    for _ in 0..iters {
                        read(thread);
                    }
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for worker in workers {
            worker.join().expect("bench thread");
        }
        began.elapsed()
    })
}

fn hit_threads(c: &mut Criterion) {
    let rt = runtime();
    let (ours, peer) = warm_caches(&rt);
    let mut group = c.benchmark_group("hit_threads");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (reading, id) in [
        ("same", (|_| ID) as fn(usize) -> &'static str),
        ("own", |t| IDS[t]),
    ] {
        for threads in [1, 2] {
            group.throughput(Throughput::Elements(threads as u64));
            group.bench_function(format!("SecretCache::get/{reading}/{threads}"), |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|t| {
                        black_box(ours.get(black_box(id(t))).now_or_never());
                    })
                })
            });
            group.bench_function(
                format!("aws_secretsmanager_caching::get_secret_value/{reading}/{threads}"),
                |b| {
                    b.iter_custom(|iters| {
                        on_threads(threads, iters, &|t| {
                            let secret = peer
                                .get_secret_value(black_box(id(t)), None, None, false)
                                .now_or_never()
                                .map(|r| r.is_ok());
                            black_box(secret);
                        })
                    })
                },
            );
            let floors = [
                ArcSwap::from_pointee(String::from("value")),
                ArcSwap::from_pointee(String::from("value")),
            ];
            let floor = |t: usize| {
                if reading == "same" {
                    &floors[0]
                } else {
                    &floors[t]
                }
            };
            group.bench_function(
                format!("ArcSwap::load_full (floor)/{reading}/{threads}"),
                |b| {
                    b.iter_custom(|iters| {
                        on_threads(threads, iters, &|t| {
                            black_box(Arc::clone(&*black_box(floor(t)).load()));
                        })
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, hit, hit_threads);
criterion_main!(benches);
