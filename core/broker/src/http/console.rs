//! The web console's page and assets, compiled into the binary: plain
//! HTML, CSS and JavaScript written in `console/` (no build step, nothing
//! fetched from elsewhere), served with a strict Content-Security-Policy
//! by [`super::guard`].

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("console/index.html");
const APP_JS: &str = include_str!("console/app.js");
const STYLE_CSS: &str = include_str!("console/style.css");

pub async fn page() -> Response {
    served("text/html; charset=utf-8", INDEX_HTML)
}

pub async fn asset(Path(asset): Path<String>) -> Response {
    match asset.as_str() {
        "app.js" => served("text/javascript; charset=utf-8", APP_JS),
        "style.css" => served("text/css; charset=utf-8", STYLE_CSS),
        _ => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}

fn served(content_type: &'static str, body: &'static str) -> Response {
    // Revalidated each time: a broker upgraded in place serves its own
    // console, not the browser's cached one.
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
