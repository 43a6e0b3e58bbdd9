//! What the fake GitHub and GitLab servers share: a real HTTP server on loopback (axum, on a
//! runtime of its own in a background thread) that stops, and is waited for, when dropped. It
//! knows nothing of either service.

use std::net::{SocketAddr, TcpListener};

/// A free loopback port, bound and ready to be served.
pub fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A server running in its own thread; stops when dropped.
pub struct Running {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Serves `app` on `listener`, and each of `beside` on its own listener until `app` stops.
    pub fn serve(
        listener: TcpListener,
        app: axum::Router,
        beside: Vec<(TcpListener, axum::Router)>,
    ) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                for (listener, app) in beside {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    // Stops with the runtime, when the main server stops.
                    tokio::spawn(async move {
                        let _ = axum::serve(listener, app).await;
                    });
                }
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        Running {
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
