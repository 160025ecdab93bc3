//! Reads from memory, measured in one run over one mocked SDK client:
//!
//! - `hit`: AWS's `SecretsManagerCachingClient::get_secret_value` on a warm entry (the peer);
//!   `SecretCache::get` on a warm entry; `LiveReader::read`, `Live::read` and `Live::current`
//!   (a derived struct kept fresh by `watch`); a warm `Db::load(&cache)` (6 fields of one JSON secret); and the
//!   floors: `ArcSwap::load` (a guard, no reference count), `ArcSwap::load` + `Arc::clone`,
//!   and the clock read a cache hit makes (`tokio::time::Instant::now`).
//! - `warm_load`: a warm `load` of a struct of 1, 6 and 50 `SecretString` fields of one JSON
//!   secret (the cost per field).
//! - `mixed_load` (feature `ssm`): a warm `load` of a struct of 3 secrets and 3 Parameter
//!   Store parameters against the same struct of 6 secrets (each field a whole value).
//! - `threads`: the reads on 1, 2, 4 and 8 threads at once (throughput, all threads together;
//!   the ratio to 1 thread is the scaling), every thread reading one struct or secret
//!   (`shared`), or each its own (`own`). The machine's core count is printed first.
//!
//! Run with every other bench: `cargo bench -p asm-runtime --benches` (see `BENCHMARKS.md`);
//! one group: `cargo bench -p asm-runtime --bench hit -- threads`; with `mixed_load`:
//! `cargo bench -p asm-runtime --features ssm --bench hit -- mixed_load`.

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
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::FutureExt;

const ID: &str = "prod/db";
/// The most threads in `threads`, and so the number of distinct secrets and structs read.
const MAX_THREADS: usize = 8;
const THREADS: [usize; 4] = [1, 2, 4, 8];

/// The struct `Live` holds and the warm `load` builds: an RDS-style secret.
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
#[allow(dead_code, reason = "built by the loader, read by nobody in a bench")]
struct Db {
    username: SecretString,
    password: SecretString,
    engine: SecretString,
    host: SecretString,
    #[aws_secrets(public)]
    port: u16,
    #[aws_secrets(public)]
    dbname: String,
}

/// A struct of `SecretString` fields `f01`, `f02`, … of one JSON secret.
macro_rules! fields {
    ($name:ident: $($field:ident)*) => {
        #[derive(AwsSecrets)]
        #[aws_secrets(name = "prod/db")]
        #[allow(dead_code, reason = "built by the loader, read by nobody in a bench")]
        struct $name { $($field: SecretString,)* }
    };
}
fields!(One: f01);
fields!(Six: f01 f02 f03 f04 f05 f06);
fields!(Fifty: f01 f02 f03 f04 f05 f06 f07 f08 f09 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f20
    f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32 f33 f34 f35 f36 f37 f38 f39 f40
    f41 f42 f43 f44 f45 f46 f47 f48 f49 f50);

/// The secret every id answers with: the `Db` keys and `f01` … `f50`.
fn secret_json() -> String {
    let mut json = String::from(
        r#"{"username":"app","password":"p","engine":"postgres","host":"db.internal","port":5432,"dbname":"app""#,
    );
    for i in 1..=50 {
        json.push_str(&format!(r#","f{i:02}":"value-{i:02}""#));
    }
    json.push('}');
    json
}

/// The ids read when each thread reads its own secret.
fn ids() -> Vec<String> {
    (0..MAX_THREADS).map(|i| format!("{ID}-{i}")).collect()
}

/// One mocked client that answers every `GetSecretValue` with the same secret, and every
/// `DescribeSecret` (the rotation guardrail at load) with its version.
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
    let json = secret_json();
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(move || {
            GetSecretValueOutput::builder()
                .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf")
                .name(ID)
                .version_id("v1")
                .version_stages("AWSCURRENT")
                .secret_string(&json)
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

/// Our cache and AWS's, both warm for `ID` and every id of `ids()`, over clones of one client.
fn warm_caches(rt: &tokio::runtime::Runtime) -> (SecretCache, SecretsManagerCachingClient) {
    let client = mocked_client();
    let ours = SecretCache::new(client.clone());
    let peer = SecretsManagerCachingClient::new(
        client,
        NonZeroUsize::new(1000).expect("non-zero"),
        Duration::from_secs(600),
        false,
    )
    .expect("peer cache");
    for id in std::iter::once(ID.to_owned()).chain(ids()) {
        rt.block_on(ours.get(&id)).expect("warm-up load (ours)");
        rt.block_on(peer.get_secret_value(&id, None, None, false))
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

/// A warm `T::load`, which completes on its first poll: no await reaches the network.
fn load<T: AwsSecrets>(cache: &SecretCache) -> T {
    T::load(cache)
        .now_or_never()
        .expect("a warm load is ready at once")
        .expect("loads")
}

fn hit(c: &mut Criterion) {
    let rt = runtime();
    let (ours, peer) = warm_caches(&rt);
    let live: Live<Db> = rt.block_on(Db::watch(&ours)).expect("watch");
    let _guard = rt.enter();
    rt.block_on(Db::load(&ours)).expect("warm-up load");
    let mut group = c.benchmark_group("hit");
    group.bench_function("aws_secretsmanager_caching::get_secret_value", |b| {
        b.iter(|| {
            let secret = peer
                .get_secret_value(black_box(ID), None, None, false)
                .now_or_never()
                .map(|r| r.map_err(|e| e.to_string()));
            black_box(secret)
        })
    });
    group.bench_function("SecretCache::get", |b| {
        b.iter(|| black_box(ours.get(black_box(ID)).now_or_never()))
    });
    group.bench_function("Live::current", |b| {
        b.iter(|| black_box(black_box(&live).current()))
    });
    let mut reader = live.reader();
    group.bench_function("LiveReader::read", |b| {
        b.iter(|| {
            black_box(reader.read());
        })
    });
    group.bench_function("Live::read", |b| {
        b.iter(|| {
            let db = black_box(&live).read();
            black_box(&*db);
        })
    });
    group.bench_function("Db::load (warm, 6 fields)", |b| {
        b.iter(|| black_box(load::<Db>(black_box(&ours))))
    });
    let floor = ArcSwap::from_pointee(String::from("value"));
    group.bench_function("ArcSwap::load guard (floor)", |b| {
        b.iter(|| {
            let guard = black_box(&floor).load();
            black_box(&*guard);
        })
    });
    group.bench_function("ArcSwap::load + Arc::clone (floor)", |b| {
        b.iter(|| black_box(Arc::clone(&*black_box(&floor).load())))
    });
    group.bench_function("tokio::time::Instant::now (a hit's clock read)", |b| {
        b.iter(|| black_box(tokio::time::Instant::now()))
    });
    group.finish();
}

fn warm_load(c: &mut Criterion) {
    let rt = runtime();
    let (ours, _) = warm_caches(&rt);
    let _guard = rt.enter();
    // The first load of each type learns the rotation interval (`DescribeSecret`).
    rt.block_on(One::load(&ours)).expect("warm-up load");
    rt.block_on(Six::load(&ours)).expect("warm-up load");
    rt.block_on(Fifty::load(&ours)).expect("warm-up load");
    let mut group = c.benchmark_group("warm_load");
    group.bench_function("1", |b| b.iter(|| black_box(load::<One>(&ours))));
    group.bench_function("6", |b| b.iter(|| black_box(load::<Six>(&ours))));
    group.bench_function("50", |b| b.iter(|| black_box(load::<Fifty>(&ours))));
    group.finish();
}

/// Runs a reader made by `make(thread index)` `iters` times on each of `threads` threads
/// started together; the wall time.
fn on_threads<R: FnMut()>(
    threads: usize,
    iters: u64,
    make: &(impl Fn(usize) -> R + Sync),
) -> Duration {
    let start = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let start = &start;
                s.spawn(move || {
                    let mut read = make(thread);
                    start.wait();
                    for _ in 0..iters {
                        read();
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

/// One row of `threads`: `make(thread index)` gives each thread its reader.
fn row<R: FnMut()>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    threads: usize,
    make: impl Fn(usize) -> R + Sync,
) {
    group.throughput(Throughput::Elements(threads as u64));
    group.bench_function(format!("{name}/{threads}"), |b| {
        b.iter_custom(|iters| on_threads(threads, iters, &make))
    });
}

fn threads(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(0, NonZeroUsize::get);
    println!("machine: {cores} cores (std::thread::available_parallelism)");
    let rt = runtime();
    let (ours, peer) = warm_caches(&rt);
    let lives: Vec<Live<Db>> = (0..MAX_THREADS)
        .map(|_| rt.block_on(Db::watch(&ours)).expect("watch"))
        .collect();
    let floors: Vec<ArcSwap<String>> = (0..MAX_THREADS)
        .map(|_| ArcSwap::from_pointee(String::from("value")))
        .collect();
    let ids = ids();
    let mut group = c.benchmark_group("threads");
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group.sample_size(20);
    for reading in ["shared", "own"] {
        // The struct, secret or floor thread `t` reads.
        let pick = |t: usize| if reading == "shared" { 0 } else { t };
        for threads in THREADS {
            let g = &mut group;
            row(g, &format!("LiveReader::read/{reading}"), threads, |t| {
                let mut reader = lives[pick(t)].reader();
                move || {
                    black_box(reader.read());
                }
            });
            row(g, &format!("Live::read/{reading}"), threads, |t| {
                let live = &lives[pick(t)];
                move || {
                    let db = live.read();
                    black_box(&*db);
                }
            });
            row(g, &format!("Live::current/{reading}"), threads, |t| {
                let live = &lives[pick(t)];
                move || {
                    black_box(live.current());
                }
            });
            row(g, &format!("SecretCache::get/{reading}"), threads, |t| {
                let (ours, id) = (&ours, &ids[pick(t)]);
                move || {
                    black_box(ours.get(black_box(id)).now_or_never());
                }
            });
            let peer_row = format!("aws_secretsmanager_caching::get_secret_value/{reading}");
            row(g, &peer_row, threads, |t| {
                let (peer, id) = (&peer, &ids[pick(t)]);
                move || {
                    let secret = peer
                        .get_secret_value(black_box(id), None, None, false)
                        .now_or_never()
                        .map(|r| r.is_ok());
                    black_box(secret);
                }
            });
            row(
                g,
                &format!("ArcSwap::load guard (floor)/{reading}"),
                threads,
                |t| {
                    let floor = &floors[pick(t)];
                    move || {
                        let guard = floor.load();
                        black_box(&*guard);
                    }
                },
            );
            let clone_row = format!("ArcSwap::load + Arc::clone (floor)/{reading}");
            row(g, &clone_row, threads, |t| {
                let floor = &floors[pick(t)];
                move || {
                    black_box(Arc::clone(&*floor.load()));
                }
            });
        }
    }
    group.finish();
}

/// Six whole secrets, one a field.
#[cfg(feature = "ssm")]
#[derive(AwsSecrets)]
#[allow(dead_code, reason = "built by the loader, read by nobody in a bench")]
struct SixSecrets {
    #[aws_secrets(name = "bench/s1")]
    s1: SecretString,
    #[aws_secrets(name = "bench/s2")]
    s2: SecretString,
    #[aws_secrets(name = "bench/s3")]
    s3: SecretString,
    #[aws_secrets(name = "bench/s4")]
    s4: SecretString,
    #[aws_secrets(name = "bench/s5")]
    s5: SecretString,
    #[aws_secrets(name = "bench/s6")]
    s6: SecretString,
}

/// The same struct with its last three fields read from Parameter Store.
#[cfg(feature = "ssm")]
#[derive(AwsSecrets)]
#[allow(dead_code, reason = "built by the loader, read by nobody in a bench")]
struct ThreeAndThree {
    #[aws_secrets(name = "bench/s1")]
    s1: SecretString,
    #[aws_secrets(name = "bench/s2")]
    s2: SecretString,
    #[aws_secrets(name = "bench/s3")]
    s3: SecretString,
    #[aws_secrets(parameter = "/bench/p4")]
    p4: SecretString,
    #[aws_secrets(parameter = "/bench/p5")]
    p5: SecretString,
    #[aws_secrets(parameter = "/bench/p6")]
    p6: SecretString,
}

/// A Parameter Store client answering `GetParameters` with `/bench/p4` … `/bench/p6`.
#[cfg(feature = "ssm")]
fn mocked_ssm() -> aws_sdk_ssm::Client {
    use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
    use aws_sdk_ssm::types::Parameter;
    let rule = mock!(aws_sdk_ssm::Client::get_parameters)
        .sequence()
        .output(|| {
            let mut out = GetParametersOutput::builder();
            for i in 4..=6 {
                out = out.parameters(
                    Parameter::builder()
                        .name(format!("/bench/p{i}"))
                        .value(format!("value-{i}"))
                        .version(1)
                        .arn(format!(
                            "arn:aws:ssm:us-east-1:123456789012:parameter/bench/p{i}"
                        ))
                        .build(),
                );
            }
            out.build()
        })
        .repeatedly()
        .build();
    mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[&rule])
}

#[cfg(feature = "ssm")]
fn mixed_load(c: &mut Criterion) {
    let rt = runtime();
    let cache = SecretCache::builder(mocked_client())
        .parameter_client(mocked_ssm())
        .build()
        .expect("valid settings");
    let _guard = rt.enter();
    rt.block_on(SixSecrets::load(&cache)).expect("warm-up load");
    rt.block_on(ThreeAndThree::load(&cache))
        .expect("warm-up load");
    let mut group = c.benchmark_group("mixed_load");
    group.bench_function("6 secrets", |b| {
        b.iter(|| black_box(load::<SixSecrets>(&cache)))
    });
    group.bench_function("3 secrets + 3 parameters", |b| {
        b.iter(|| black_box(load::<ThreeAndThree>(&cache)))
    });
    group.finish();
}

#[cfg(not(feature = "ssm"))]
criterion_group!(benches, hit, warm_load, threads);
#[cfg(feature = "ssm")]
criterion_group!(benches, hit, warm_load, mixed_load, threads);
criterion_main!(benches);
