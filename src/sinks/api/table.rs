//! One table makes both the router and the OpenAPI 3.1 document (utoipa's model), so the document lists exactly
//! the routes served: a route cannot be added without its description.

use std::sync::Arc;

use axum::handler::Handler;
use axum::routing::{self, MethodRouter};
use axum::Router;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, Paths, Ref, RefOr, Required, Schema};

use super::routes::ApiState;

/// What an endpoint answers with.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// JSON described by a component schema (by name) or, with `None`, an object described in docs/api.md.
    Json(Option<&'static str>),
    /// The Prometheus text format.
    Metrics,
    /// A Server-Sent Events stream.
    EventStream,
    /// A WebSocket upgrade.
    WebSocket,
    /// A file to download: CSV or JSON lines.
    Download,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy)]
pub enum In {
    Path,
    Query,
}

/// One documented parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub at: In,
    /// `string`, `integer`, `number` or `boolean`.
    pub kind: &'static str,
    pub description: &'static str,
}

pub const fn path(name: &'static str, description: &'static str) -> Param {
    Param {
        name,
        at: In::Path,
        kind: "string",
        description,
    }
}

pub const fn query(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        at: In::Query,
        kind,
        description,
    }
}

/// An endpoint's description.
#[derive(Debug, Clone)]
pub struct Doc {
    pub tag: &'static str,
    pub summary: &'static str,
    pub params: Vec<Param>,
    pub answer: Answer,
    /// A JSON body, by component schema name.
    pub body: Option<&'static str>,
    /// Answered without the token.
    pub open: bool,
}

impl Doc {
    pub fn json(tag: &'static str, summary: &'static str) -> Self {
        Self {
            tag,
            summary,
            params: Vec::new(),
            answer: Answer::Json(None),
            body: None,
            open: false,
        }
    }

    pub fn params(mut self, params: &[Param]) -> Self {
        self.params = params.to_vec();
        self
    }

    pub fn schema(mut self, name: &'static str) -> Self {
        self.answer = Answer::Json(Some(name));
        self
    }

    pub fn answer(mut self, answer: Answer) -> Self {
        self.answer = answer;
        self
    }

    pub fn body(mut self, name: &'static str) -> Self {
        self.body = Some(name);
        self
    }

    pub fn open(mut self) -> Self {
        self.open = true;
        self
    }
}

/// Routes and their documentation, built together.
pub struct Table {
    pub router: Router<Arc<ApiState>>,
    pub paths: Paths,
}

impl Table {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            paths: Paths::new(),
        }
    }

    pub fn get<H: Handler<T, Arc<ApiState>>, T: 'static>(
        self,
        at: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(at, HttpMethod::Get, routing::get(handler), doc)
    }

    pub fn post<H: Handler<T, Arc<ApiState>>, T: 'static>(
        self,
        at: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(at, HttpMethod::Post, routing::post(handler), doc)
    }

    pub fn put<H: Handler<T, Arc<ApiState>>, T: 'static>(
        self,
        at: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(at, HttpMethod::Put, routing::put(handler), doc)
    }

    pub fn delete<H: Handler<T, Arc<ApiState>>, T: 'static>(
        self,
        at: &str,
        handler: H,
        doc: Doc,
    ) -> Self {
        self.add(at, HttpMethod::Delete, routing::delete(handler), doc)
    }

    fn add(
        mut self,
        at: &str,
        method: HttpMethod,
        route: MethodRouter<Arc<ApiState>>,
        doc: Doc,
    ) -> Self {
        self.router = self.router.route(at, route);
        let item = PathItem::new(method.clone(), operation(at, &method, &doc));
        self.paths = std::mem::take(&mut self.paths).path_from(at, item);
        self
    }
}

trait PathsExt {
    fn path_from(self, at: &str, item: PathItem) -> Paths;
}

impl PathsExt for Paths {
    fn path_from(mut self, at: &str, item: PathItem) -> Paths {
        match self.paths.get_mut(at) {
            Some(existing) => existing.merge_operations(item),
            None => {
                self.paths.insert(at.to_owned(), item);
            }
        }
        self
    }
}

fn primitive(kind: &str) -> Schema {
    let kind = match kind {
        "integer" => Type::Integer,
        "number" => Type::Number,
        "boolean" => Type::Boolean,
        _ => Type::String,
    };
    Schema::Object(ObjectBuilder::new().schema_type(kind).build())
}

fn json(schema: Option<&str>) -> Content {
    let schema: RefOr<Schema> = match schema {
        Some(name) => RefOr::Ref(Ref::from_schema_name(name)),
        None => RefOr::T(Schema::Object(
            ObjectBuilder::new().schema_type(Type::Object).build(),
        )),
    };
    Content::new(Some(schema))
}

/// `GET /containers/{ref}` -> `get_containers_ref`: unique, readable operation ids.
fn operation_id(at: &str, method: &HttpMethod) -> String {
    let verb = match method {
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        _ => "get",
    };
    let words: Vec<String> = at
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{verb}_{}", words.join("_"))
}

fn operation(at: &str, method: &HttpMethod, doc: &Doc) -> utoipa::openapi::path::Operation {
    let mut builder = OperationBuilder::new()
        .tag(doc.tag)
        .summary(Some(doc.summary))
        .operation_id(Some(operation_id(at, method)));
    for param in &doc.params {
        let (location, required) = match param.at {
            In::Path => (ParameterIn::Path, Required::True),
            In::Query => (ParameterIn::Query, Required::False),
        };
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(param.name)
                .parameter_in(location)
                .required(required)
                .description(Some(param.description))
                .schema(Some(primitive(param.kind))),
        );
    }
    if let Some(body) = doc.body {
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json(Some(body)))
                .build(),
        ));
    }
    let success = match doc.answer {
        Answer::Json(schema) => ResponseBuilder::new()
            .description("OK")
            .content("application/json", json(schema)),
        Answer::Metrics => ResponseBuilder::new()
            .description("Prometheus text format 0.0.4, or OpenMetrics 1.0 when asked for")
            .content(
                "text/plain; version=0.0.4",
                Content::new(Some(primitive("string"))),
            ),
        Answer::EventStream => ResponseBuilder::new()
            .description("Server-Sent Events, one JSON object per event")
            .content("text/event-stream", Content::new(Some(primitive("string")))),
        Answer::WebSocket => {
            ResponseBuilder::new().description("WebSocket upgrade (docs/api.md: the protocol)")
        }
        Answer::Download => ResponseBuilder::new()
            .description(
                "A file (Content-Disposition: attachment); x-docktray-rows says how many rows",
            )
            .content("text/csv", Content::new(Some(primitive("string"))))
            .content(
                "application/x-ndjson",
                Content::new(Some(primitive("string"))),
            ),
    };
    let code = match doc.answer {
        Answer::WebSocket => "101",
        _ => "200",
    };
    builder = builder.response(code, success.build()).response(
        "default",
        ResponseBuilder::new()
            .description("An error: unauthorized, forbidden, not found, bad parameter ...")
            .content("application/json", json(Some("ErrorBody")))
            .build(),
    );
    if doc.open {
        // Overrides the document's bearer requirement: anyone may ask.
        builder = builder.securities(Some([SecurityRequirement::default()]));
    }
    builder.build()
}
