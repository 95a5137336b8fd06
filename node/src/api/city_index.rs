//! `GET /v1/index?population=N`: the Indeks Kota Koperasi
//! ([`crate::city_index`]) as of the last committed block.
//!
//! Public: it is made of aggregates only (counts and rupiah per
//! cooperative and day, member counts), never a member's account or
//! transactions. It reads at most two 30-day windows of the ledger's daily
//! figures ([`kopnet_ledger::ledger::daily_figures`]), a few hundred small
//! records, not the blocks.

use super::queries::{blocking, committed, internal, parse_query};
use super::{ApiError, ApiResult, ApiState};
use crate::city_index::{compute, parse_population, CityIndex, CoopInput, IndexInput, WINDOW_DAYS};
use axum::extract::{Query, State};
use axum::Json;
use kopnet_ledger::tellers::wib_day;
use serde::Deserialize;

/// The query string: the population is text so that a bad one gets its
/// own error code, not the generic `bad_query`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndexQuery {
    /// The city's population, for per-capita figures.
    pub population: Option<String>,
}

/// The city index (aggregates of the economy the ledger sees).
#[utoipa::path(
    get,
    path = "/v1/index",
    tag = "reports",
    params(IndexQuery),
    responses(
        (status = 200, description = "The city index: aggregates only, no account", body = Object),
        (status = 400, description = "`bad_population`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn index(
    State(state): State<ApiState>,
    query: Result<Query<IndexQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CityIndex>> {
    let query = parse_query(query)?;
    let population = query
        .population
        .as_deref()
        .map(parse_population)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_population", e.to_string()))?;
    let view = committed(&state);
    let day = wib_day(view.last_block_time_ms);
    let first = day.saturating_sub(2 * WINDOW_DAYS - 1);
    let figures = blocking(&state, move |node| {
        node.chain.day_figures(first, day).map_err(internal)
    })
    .await?;
    let cooperatives = view
        .cooperatives
        .iter()
        .map(|c| CoopInput {
            id: c.coop.id.clone(),
            name: c.coop.name.clone(),
            members: c.members,
            merchants: c.merchants,
        })
        .collect();
    Ok(Json(compute(&IndexInput {
        height: view.height,
        day,
        cooperatives,
        figures,
        population,
    })))
}
