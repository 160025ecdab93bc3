//! The map's capacity: what eviction may drop, and a struct that could never fit.

use secrecy::SecretString;

use super::*;
use crate::{AwsSecrets, MemorySource};

fn over(source: &MemorySource, capacity: usize) -> SecretCache {
    SecretCache::builder(source.clone())
        .capacity(capacity)
        .build()
        .expect("valid settings")
}

#[tokio::test(start_paused = true)]
async fn an_entry_a_reader_holds_is_not_evicted_before_its_flight_starts() {
    let source = MemorySource::new();
    for name in ["a", "b", "c"] {
        source.text(name, "value");
    }
    let cache = over(&source, 2);
    // A reader took `a`'s entry and has not started its fetch yet…
    let held = cache.core.entry("a", &Version::current(), None);
    // …while two other reads fill the map past its capacity.
    cache.get("b").await.expect("b");
    cache.get("c").await.expect("c");
    assert_eq!(source.calls(), 2);
    cache
        .core
        .read(&held, Instant::now())
        .await
        .expect("the held entry's read");
    assert_eq!(source.calls(), 3);
    // Its value is where the next read looks: no second call.
    cache.get("a").await.expect("a again");
    assert_eq!(source.calls(), 3, "the held entry stayed in the map");
}

/// Three secrets, one struct.
#[derive(Debug, AwsSecrets)]
#[aws_secrets(crate = "crate")]
struct Three {
    #[aws_secrets(name = "one")]
    one: SecretString,
    #[aws_secrets(name = "two")]
    two: SecretString,
    #[aws_secrets(name = "three")]
    three: SecretString,
}

#[tokio::test(start_paused = true)]
async fn a_struct_reading_more_secrets_than_the_capacity_is_a_config_error() {
    let source = MemorySource::new();
    for name in ["one", "two", "three"] {
        source.text(name, "value");
    }
    let err = Three::load(&over(&source, 2))
        .await
        .expect_err("three secrets cannot fit in two entries");
    let message = err.to_string();
    assert!(
        matches!(err, Error::Config { .. }) && message.contains("capacity of 2"),
        "{message}"
    );
    assert_eq!(source.calls(), 0, "refused before any call");
    let fits = Three::load(&over(&source, 3)).await.expect("fits");
    let _ = (fits.one, fits.two, fits.three);
}
