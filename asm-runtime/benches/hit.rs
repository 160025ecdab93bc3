//! Cache-hit latency: `SecretCache::get` on a warm entry, against the floor of one
//! `ArcSwap::load` + `Arc` clone measured in the same run.
//!
//! `cargo bench -p asm-runtime --bench hit`

use std::hint::black_box;
use std::sync::Arc;

use arc_swap::ArcSwap;
use asm_runtime::SecretCache;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;

fn warm_cache(rt: &tokio::runtime::Runtime) -> SecretCache {
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf")
                .name("prod/db")
                .version_id("v1")
                .secret_string(r#"{"password":"p"}"#)
                .build()
        })
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &[&rule]);
    let cache = SecretCache::new(client);
    rt.block_on(cache.get("prod/db")).expect("warm-up load");
    cache
}

fn hit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cache = warm_cache(&rt);
    let _guard = rt.enter();
    let mut group = c.benchmark_group("hit");
    group.bench_function("SecretCache::get", |b| {
        b.iter(|| {
            // A hit completes on its first poll: no await reaches the network.
            let secret = cache.get(black_box("prod/db")).now_or_never();
            black_box(secret)
        })
    });
    let floor = ArcSwap::from_pointee(String::from("value"));
    group.bench_function("ArcSwap::load_full (floor)", |b| {
        b.iter(|| black_box(Arc::clone(&*black_box(&floor).load())))
    });
    group.finish();
}

criterion_group!(benches, hit);
criterion_main!(benches);
