//! The routes and their handlers: thin, each reads the latest snapshot (or a camera's latest
//! picture) and answers.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};

use super::{auth, dashboard, events, health, metrics, Context};

/// A camera's picture younger than this is served as it is.
const PICTURE_MAX_AGE: Duration = Duration::from_secs(1);

/// How long a request waits for a camera's next picture.
const PICTURE_WAIT: Duration = Duration::from_secs(2);

/// Every endpoint.
pub fn router(context: Arc<Context>) -> Router {
    let guarded = Router::new()
        .route("/api/status", get(status))
        .route("/api/events", get(events::recent))
        .route("/api/events/stream", get(events::stream))
        .route("/api/cameras/{name}/snapshot.jpg", get(picture))
        .route("/metrics", get(metrics::scrape))
        .route_layer(middleware::from_fn_with_state(
            context.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/health", get(health::health))
        .merge(dashboard::routes())
        .merge(guarded)
        .fallback(not_found)
        .with_state(context)
}

/// A JSON error.
pub fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The snapshot, with the health checks on it (so the dashboard needs no second request,
/// and never a 503 in its console).
async fn status(State(context): State<Arc<Context>>) -> Response {
    let snapshot = context.snapshots.borrow().clone();
    let health = health::evaluate(&snapshot, snapshot.published.elapsed());
    let mut body = match serde_json::to_value(snapshot.as_ref()) {
        Ok(body) => body,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot write the status: {e}"),
            )
        }
    };
    body["health"] = serde_json::to_value(&health).unwrap_or_default();
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn picture(State(context): State<Arc<Context>>, Path(name): Path<String>) -> Response {
    let Some(view) = context.views.iter().find(|v| v.camera == name) else {
        let known: Vec<&str> = context.views.iter().map(|v| v.camera.as_str()).collect();
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no camera named `{name}`; the cameras are {}",
                known.join(", ")
            ),
        );
    };
    match view.fresh_picture(PICTURE_MAX_AGE, PICTURE_WAIT).await {
        Some(picture) => (
            [
                (header::CONTENT_TYPE, "image/jpeg".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (
                    header::HeaderName::from_static("x-semaforo-frame"),
                    picture.frame.to_string(),
                ),
            ],
            picture.jpeg.clone(),
        )
            .into_response(),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("camera `{name}` has given no frame yet (see /api/status for its state)"),
        ),
    }
}

async fn not_found(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint {}; there are /, /health, /api/status, /api/events, \
             /api/events/stream, /api/cameras/<name>/snapshot.jpg and /metrics",
            uri.path()
        ),
    )
}
