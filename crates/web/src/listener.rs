//! The socket the hall listens on, guarded: at most [`MAX_CONNECTIONS`] open connections, at
//! most [`MAX_PER_ADDRESS`] from one client address, and a connection that neither sends nor
//! receives anything for [`IDLE`] is closed. Half-open connections that send half a header
//! and wait (slowloris) therefore cannot pile up until the process runs out of file
//! descriptors. Connections over a limit are accepted and closed at once, so the listening
//! queue never fills.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// Open connections at most.
pub const MAX_CONNECTIONS: usize = 4096;
/// Open connections from one client address at most.
pub const MAX_PER_ADDRESS: usize = 128;
/// A connection silent for this long in both directions is closed.
pub const IDLE: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A TCP listener with the limits above.
pub struct Guarded {
    inner: TcpListener,
    counts: Arc<Mutex<Counts>>,
    max: usize,
    per_ip: usize,
    idle: Duration,
}

impl Guarded {
    /// Guards `inner` with the default limits.
    pub fn new(inner: TcpListener) -> Self {
        Self::with_limits(inner, MAX_CONNECTIONS, MAX_PER_ADDRESS, IDLE)
    }

    /// Guards `inner` with the given limits (tests use small ones).
    pub fn with_limits(inner: TcpListener, max: usize, per_ip: usize, idle: Duration) -> Self {
        Self {
            inner,
            counts: Arc::default(),
            max,
            per_ip,
            idle,
        }
    }

    fn admit(&self, ip: IpAddr) -> bool {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let from = c.per_ip.get(&ip).copied().unwrap_or(0);
        if c.total >= self.max || from >= self.per_ip {
            return false;
        }
        c.total += 1;
        c.per_ip.insert(ip, from + 1);
        true
    }
}

impl axum::serve::Listener for Guarded {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // little and go on, as axum's own listener does.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if !self.admit(addr.ip()) {
                tracing::warn!(client.ip = %addr.ip(), "connection refused: connection limit");
                drop(stream);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let conn = Conn {
                stream,
                idle: self.idle,
                deadline: Box::pin(tokio::time::sleep(self.idle)),
                release: Release {
                    counts: self.counts.clone(),
                    ip: addr.ip(),
                },
            };
            return (conn, addr);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

struct Release {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Release {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// An accepted connection: the stream, its idle deadline, and its place in the counts
/// (given back when it is dropped).
pub struct Conn {
    stream: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    #[allow(dead_code)] // held for its Drop
    release: Release,
}

impl Conn {
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed(&mut self) {
        let idle = self.idle;
        self.deadline.as_mut().reset(Instant::now() + idle);
    }
}

use std::future::Future;

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.poll_idle(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.progressed();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.poll_idle(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.progressed();
                }
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn hall(max: usize, per_ip: usize) -> SocketAddr {
        use axum::serve::ListenerExt;
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let g = Guarded::with_limits(l, max, per_ip, Duration::from_secs(20)).tap_io(|_| {});
        tokio::spawn(async move {
            axum::serve(
                g,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        addr
    }

    /// Opens a connection and sends half a request header, as slowloris does.
    async fn half(addr: SocketAddr) -> TcpStream {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        s
    }

    /// Whether a full request gets an answer (false: the connection was closed).
    async fn answered(addr: SocketAddr) -> bool {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .is_err()
        {
            return false;
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        out.starts_with(b"HTTP/1.1 200")
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_connections_are_capped_and_time_out() {
        let addr = hall(64, 4).await;
        let held: Vec<TcpStream> = futures_join(addr, 4).await;
        assert!(
            !answered(addr).await,
            "a fifth connection from one address is closed"
        );
        // Silent for longer than IDLE (the paused clock moves on while everyone waits):
        // the half-open ones are closed and the address may connect again.
        for mut s in held {
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(IDLE * 2, s.read(&mut buf)).await;
            assert!(
                matches!(n, Ok(Ok(0)) | Ok(Err(_))),
                "closed when idle: {n:?}"
            );
        }
        assert!(answered(addr).await);
    }

    #[tokio::test(start_paused = true)]
    async fn the_total_is_capped_too() {
        let addr = hall(3, 100).await;
        let _held = futures_join(addr, 3).await;
        assert!(!answered(addr).await);
    }

    async fn futures_join(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(half(addr).await);
        }
        // Let the server accept them all.
        tokio::task::yield_now().await;
        v
    }
}
