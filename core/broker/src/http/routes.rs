//! The console's routes: its page and assets, and the `/v1` API, all
//! behind [`super::guard`].

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::peers::{self, Scope};
use super::{
    actions, api, browse, console, guard, history, read_value, read_view, run_action, Failure,
    Status,
};
use crate::metrics::collect::MAX_GROUPS;
use crate::state::Broker;

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

async fn topics(State(status): Shared, Query(scope): Query<Scope>) -> Response {
    let local = match read_value(status.clone(), |broker, _| Ok(api::topics(broker))).await {
        Ok(local) => local,
        Err(refused) => return refused,
    };
    let Some(broker) = peers::gathering(status.broker(), &scope) else {
        return Json(local).into_response();
    };
    let answers = peers::ask_all(&broker, "/v1/topics?local=1").await;
    Json(peers::merge_topics(local, broker.node_id, &answers)).into_response()
}

async fn topic(
    State(status): Shared,
    Path(name): Path<String>,
    Query(scope): Query<Scope>,
) -> Response {
    let path = format!("/v1/topics/{}?local=1", peers::escape(&name));
    let local = match read_value(status.clone(), move |broker, _| api::topic(broker, &name)).await {
        Ok(local) => local,
        Err(refused) => return refused,
    };
    let Some(broker) = peers::gathering(status.broker(), &scope) else {
        return Json(local).into_response();
    };
    let answers = peers::ask_all(&broker, &path).await;
    Json(peers::merge_topics(local, broker.node_id, &answers)).into_response()
}

async fn records(
    State(status): Shared,
    Path(name): Path<String>,
    Query(query): Query<browse::Query>,
    Query(scope): Query<Scope>,
) -> Response {
    if !status.console.browse_records {
        let reason = status.console.reason.unwrap_or("browsing records is off");
        return Failure::forbidden(reason).into_response();
    }
    let path = format!(
        "/v1/topics/{}/records?{}&local=1",
        peers::escape(&name),
        query.to_query()
    );
    let limit = query.limit();
    let one_partition = query.partition.is_some();
    // Held across the blocking read: [`browse::MAX_AT_ONCE`] at a time.
    let Ok(browsing) = status.browsing.try_acquire() else {
        return super::busy();
    };
    let local = read_value(status.clone(), move |broker, _| {
        browse::records(broker, &name, &query)
    })
    .await;
    drop(browsing);
    let Some(broker) = peers::gathering(status.broker(), &scope) else {
        return local.map_or_else(|refused| refused, |v| Json(v).into_response());
    };
    match local {
        // One partition, held here.
        Ok(local) if one_partition => Json(local).into_response(),
        // One partition, held elsewhere: its holders answer.
        Err(refused) if one_partition && refused.status() == StatusCode::NOT_FOUND => {
            let answers = peers::ask_all(&broker, &path).await;
            match answers.into_iter().next() {
                Some((_, answer)) => Json(answer).into_response(),
                None => refused,
            }
        }
        Err(refused) => refused,
        Ok(local) => {
            let answers = peers::ask_all(&broker, &path).await;
            Json(peers::merge_records(local, &answers, limit)).into_response()
        }
    }
}

async fn groups(State(status): Shared, Query(scope): Query<Scope>) -> Response {
    let local = match read_value(status.clone(), |broker, _| Ok(api::groups(broker))).await {
        Ok(local) => local,
        Err(refused) => return refused,
    };
    let Some(broker) = peers::gathering(status.broker(), &scope) else {
        return Json(local).into_response();
    };
    let (groups, topics) = tokio::join!(
        peers::ask_all(&broker, "/v1/groups?local=1"),
        cluster_topics(&status, &broker)
    );
    let mut merged = peers::merge_groups(local, &groups, MAX_GROUPS);
    for group in merged["groups"].as_array_mut().into_iter().flatten() {
        peers::fill_lags(group, &topics);
    }
    Json(merged).into_response()
}

async fn group(
    State(status): Shared,
    Path(id): Path<String>,
    Query(scope): Query<Scope>,
) -> Response {
    let path = format!("/v1/groups/{}?local=1", peers::escape(&id));
    let local = read_value(status.clone(), move |broker, _| api::group(broker, &id)).await;
    let Some(broker) = peers::gathering(status.broker(), &scope) else {
        return local.map_or_else(|refused| refused, |v| Json(v).into_response());
    };
    let mut found = match local {
        Ok(found) => found,
        Err(refused) if refused.status() == StatusCode::NOT_FOUND => {
            match peers::ask_all(&broker, &path).await.into_iter().next() {
                Some((_, found)) => found,
                None => return refused,
            }
        }
        Err(refused) => return refused,
    };
    peers::fill_lags(&mut found, &cluster_topics(&status, &broker).await);
    Json(found).into_response()
}

/// Every topic with each partition's figures from its leader.
async fn cluster_topics(status: &Arc<Status>, broker: &Broker) -> serde_json::Value {
    let local = read_value(status.clone(), |broker, _| Ok(api::topics(broker)))
        .await
        .unwrap_or_default();
    let answers = peers::ask_all(broker, "/v1/topics?local=1").await;
    peers::merge_topics(local, broker.node_id, &answers)
}

async fn history(
    State(status): Shared,
    Query(query): Query<history::Query>,
    Query(scope): Query<Scope>,
) -> Response {
    let path = format!("/v1/history?{}&local=1", query.to_query());
    let traffic = !query.is_group();
    let local = match read_value(status.clone(), move |_, status| {
        Ok(status.history.view(&query))
    })
    .await
    {
        Ok(local) => local,
        Err(refused) => return refused,
    };
    let Some(broker) = peers::gathering(status.broker(), &scope) else {
        return Json(local).into_response();
    };
    let answers = peers::ask_all(&broker, &path).await;
    if traffic {
        return Json(peers::merge_history(local, &answers)).into_response();
    }
    // A group's lag is sampled by its coordinator alone: the longest answer.
    let longest = std::iter::once(local)
        .chain(answers.into_iter().map(|(_, answer)| answer))
        .max_by_key(|answer| answer["samples"].as_array().map_or(0, Vec::len))
        .unwrap_or_default();
    Json(longest).into_response()
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
    Query(scope): Query<Scope>,
    reset: Result<Json<actions::Reset>, JsonRejection>,
) -> Response {
    let Json(reset) = match reset {
        Ok(reset) => reset,
        Err(rejected) => return bad_body(rejected),
    };
    // In a cluster the start and end of partitions held elsewhere come
    // from their leaders, even for a request another console forwarded.
    let clustered = status.broker().filter(|b| b.cluster().is_some());
    let elsewhere = match &clustered {
        Some(broker) => peers::ends(&cluster_topics(&status, broker).await, reset.topic()),
        None => Default::default(),
    };
    let body = serde_json::to_value(&reset).unwrap_or_default();
    let path = format!("/v1/groups/{}/reset-offsets?local=1", peers::escape(&id));
    let here = run_action(status.clone(), |broker| async move {
        actions::reset_offsets(&broker, &id, reset, &elsewhere).await
    })
    .await;
    let forward = peers::gathering(clustered, &scope);
    let Some(broker) = forward.filter(|_| here.status() == StatusCode::MISDIRECTED_REQUEST) else {
        return here;
    };
    // The group's coordinator answers; the others say it is not them.
    let answers = peers::ask_each(&broker, peers::Request::post(&path, &body)).await;
    match answers
        .into_iter()
        .find(|(_, status, _)| *status != StatusCode::MISDIRECTED_REQUEST.as_u16())
    {
        Some((_, code, answer)) => {
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            (code, Json(answer)).into_response()
        }
        None => here,
    }
}

/// A body that is not the JSON an action takes, answered like every
/// other failure (`{"error": ...}`) with axum's words.
fn bad_body(rejected: JsonRejection) -> Response {
    Failure::new(rejected.status(), rejected.body_text()).into_response()
}
