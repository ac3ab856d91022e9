//! The console's routes: its page and assets, and the `/v1` API, all
//! behind [`super::guard`].

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{
    actions, api, browse, console, guard, history, read_view, run_action, Failure, Status,
};

type Shared = State<Arc<Status>>;

pub fn console(status: Arc<Status>) -> Router<Arc<Status>> {
    Router::new()
        .route("/", get(console::page))
        .route("/console/{asset}", get(console::asset))
        .route("/v1/cluster", get(cluster))
        .route("/v1/topics", get(topics).post(create_topic))
        .route("/v1/topics/{name}", get(topic).delete(delete_topic))
        .route("/v1/topics/{name}/records", get(records))
        .route("/v1/groups", get(groups))
        .route("/v1/groups/{id}", get(group))
        .route("/v1/groups/{id}/reset-offsets", post(reset_offsets))
        .route("/v1/history", get(history))
        .layer(middleware::from_fn_with_state(status, guard::check))
}

async fn cluster(State(status): Shared) -> Response {
    read_view(status, |broker, status| {
        Ok(api::cluster(broker, &status.console))
    })
    .await
}

async fn topics(State(status): Shared) -> Response {
    read_view(status, |broker, _| Ok(api::topics(broker))).await
}

async fn topic(State(status): Shared, Path(name): Path<String>) -> Response {
    read_view(status, move |broker, _| api::topic(broker, &name)).await
}

async fn records(
    State(status): Shared,
    Path(name): Path<String>,
    Query(query): Query<browse::Query>,
) -> Response {
    // Held across the blocking read: [`browse::MAX_AT_ONCE`] at a time.
    let Ok(_browsing) = status.browsing.try_acquire() else {
        return super::busy();
    };
    read_view(status.clone(), move |broker, status| {
        if !status.console.browse_records {
            return Err(Failure::forbidden(
                status.console.reason.unwrap_or("browsing records is off"),
            ));
        }
        browse::records(broker, &name, &query)
    })
    .await
}

async fn groups(State(status): Shared) -> Response {
    read_view(status, |broker, _| Ok(api::groups(broker))).await
}

async fn group(State(status): Shared, Path(id): Path<String>) -> Response {
    read_view(status, move |broker, _| api::group(broker, &id)).await
}

async fn history(State(status): Shared, Query(query): Query<history::Query>) -> Response {
    read_view(status, move |_, status| Ok(status.history.view(&query))).await
}

async fn create_topic(
    State(status): Shared,
    topic: Result<Json<actions::NewTopic>, JsonRejection>,
) -> Response {
    let Json(topic) = match topic {
        Ok(topic) => topic,
        Err(rejected) => return bad_body(rejected),
    };
    let mut created = run_action(status, |broker| async move {
        actions::create_topic(&broker, topic).await
    })
    .await;
    if created.status().is_success() {
        *created.status_mut() = axum::http::StatusCode::CREATED;
    }
    created
}

async fn delete_topic(State(status): Shared, Path(name): Path<String>) -> Response {
    run_action(status, |broker| async move {
        actions::delete_topic(&broker, &name).await
    })
    .await
}

async fn reset_offsets(
    State(status): Shared,
    Path(id): Path<String>,
    reset: Result<Json<actions::Reset>, JsonRejection>,
) -> Response {
    let Json(reset) = match reset {
        Ok(reset) => reset,
        Err(rejected) => return bad_body(rejected),
    };
    run_action(status, |broker| async move {
        actions::reset_offsets(&broker, &id, reset).await
    })
    .await
}

/// A body that is not the JSON an action takes, answered like every
/// other failure (`{"error": ...}`) with axum's words.
fn bad_body(rejected: JsonRejection) -> Response {
    Failure::new(rejected.status(), rejected.body_text()).into_response()
}
