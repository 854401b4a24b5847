//! The server binary: configuration, database, router, and a graceful shutdown.

/// Only for the allocator A/B of `bench/run` (BENCHMARKS.md): glibc's malloc unless the
/// `mimalloc` feature is on.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    use std::process::ExitCode;

    use clap::Parser;
    use tasks::server::{cli::Cli, config::LogFormat};

    // Arguments first: `tasks --help` and usage errors need no configuration.
    let cli = Cli::parse();
    // Configuration next, and before the async runtime starts its threads: loading `.env`
    // writes the process environment, which is only sound while no other thread reads it.
    let config = server_main::load_config();
    // Even a failed configuration gets a log: readable text, the safe guess.
    let format = config.as_ref().map_or(LogFormat::Text, |c| c.log_format);
    server_main::init_tracing(format, cli.command.is_some());
    let config = match config {
        Ok(config) => config,
        Err(err) => {
            server_main::report_failure(&err);
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            server_main::report_failure(&format!("could not start the async runtime: {err}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server_main::run(config, cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(tasks::server::error::StartupError::Command(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Err(err) => {
            server_main::report_failure(&err);
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "ssr")]
mod server_main {
    use tasks::server::{
        self, AppState,
        cli::{self, Command},
        config::{self, Config, ConfigError, LogFormat, SecretSource},
        db,
        error::StartupError,
    };
    use tracing_subscriber::{EnvFilter, fmt, prelude::*};

    /// Reads `.env` (the only place that does) into the environment, then the configuration
    /// from the environment.
    pub fn load_config() -> Result<Config, ConfigError> {
        config::load_dotenv()?;
        Config::from_env()
    }

    /// Logs go to stderr: one JSON object per line (`LOG_FORMAT=json`, the default in
    /// production) for log collectors, or readable text (the default in development).
    /// `RUST_LOG` filters them (read by tracing-subscriber itself).
    /// A command (`tasks admin …`) prints its own result on stdout; its log shows only
    /// warnings and errors unless `RUST_LOG` asks for more.
    pub fn init_tracing(format: LogFormat, command: bool) {
        let default = if command {
            "warn"
        } else {
            "info,sqlx=warn,tower_http=info"
        };
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
        let registry = tracing_subscriber::registry().with(filter);
        match format {
            LogFormat::Json => registry
                .with(
                    fmt::layer()
                        .json()
                        .with_current_span(true)
                        .with_span_list(false)
                        .with_writer(std::io::stderr),
                )
                .init(),
            LogFormat::Text => registry
                .with(fmt::layer().with_writer(std::io::stderr))
                .init(),
        }
    }

    /// Says why the server (or a command) stops. Straight to stderr when `RUST_LOG` filters errors out: a
    /// server that refuses to start must always say why.
    pub fn report_failure(err: &dyn std::fmt::Display) {
        if tracing::enabled!(tracing::Level::ERROR) {
            tracing::error!("startup failed: {err}");
        } else {
            eprintln!("startup failed: {err}");
        }
    }

    pub async fn run(config: Config, command: Option<Command>) -> Result<(), StartupError> {
        let command = match command {
            None | Some(Command::Serve) => return serve(config).await,
            Some(command) => command,
        };
        let pool = db::Db::connect(&config.database_url, &config.db).await?;
        let outcome = match &command {
            Command::Serve => unreachable!("served above"),
            Command::Migrate => cli::migrate(&pool).await,
            Command::Backup { path } => cli::backup(&pool, path).await,
            Command::Admin { action } => {
                let leptos = leptos_options()?;
                let state = AppState::new(config, pool.clone(), leptos).await?;
                cli::admin(&state, action).await
            }
        };
        pool.close().await;
        match outcome {
            Ok(done) => {
                println!("{done}");
                Ok(())
            }
            Err(err) => Err(StartupError::Command(err.0)),
        }
    }

    fn leptos_options() -> Result<leptos::config::LeptosOptions, StartupError> {
        let mut leptos = leptos::config::get_configuration(None)
            .map_err(|e| StartupError::Leptos(e.to_string()))?
            .leptos_options;
        server::assets::detect_hashed_files(&mut leptos);
        Ok(leptos)
    }

    async fn serve(config: Config) -> Result<(), StartupError> {
        match config.secret_source {
            SecretSource::Environment => tracing::info!("JWT secret: from JWT_SECRET"),
            SecretSource::DevFile { generated } => tracing::warn!(
                path = %config.data_dir.join("jwt_secret.dev").display(),
                generated,
                "JWT_SECRET is not set: using a development secret stored in DATA_DIR \
                 (owner-only file). Set JWT_SECRET and APP_ENV=production in production."
            ),
        }
        if !config.cookie_secure {
            tracing::warn!(
                "COOKIE_SECURE=false: the auth cookie is sent over plain HTTP (development only)"
            );
        }
        let leptos = leptos_options()?;
        let addr = leptos.site_addr;
        // Plain-HTTP cookies are for a developer's own machine only.
        if !config.cookie_secure && !addr.ip().is_loopback() {
            return Err(StartupError::InsecureCookiesOffLoopback(addr));
        }
        let pool = db::Db::connect(&config.database_url, &config.db).await?;
        tracing::info!(
            engine = pool.engine(),
            "database ready (migrations applied)"
        );
        let emails = db::users::normalize_stored_emails(&pool)
            .await
            .map_err(StartupError::Database)?;
        if emails.rewritten > 0 {
            tracing::info!(
                accounts = emails.rewritten,
                "emails rewritten with their domain in IDNA ASCII form (one mailbox, one account)"
            );
        }
        if !emails.conflicts.is_empty() {
            tracing::warn!(
                user_ids = ?emails.conflicts,
                "these accounts' emails name the same mailbox as another account's once their domain \
                 is normalized; they were left unchanged and cannot log in with that address. \
                 Merge or delete one of each pair (README: \"Email addresses\")"
            );
        }
        let (header_read_timeout, max_connections, max_connections_per_ip) = (
            config.header_read_timeout,
            config.max_connections,
            config.max_connections_per_ip,
        );
        let metrics_addr = config.metrics_addr;
        if config.metrics_token.is_some() {
            tracing::info!("metrics: GET /metrics on the main port, with METRICS_TOKEN");
        }
        let state = AppState::new(config, pool.clone(), leptos).await?;
        server::audit::spawn_retention(state.clone());
        if state.mail.is_mailbox() {
            tracing::info!(
                "mail: no SMTP_URL, so mail is kept in the database and shown at /dev/mailbox \
                 (development only)"
            );
        } else if !state.mail.enabled() {
            tracing::warn!(
                "mail: no SMTP_URL, so no mail is sent: no address verification, and nobody can \
                 reset a forgotten password by mail. Set SMTP_URL, MAIL_FROM and PUBLIC_URL"
            );
        }
        server::mail::spawn_sender(state.mail.clone(), state.db.clone());
        let metrics_listener = match metrics_addr {
            Some(addr) => Some(serve_metrics(addr, state.clone(), header_read_timeout).await?),
            None => None,
        };
        let app = server::app(state);

        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let open_files = server::serve::raise_file_limit();
        let limits = server::serve::ConnectionLimits {
            header_read_timeout,
            max_connections: server::serve::connection_cap(max_connections, open_files),
            max_connections_per_ip,
        };
        if limits.max_connections < max_connections {
            tracing::warn!(
                max_connections = limits.max_connections,
                open_files,
                "MAX_CONNECTIONS lowered to what the open-files limit leaves room for; raise \
                 the limit (ulimit -n, LimitNOFILE= in systemd) to allow more"
            );
        }
        tracing::info!("listening on http://{addr}");
        server::serve::serve(listener, app, limits, shutdown_signal()).await;
        // Scrapes keep working while the requests in flight finish; then the metrics stop too.
        if let Some((stop, serving)) = metrics_listener {
            drop(stop);
            if let Err(err) = serving.await {
                tracing::error!(%err, "the metrics listener failed");
            }
        }
        // In-flight requests have finished; close the pool so SQLite checkpoints its WAL.
        pool.close().await;
        tracing::info!("shut down cleanly");
        Ok(())
    }

    /// Starts the `METRICS_ADDR` listener: `GET /metrics` without authentication, and nothing
    /// else. It serves until the returned sender is dropped.
    async fn serve_metrics(
        addr: std::net::SocketAddr,
        state: AppState,
        header_read_timeout: std::time::Duration,
    ) -> Result<
        (
            tokio::sync::oneshot::Sender<()>,
            tokio::task::JoinHandle<()>,
        ),
        StartupError,
    > {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::MetricsBind { addr, source })?;
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "METRICS_ADDR is not a loopback address: /metrics there needs no token, so \
                 keep that port reachable only from Prometheus (a private network or firewall)"
            );
        }
        tracing::info!("metrics on http://{addr}/metrics");
        let limits = server::serve::ConnectionLimits {
            header_read_timeout,
            // A few Prometheus servers scrape it, one connection each.
            max_connections: 32,
            max_connections_per_ip: 0,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server::serve::serve(
            listener,
            server::metrics::listener_router(state),
            limits,
            async {
                let _ = stopped.await;
            },
        ));
        Ok((stop, serving))
    }

    async fn shutdown_signal() {
        let ctrl_c = async {
            if let Err(err) = tokio::signal::ctrl_c().await {
                tracing::error!(%err, "could not listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        };
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(err) => {
                    tracing::error!(%err, "could not listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
        tracing::info!("shutdown signal received: finishing in-flight requests");
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is built with `ssr`; the wasm bundle is the library built with `hydrate`.
}
