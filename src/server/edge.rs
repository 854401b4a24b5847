//! The two layers every request crosses, written as plain tower services.
//!
//! - [`EdgeLayer`], around everything: counts every answer in the metrics, refuses oversized
//!   headers with 431 before anything parses them, and puts the security headers on every
//!   response (a refusal's too).
//! - [`CsrfLayer`], inside the request span: refuses cross-site requests that could change
//!   state (`server::csrf`) before any handler or server function runs.
//!
//! They were `axum::middleware::from_fn` functions. Each of those boxes its future and clones
//! every layer inside it on each request; under `/healthz` load that was a measurable share of
//! the CPU (BENCHMARKS.md, issue 27). These do their work in `call` and in one small future
//! that is not boxed.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use axum::{
    BoxError,
    body::{Body, Bytes, HttpBody},
    extract::{MatchedPath, Request},
    http::{self, HeaderValue, Method, header},
    response::Response,
};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::{
    assets, csrf, headers,
    metrics::{self, Metrics},
    speculation,
};

/// The outermost layer; see the module's documentation.
#[derive(Clone)]
pub struct EdgeLayer {
    metrics: Metrics,
    /// Production serves only HTTPS, so it sends `Strict-Transport-Security`.
    production: bool,
}

impl EdgeLayer {
    pub fn new(metrics: Metrics, production: bool) -> Self {
        Self {
            metrics,
            production,
        }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Edge {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`EdgeLayer`] makes.
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    layer: EdgeLayer,
}

/// What [`Edge`] keeps of a request to finish its response.
struct Finish {
    /// `Cache-Control: no-store` goes on everything but static files.
    static_file: bool,
    production: bool,
    /// The route, method and start of a request the metrics count.
    counted: Option<(Metrics, Option<MatchedPath>, Method, Instant)>,
}

/// The inner service may answer any body type (the tower-http layers inside wrap theirs); the
/// edge hands on axum's `Body`, which does not box a body that is one already.
impl<S, B> Service<Request> for Edge<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        speculation::hide_one_time_cookies(&mut request);
        let metrics = &self.layer.metrics;
        let static_file = assets::is_static(request.uri().path());
        let counted = metrics.is_enabled().then(|| {
            (
                metrics.clone(),
                request.extensions().get::<MatchedPath>().cloned(),
                request.method().clone(),
                Instant::now(),
            )
        });
        let finish = Finish {
            static_file,
            production: self.layer.production,
            counted,
        };
        let state = match headers::oversized(request.headers()) {
            Some(refusal) => State::Refused {
                response: Some(refusal),
            },
            None => State::Inner {
                future: self.inner.call(request),
            },
        };
        EdgeFuture {
            state,
            finish: Some(finish),
        }
    }
}

pin_project! {
    /// The response of [`Edge`]: the inner service's, or its own 431, finished the same way.
    pub struct EdgeFuture<F> {
        #[pin]
        state: State<F>,
        finish: Option<Finish>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response> },
    }
}

impl<F, B> Future for EdgeFuture<F>
where
    F: Future<Output = Result<http::Response<B>, Infallible>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.state.project() {
            StateProjection::Inner { future } => match future.poll(cx) {
                Poll::Ready(Ok(response)) => response.map(Body::new),
                Poll::Pending => return Poll::Pending,
            },
            StateProjection::Refused { response } => response
                .take()
                .expect("EdgeFuture polled after it completed"),
        };
        let finish = this
            .finish
            .take()
            .expect("EdgeFuture polled after it completed");
        security_headers(&mut response, &finish);
        if let Some((metrics, route, method, started)) = finish.counted {
            let route = metrics::route_label(route.as_ref(), finish.static_file);
            metrics.request(route, &method, response.status(), started.elapsed());
        }
        Poll::Ready(Ok(response))
    }
}

/// Adds the security headers to `response` (keeping a CSP a page already set with its nonce),
/// and `Cache-Control: no-store` to everything but static files, so no page, token or personal
/// data is kept by a browser or a shared cache.
fn security_headers(response: &mut Response, finish: &Finish) {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(headers::DEFAULT_POLICY),
        );
    }
    for (name, value) in headers::fixed_headers() {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if finish.production {
        // Two years, as the HSTS preload list asks; production serves only HTTPS.
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if !finish.static_file {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The CSRF guard as a layer; see the module's documentation and `server::csrf`.
#[derive(Clone, Copy)]
pub struct CsrfLayer;

impl<S> Layer<S> for CsrfLayer {
    type Service = Csrf<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Csrf { inner }
    }
}

/// The service [`CsrfLayer`] makes.
#[derive(Clone)]
pub struct Csrf<S> {
    inner: S,
}

impl<S> Service<Request> for Csrf<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CsrfFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match csrf::refusal(&request) {
            Some(response) => CsrfFuture::Refused {
                response: Some(response),
            },
            None => CsrfFuture::Inner {
                future: self.inner.call(request),
            },
        }
    }
}

pin_project! {
    /// The response of [`Csrf`]: the inner service's, or its 403.
    #[project = CsrfProjection]
    pub enum CsrfFuture<F> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response> },
    }
}

impl<F> Future for CsrfFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CsrfProjection::Inner { future } => future.poll(cx),
            CsrfProjection::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("CsrfFuture polled after it completed"))),
        }
    }
}
