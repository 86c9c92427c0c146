//! `garrison citizen serve`: the granular citizen APIs over a population store, as one HTTP
//! service for the gateway to route to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use garrison_citizen::{CitizenService, ServiceOptions};

#[derive(Subcommand)]
pub(crate) enum CitizenCommand {
    /// Serve citizen match, details, address, claims and income (contracts/citizen-*.yaml)
    /// over a population store, in plain HTTP/1.1 for the gateway to route to: bind it to
    /// loopback or an internal network only. Requests must carry the gateway's
    /// garrison-consumer header.
    Serve {
        /// The population store (see `garrison population generate`).
        #[arg(long, default_value = ".garrison/population.db")]
        store: PathBuf,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Seconds a match id may be used.
        #[arg(long, default_value_t = 600)]
        match_ttl: u64,
        /// The most match ids held at once; further matches are refused (503) until some
        /// expire.
        #[arg(long, default_value_t = 1_000_000)]
        max_matches: usize,
    },
}

pub(crate) async fn citizen(command: CitizenCommand) -> Result<(), String> {
    match command {
        CitizenCommand::Serve {
            store,
            listen,
            match_ttl,
            max_matches,
        } => {
            let options = ServiceOptions::default()
                .with_match_ttl(Duration::from_secs(match_ttl))
                .with_max_matches(max_matches);
            let service = CitizenService::new(&store, options).map_err(|e| e.to_string())?;
            let people = service.meta().people;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let bound = listener
                .local_addr()
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            tracing::info!(address = %bound, people, "citizen service listening");
            garrison_citizen::serve(listener, Arc::new(service), async {
                crate::gateway::wait_for_stop().await;
                tracing::info!("stopping: finishing in-flight requests");
            })
            .await;
            Ok(())
        }
    }
}
