//! Keeping something alive for exactly as long as a response body: the request log line and the
//! request metrics are recorded when the body ends (a watch is measured to its last event), by a
//! guard whose `Drop` does the work.
//!
//! The wrapper forwards `size_hint` and `is_end_stream`, so a body of known length keeps its
//! `Content-Length` (http-body-util's `MapFrame` does not forward the size, and hyper would then
//! switch every response to chunked encoding).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// `response` with `guard` dropped when its body is finished or dropped.
pub fn drop_with_body<G: Send + Unpin + 'static>(response: Response, guard: G) -> Response {
    let (parts, inner) = response.into_parts();
    Response::from_parts(
        parts,
        Body::new(GuardedBody {
            inner,
            _guard: guard,
        }),
    )
}

/// A body and the value that lives as long as it.
struct GuardedBody<G> {
    inner: Body,
    _guard: G,
}

impl<G: Unpin> HttpBody for GuardedBody<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn the_size_is_kept_and_the_guard_lives_until_the_body_is_read() {
        let dropped = Arc::new(AtomicBool::new(false));
        let response = drop_with_body(Response::new(Body::from("hello")), Flag(dropped.clone()));
        assert_eq!(response.body().size_hint().exact(), Some(5));
        assert!(!dropped.load(Ordering::SeqCst));
        let bytes = axum::body::to_bytes(response.into_body(), 64)
            .await
            .expect("body");
        assert_eq!(&bytes[..], b"hello");
        assert!(dropped.load(Ordering::SeqCst));
    }
}
