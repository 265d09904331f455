//! The OpenAPI 3.1 document of the HTTP API, served at `/api/v1/openapi.json`, generated from
//! the handlers and types themselves so it cannot drift from them.

use crate::{admin, api, merge};
use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lambda-trends",
        description = "Live hashtag trends: every number is batch[active] + speed[active] for one \
                       batch/speed pair, named by its epoch in the response."
    ),
    paths(
        api::trending,
        api::series,
        api::search,
        api::status,
        api::ready,
        api::metrics,
        admin::start_recompute,
        admin::recompute_state,
        admin::rollback,
    ),
    components(schemas(
        api::TrendingResponse,
        api::TrendingItem,
        api::SeriesResponse,
        api::SearchResponse,
        api::ErrorBody,
        merge::SeriesPoint,
        admin::RecomputeRun,
    )),
    modifiers(&AdminToken),
    tags(
        (name = "analytics", description = "Trends and series for analysts"),
        (name = "operations", description = "Status, readiness and metrics"),
        (name = "admin", description = "Recompute and roll back (bearer token: serving.admin-token)"),
    )
)]
pub struct ApiDoc;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
