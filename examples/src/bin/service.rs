//! An axum service on a sqlx `PgPool` whose database credentials rotate under load.
//!
//! `cargo run -p asm-examples --bin service` starts a throw-away PostgreSQL cluster and a local
//! Secrets Manager, then, for each of the two strategies of AWS's rotation functions (single
//! user, alternating users), serves `GET /orders/1` at a steady rate over loopback while a
//! rotation function rotates the database secret three times. It prints requests served and
//! failed, p50/p99 latency, the latency around each rotation and the connections opened with
//! each password, and fails unless every request succeeded, every rotation was adopted before
//! the next, and every password opened connections.
//!
//! The short form (100 requests/s for 12 s per strategy) runs in `scripts/test.sh`; the long
//! form is `cargo run --release -p asm-examples --bin service -- --long` (or `ASM_LOAD=long`):
//! 200 requests/s for 60 s per strategy.

use std::fmt::Write as _;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use asm_examples::database::{Deployment, provision};
use asm_examples::load::{self, Plan, Sample, Summary};
use asm_examples::rotation_function::{Rotated, RotationFunction, Strategy};
use asm_examples::service::{OrdersDb, PoolStats, RotatingPool, Settings, router};
use asm_examples::{Backend, Result, ops, step};
use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, Vars};
use asm_testkit::Postgres;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

/// Rotations per strategy.
const ROTATIONS: u32 = 3;

/// One run's size.
#[derive(Clone, Copy, Debug)]
struct Config {
    rate: u32,
    duration: Duration,
    /// The pool's `max_lifetime`: short, so that connections are opened throughout the run
    /// and every rotation meets new logins.
    max_lifetime: Duration,
}

impl Config {
    fn from_args() -> Self {
        let long = std::env::args().any(|a| a == "--long")
            || std::env::var("ASM_LOAD").is_ok_and(|v| v == "long");
        if long {
            Self {
                rate: 200,
                duration: Duration::from_secs(60),
                max_lifetime: Duration::from_secs(2),
            }
        } else {
            Self {
                rate: 100,
                duration: Duration::from_secs(12),
                max_lifetime: Duration::from_secs(2),
            }
        }
    }

    /// How long after `finishSecret` a rotation must be adopted: a rotation interval, and at
    /// least 10 s (a debug build on a busy machine spends seconds in SCRAM logins).
    fn adopt_within(&self) -> Duration {
        self.spacing().max(Duration::from_secs(10))
    }

    /// Time between rotations (the first comes after one spacing, the last one spacing
    /// before the end).
    fn spacing(&self) -> Duration {
        self.duration / (ROTATIONS + 1)
    }
}

/// When one rotation's steps ran, from the start of the load.
#[derive(Clone, Copy, Debug)]
struct RotationTimes {
    began: Duration,
    finished: Duration,
    adopted: Duration,
}

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::var("ASM_DEMO_AWS").is_ok_and(|v| v == "1") {
        return Err(
            "the service example creates and rotates its database's credentials: \
                    run it against a local Secrets Manager, not real AWS"
                .into(),
        );
    }
    let config = Config::from_args();
    step("starting a throw-away PostgreSQL cluster on 127.0.0.1");
    let postgres = Postgres::start();
    println!("   port {}", postgres.port());
    let backend = Backend::connect(&[]).await?;
    let client = (backend.cache().client().cloned())
        .ok_or("the service example needs a Secrets Manager endpoint (moto_server), not memory")?;
    let mut failures = Vec::new();
    for strategy in [Strategy::SingleUser, Strategy::AlternatingUsers] {
        let deployment = Deployment::of(strategy);
        step(&format!(
            "{strategy}: role {}, secret {}",
            deployment.role, deployment.secret_id
        ));
        provision(&postgres, &client, &deployment).await?;
        let report = run(&config, &client, strategy, &deployment).await?;
        print!("{}", report.table());
        failures.extend(report.failures());
    }
    if failures.is_empty() {
        step("done: every request served, every rotation adopted");
        Ok(())
    } else {
        Err(failures.join("; ").into())
    }
}

/// Serves `strategy`'s deployment under load while rotating its secret; returns what happened.
async fn run(
    config: &Config,
    client: &aws_sdk_secretsmanager::Client,
    strategy: Strategy,
    deployment: &Deployment,
) -> Result<Report> {
    let spacing = config.spacing();
    // Single user: the production TTL; the rotation reaches the pool through the refused
    // login. Alternating users: a TTL well below the rotation interval (the derive's
    // `rotation` check), so the pool adopts each new user before the next rotation.
    let ttl = match strategy {
        Strategy::SingleUser => Duration::from_secs(600),
        Strategy::AlternatingUsers => spacing / 4,
    };
    let cache = SecretCache::builder(client.clone()).ttl(ttl).build()?;
    let vars = Vars::new().set("APP_ENV", deployment.app_env);
    let settings = Settings {
        max_lifetime: config.max_lifetime,
        ..Settings::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The operations port, apart from the API: `/metrics` and `/healthz` (`asm_examples::ops`).
    let ops_listener = TcpListener::bind("127.0.0.1:0").await?;
    let ops_addr = ops_listener.local_addr()?;
    let probe = cache.clone();
    let ops_router = ops::router(cache.clone(), ops::prometheus()?);
    let ops_server = tokio::spawn(axum::serve(ops_listener, ops_router).into_future());
    let live = OrdersDb::watch_with(&cache, vars).await?; // kept fresh; rebuilt on rotation
    let pool = RotatingPool::connect(cache, live, &deployment.secret_id, settings).await?;
    let server = tokio::spawn(axum::serve(listener, router(pool.clone())).into_future());
    println!(
        "   GET http://{addr}/orders/1 at {}/s for {:?}; {ROTATIONS} rotations, {spacing:?} apart",
        config.rate, config.duration
    );
    println!("   GET http://{ops_addr}/metrics and /healthz on the operations port");

    let plan = Plan {
        rate: config.rate,
        // A bound: the load stops at `config.duration`, or after the last rotation has been
        // adopted and has had time to open connections, whichever is later.
        duration: config.duration * 3,
        connections: 16,
        request_timeout: Duration::from_secs(10),
    };
    let start = Instant::now();
    let (stop, stopped) = watch::channel(false);
    let load = tokio::spawn(load::run(addr, "/orders/1", plan, start, stopped));
    let function = Lambda::new(RotationFunction::new(
        client.clone(),
        &deployment.secret_id,
        strategy,
    ))?;
    let mut rotations = Vec::new();
    let mut failures = Vec::new();
    for n in 1..=ROTATIONS {
        sleep_until(start + spacing * n).await;
        let began = start.elapsed();
        let rotated = function.rotate().await?;
        let finished = start.elapsed();
        let mut adoptions = pool.adoptions();
        let adopted = timeout(
            config.adopt_within(),
            adoptions.wait_for(|a| {
                a.db.password.expose_secret() == rotated.password.expose_secret()
                    && a.db.username.expose_secret() == rotated.username
            }),
        )
        .await
        .map(|found| found.map(|a| a.generation)); // the watch's read guard ends here
        let adopted_at = start.elapsed();
        match adopted {
            // The next rotation waits until the new password has opened a connection.
            Ok(Ok(generation)) => {
                let opened = async {
                    while !pool.stats().opened.keys().any(|(g, _)| *g == generation) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                if timeout(config.adopt_within(), opened).await.is_err() {
                    failures.push(format!(
                        "{strategy}: password #{generation} opened no connection within {:?} of its adoption",
                        config.adopt_within()
                    ));
                }
            }
            _ => failures.push(format!(
                "{strategy}: rotation {n} was not adopted within {:?} of finishSecret",
                config.adopt_within()
            )),
        }
        rotations.push(RotationTimes {
            began,
            finished,
            adopted: adopted_at,
        });
    }
    // Long enough after the last adoption for the pool to retire connections and open new ones.
    sleep_until((start + config.duration).max(Instant::now() + config.max_lifetime * 2)).await;
    let _ = stop.send(true);
    let samples = load.await?;
    let stats = pool.stats();
    let health = probe.health();
    println!("   /healthz: {}", health.readiness().name());
    server.abort();
    ops_server.abort();
    pool.close().await;
    Ok(Report {
        strategy,
        config: *config,
        samples,
        rotations,
        stats,
        failures,
    })
}

/// The rotation function on a thread and runtime of its own, as a Lambda runs apart from the
/// service: its logins (SCRAM's key derivation is CPU work) do not hold the service's workers.
struct Lambda {
    function: Arc<RotationFunction>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Lambda {
    fn new(function: RotationFunction) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rotation-function")
            .enable_all()
            .build()?;
        Ok(Self {
            function: Arc::new(function),
            runtime: Some(runtime),
        })
    }

    async fn rotate(&self) -> Result<Rotated> {
        let function = Arc::clone(&self.function);
        let runtime = self
            .runtime
            .as_ref()
            .ok_or("the rotation runtime is gone")?;
        let run = runtime.spawn(async move { function.rotate().await });
        let rotated: Result<Rotated, _> = run.await?;
        rotated.map_err(|e| -> Box<dyn std::error::Error> { e })
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What one strategy's run measured.
struct Report {
    strategy: Strategy,
    config: Config,
    samples: Vec<Sample>,
    rotations: Vec<RotationTimes>,
    stats: PoolStats,
    failures: Vec<String>,
}

impl Report {
    /// The figures, as Markdown tables.
    fn table(&self) -> String {
        let all = Summary::of(&self.samples);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{} ({} req/s for {:.1} s, pool max_lifetime {:?})\n",
            self.strategy,
            self.config.rate,
            self.samples.last().map_or(0.0, |s| s.due.as_secs_f64()),
            self.config.max_lifetime
        );
        let _ = writeln!(out, "| requests | served | failed | p50 | p99 | max |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |\n",
            all.served + all.failed,
            all.served,
            all.failed,
            ms(all.p50),
            ms(all.p99),
            ms(all.max)
        );
        let _ = writeln!(
            out,
            "| rotation | createSecret → finishSecret | adopted after finishSecret | requests in window | p99 in window | max in window |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for (n, r) in self.rotations.iter().enumerate() {
            // The window: from createSecret to one second after the pool adopted it.
            let window = Summary::of(
                self.samples
                    .iter()
                    .filter(|s| s.due >= r.began && s.due <= r.adopted + Duration::from_secs(1)),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                n + 1,
                ms(r.finished - r.began),
                ms(r.adopted - r.finished),
                window.served + window.failed,
                ms(window.p99),
                ms(window.max)
            );
        }
        let _ = writeln!(out, "\n| password | role | connections opened |");
        let _ = writeln!(out, "|---|---|---|");
        for ((generation, role), count) in &self.stats.opened {
            let _ = writeln!(out, "| #{generation} | {role} | {count} |");
        }
        let _ = writeln!(
            out,
            "\nrefused logins: {}; refresh_now calls after them: {}\n",
            self.stats.refused_logins, self.stats.refresh_now_calls
        );
        out
    }

    /// What this run got wrong: failed requests, rotations not adopted, passwords that opened
    /// no connection, a refusal where none may happen, refreshes not coalesced.
    fn failures(&self) -> Vec<String> {
        let strategy = self.strategy;
        let mut failures = self.failures.clone();
        let all = Summary::of(&self.samples);
        if all.failed > 0 {
            failures.push(format!("{strategy}: {} requests failed", all.failed));
        }
        for generation in 1..=ROTATIONS + 1 {
            if !self.stats.opened.keys().any(|(g, _)| *g == generation) {
                failures.push(format!(
                    "{strategy}: no connection was opened with password #{generation}"
                ));
            }
        }
        match strategy {
            // The old user keeps working until the next rotation, which waits for adoption.
            Strategy::AlternatingUsers if self.stats.refused_logins > 0 => failures.push(format!(
                "{strategy}: {} logins refused",
                self.stats.refused_logins
            )),
            // At most one refresh per refresh interval: one during the rotation (the old
            // version, if the refusal came before finishSecret), one after.
            Strategy::SingleUser if self.stats.refresh_now_calls > 2 * u64::from(ROTATIONS) => {
                failures.push(format!(
                    "{strategy}: {} refresh_now calls for {ROTATIONS} rotations",
                    self.stats.refresh_now_calls
                ));
            }
            _ => {}
        }
        failures
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
