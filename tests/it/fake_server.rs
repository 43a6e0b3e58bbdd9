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

/// Faults injected into the next matching requests, taken in the order they were added.
pub struct Faults<F> {
    pending: Vec<Pending<F>>,
}

struct Pending<F> {
    method: String,
    path_prefix: String,
    fault: F,
    left: usize,
}

impl<F> Default for Faults<F> {
    fn default() -> Faults<F> {
        Faults {
            pending: Vec::new(),
        }
    }
}

impl<F: Clone> Faults<F> {
    /// `fault` for the next `times` requests of `method` whose path starts with `path_prefix`.
    pub fn add(&mut self, method: &str, path_prefix: &str, fault: F, times: usize) {
        self.pending.push(Pending {
            method: method.into(),
            path_prefix: path_prefix.into(),
            fault,
            left: times,
        });
    }

    /// The fault for a request of `method` on `path`, counted as used; `None` when none waits.
    pub fn take(&mut self, method: &str, path: &str) -> Option<F> {
        let f = self
            .pending
            .iter_mut()
            .find(|f| f.left > 0 && f.method == method && path.starts_with(&f.path_prefix))?;
        f.left -= 1;
        Some(f.fault.clone())
    }
}
