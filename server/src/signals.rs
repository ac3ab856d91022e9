//! The future that tells the broker to shut down gracefully.

use std::future::Future;

/// Resolves once this process's stdin reaches its end (or cannot be
/// read): `strom server --stop-on-stdin-close`. A parent holding the other
/// end of a stdin pipe takes the broker with it when it dies, even by
/// SIGKILL. The read runs on a thread of its own, so a stdin that never
/// closes holds up nothing, not even the runtime's shutdown.
pub fn stdin_closed() -> impl Future<Output = ()> + Send + 'static {
    let (closed, on_close) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buffer = [0u8; 256];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = closed.send(());
    });
    async move {
        if on_close.await.is_ok() {
            tracing::info!("stdin closed (--stop-on-stdin-close), shutting down");
        }
    }
}

/// Resolves on the first SIGINT or SIGTERM. The handlers are installed
/// here, before the broker starts, so a failure to install them is reported
/// at startup instead of the broker becoming unkillable by signal.
/// Must be called inside a tokio runtime.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}

/// Resolves on Ctrl-C (platforms without Unix signals).
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C received, shutting down");
        }
    })
}
