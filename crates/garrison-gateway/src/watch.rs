//! Reload triggers: the configuration file changing on disk, and `SIGHUP`.

use std::path::Path;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::server::Reloader;

/// Watches the configuration file and reloads when it changes. The directory is watched, not
/// the file, because editors and deployment tools replace files by renaming over them. Bursts
/// of events are collapsed into one reload. Returns the watcher, which must be kept alive.
pub fn watch_config(reloader: Reloader) -> notify::Result<notify::RecommendedWatcher> {
    let path = reloader.config_path().to_path_buf();
    let file_name = path.file_name().map(|n| n.to_os_string());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name);
        if ours && !event.kind.is_access() {
            let _ = tx.try_send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let the writer finish: editors often write a file in several steps.
            tokio::time::sleep(Duration::from_millis(150)).await;
            while rx.try_recv().is_ok() {}
            let _ = reloader.reload_off_thread().await;
        }
    });
    Ok(watcher)
}

/// Reloads on every `SIGHUP` until the process ends.
#[cfg(unix)]
pub fn reload_on_sighup(reloader: Reloader) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            let _ = reloader.reload_off_thread().await;
        }
    });
    Ok(())
}
