//! The bearer token: with `http.token` set, a request without `Authorization: Bearer <token>`
//! gets 401. The comparison takes the same time whatever the given token's first wrong byte
//! (only its length can show), so the token cannot be guessed byte by byte from timings.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use subtle::ConstantTimeEq;

use super::Context;

/// Lets the request through when no token is configured or it carries the right one.
pub async fn require_token(
    State(context): State<Arc<Context>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &context.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let accepted = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.expose().as_bytes())));
    if accepted {
        return next.run(request).await;
    }
    let why = if given.is_some() {
        "the bearer token is not the configured one (http.token)"
    } else {
        "this endpoint asks for `Authorization: Bearer <token>` (http.token is set)"
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"semaforo\"")],
        Json(serde_json::json!({ "error": why })),
    )
        .into_response()
}
