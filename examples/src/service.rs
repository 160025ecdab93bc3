//! The example service: axum over a sqlx [`PgPool`] whose credentials come from Secrets Manager
//! through a live handle, and follow its rotations without a restart.
//!
//! - A rotation the handle adopts becomes the pool's connect options
//!   ([`PgPool::set_connect_options`]): new connections log in with the new password, open ones
//!   keep serving until the pool retires them (`max_lifetime`, `idle_timeout`).
//! - A login the database refuses (the password was changed before the cache saw the new
//!   version) makes one `refresh_now` for all the requests that met it, and they retry.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use asm_runtime::{AwsSecrets, ExposeSecret, Live, SecretCache, SecretString};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Postgres, Row};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

/// The database login, in the JSON shape of Secrets Manager's database secrets. `${APP_ENV}`
/// picks the deployment's secret (`prod/orders-db`…).
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "${APP_ENV}/orders-db")]
pub struct OrdersDb {
    /// The role to log in as (it switches under the alternating-users strategy).
    pub username: SecretString,
    /// Its password.
    pub password: SecretString,
    /// The server's host name.
    #[aws_secrets(public)]
    pub host: String,
    /// The server's port (a JSON number).
    #[aws_secrets(public)]
    pub port: u16,
    /// The database.
    #[aws_secrets(key = "dbname", public)]
    pub database: String,
}

impl OrdersDb {
    /// sqlx's connect options for this login. (`PgConnectOptions`' `Debug` prints the
    /// password: never log them.)
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .database(&self.database)
            .username(self.username.expose_secret())
            .password(self.password.expose_secret())
    }
}

/// A [`PgPool`] that follows the rotations of its credentials; cheap to clone (the axum
/// state).
#[derive(Clone)]
pub struct RotatingPool {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    cache: SecretCache,
    secret_id: String,
    adopted: watch::Sender<Adopted>,
    /// Held by the one request that refreshes after a refused login; the others wait on it.
    refreshing: tokio::sync::Mutex<()>,
    settings: Settings,
    counters: Counters,
    adopter: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.adopter.abort();
    }
}

/// The credentials the pool's connect options hold now, and how many rotations came before.
#[derive(Clone, Debug)]
pub struct Adopted {
    /// 1 for the credentials the pool started with, +1 per adopted rotation.
    pub generation: u32,
    /// The credentials.
    pub db: Arc<OrdersDb>,
}

/// How the pool is sized and how long a request waits for a rotation to be adopted.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// The pool's `max_connections`.
    pub max_connections: u32,
    /// The pool's `max_lifetime`: how long an open connection (maybe logged in with an old
    /// password) keeps serving.
    pub max_lifetime: Duration,
    /// How long a request retries after a refused login before it fails.
    pub login_retry_for: Duration,
    /// The least time between two `refresh_now` calls: the cache's `refresh_now_interval`.
    pub refresh_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            max_lifetime: Duration::from_secs(30 * 60),
            login_retry_for: Duration::from_secs(5),
            refresh_interval: Duration::from_secs(1),
        }
    }
}

/// What the pool has done since it was built.
#[derive(Debug, Default)]
struct Counters {
    refused_logins: AtomicU64,
    refresh_now_calls: AtomicU64,
    /// Connections opened, by credential generation and the role they logged in as.
    opened: Mutex<BTreeMap<(u32, String), u64>>,
}

/// A copy of the pool's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Logins the database refused (each was retried).
    pub refused_logins: u64,
    /// `refresh_now` calls made after refused logins.
    pub refresh_now_calls: u64,
    /// Connections opened, by credential generation and role.
    pub opened: BTreeMap<(u32, String), u64>,
    /// The generation the connect options hold now.
    pub generation: u32,
}

impl RotatingPool {
    /// Opens a pool with the handle's current credentials (one login, checked now) and starts
    /// a task that moves the pool to each rotation the handle adopts. `secret_id` is the secret
    /// `refresh_now` re-reads after a refused login.
    ///
    /// # Errors
    /// The first login failed.
    pub async fn connect(
        cache: SecretCache,
        live: Live<OrdersDb>,
        secret_id: &str,
        settings: Settings,
    ) -> Result<Self, sqlx::Error> {
        let first = live.current();
        let counters = Counters::default();
        let (adopted, _) = watch::channel(Adopted {
            generation: 1,
            db: Arc::clone(&first),
        });
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .max_lifetime(settings.max_lifetime)
                .acquire_timeout(settings.login_retry_for)
                .after_connect({
                    let weak = weak.clone();
                    move |conn, _| {
                        let weak = weak.clone();
                        Box::pin(async move {
                            let row = conn
                                .fetch_one(
                                    "SELECT current_user::text, current_setting('application_name')",
                                )
                                .await?;
                            if let Some(inner) = weak.upgrade() {
                                inner.count_opened(row.try_get(0)?, &row.try_get::<String, _>(1)?);
                            }
                            Ok(())
                        })
                    }
                })
                .connect_lazy_with(options(&first, 1));
            Inner {
                pool,
                cache,
                secret_id: secret_id.to_owned(),
                adopted,
                refreshing: tokio::sync::Mutex::new(()),
                settings,
                counters,
                adopter: tokio::spawn(adopt(live, weak.clone())),
            }
        });
        let this = Self { inner };
        drop(this.acquire().await?);
        Ok(this)
    }

    /// A connection; after a refused login, the credentials are re-read (once, for every
    /// request that met the refusal) and the login retried, for up to `login_retry_for`.
    ///
    /// # Errors
    /// sqlx's, when the database is unreachable or still refuses the login at the deadline.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let deadline = Instant::now() + self.inner.settings.login_retry_for;
        loop {
            let seen = self.inner.adopted.borrow().generation;
            match self.inner.pool.acquire().await {
                Err(e) if is_refused_login(&e) && Instant::now() < deadline => {
                    self.inner
                        .counters
                        .refused_logins
                        .fetch_add(1, Ordering::Relaxed);
                    self.inner.refresh_after_refusal(seen, deadline).await;
                }
                other => return other,
            }
        }
    }

    /// The credentials the pool's connect options hold now.
    pub fn adopted(&self) -> Adopted {
        self.inner.adopted.borrow().clone()
    }

    /// A receiver that sees each adoption.
    pub fn adoptions(&self) -> watch::Receiver<Adopted> {
        self.inner.adopted.subscribe()
    }

    /// The counters since the pool was built.
    pub fn stats(&self) -> PoolStats {
        let counters = &self.inner.counters;
        PoolStats {
            refused_logins: counters.refused_logins.load(Ordering::Relaxed),
            refresh_now_calls: counters.refresh_now_calls.load(Ordering::Relaxed),
            opened: counters
                .opened
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            generation: self.inner.adopted.borrow().generation,
        }
    }

    /// Closes the pool's connections and stops following rotations.
    pub async fn close(&self) {
        self.inner.adopter.abort();
        self.inner.pool.close().await;
    }
}

/// Shows the pool's counters, never its credentials.
impl fmt::Debug for RotatingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingPool")
            .field("secret_id", &self.inner.secret_id)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Moves the pool to `db`: connections opened from now on log in with it.
    fn adopt(&self, db: Arc<OrdersDb>) {
        let generation = self.adopted.borrow().generation + 1;
        self.pool.set_connect_options(options(&db, generation));
        self.adopted.send_replace(Adopted { generation, db });
    }

    /// After a login refused with generation `seen`: unless another request has already moved
    /// the pool on, re-reads the secret now, and waits (at most one refresh interval) for the
    /// live handle to adopt what it found. One caller at a time; the others find the pool moved
    /// on when their turn comes, or refresh again an interval later.
    async fn refresh_after_refusal(&self, seen: u32, deadline: Instant) {
        let Ok(_turn) = timeout(
            deadline.saturating_duration_since(Instant::now()),
            self.refreshing.lock(),
        )
        .await
        else {
            return;
        };
        let mut adopted = self.adopted.subscribe();
        if adopted.borrow().generation != seen {
            return;
        }
        self.counters
            .refresh_now_calls
            .fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.cache.refresh_now(&self.secret_id).await {
            eprintln!("refresh_now {}: {e}", self.secret_id);
        }
        let wait = self
            .settings
            .refresh_interval
            .min(deadline.saturating_duration_since(Instant::now()));
        let _ = timeout(wait, adopted.wait_for(|a| a.generation != seen)).await;
    }

    fn count_opened(&self, role: String, application_name: &str) {
        let generation = application_name
            .rsplit('#')
            .next()
            .and_then(|g| g.parse().ok())
            .unwrap_or_default();
        *self
            .counters
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((generation, role))
            .or_default() += 1;
    }
}

/// Connect options for `db`, tagged with the generation (as the connection's
/// `application_name`, so each connection says which credentials opened it).
fn options(db: &OrdersDb, generation: u32) -> PgConnectOptions {
    db.connect_options()
        .application_name(&format!("orders-service#{generation}"))
}

/// Follows the live handle until it stops or the pool is gone.
async fn adopt(mut live: Live<OrdersDb>, pool: Weak<Inner>) {
    while let Some(db) = live.changed().await {
        let Some(inner) = pool.upgrade() else { return };
        inner.adopt(db);
    }
}

/// Whether the database refused the login: `invalid_password` (28P01) or
/// `invalid_authorization_specification` (28000, e.g. no such role).
pub fn is_refused_login(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    matches!(db.code().as_deref(), Some("28P01" | "28000"))
}

/// The HTTP API: `GET /orders/{id}` reads one order through the rotating pool.
pub fn router(pool: RotatingPool) -> Router {
    Router::new()
        .route("/orders/{id}", get(order))
        .with_state(pool)
}

async fn order(
    State(pool): State<RotatingPool>,
    Path(id): Path<i32>,
) -> Result<String, (StatusCode, &'static str)> {
    let unavailable = |e: sqlx::Error| {
        eprintln!("GET /orders/{id}: {e}"); // sqlx's and PostgreSQL's messages hold no password
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    };
    let mut conn = pool.acquire().await.map_err(unavailable)?;
    let row = sqlx::query("SELECT item, quantity FROM orders WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)?
        .ok_or((StatusCode::NOT_FOUND, "no such order\n"))?;
    let item: String = row.try_get(0).map_err(unavailable)?;
    let quantity: i32 = row.try_get(1).map_err(unavailable)?;
    Ok(format!("{quantity} x {item}\n"))
}
