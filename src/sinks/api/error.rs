//! Errors as JSON a person can act on: `{"error": "not_found", "message": "..."}` with the fitting status.
//! Never a stack trace, never the token.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `unauthorized`, `forbidden`, `not_found`, `bad_request`, `unprocessable`, `conflict`,
    /// `failed`, `unavailable`, `timeout`, `internal`.
    pub error: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The parameter or field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error,
                message: message.into(),
                field: None,
            },
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A bad query parameter or body field, named.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "bad_request", message);
        error.body.field = Some(field.to_owned());
        error
    }

    /// A well-formed value the settings' rules refuse, naming the field.
    pub fn unprocessable(field: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message);
        error.body.field = Some(field.to_owned());
        error
    }

    /// A JSON body that could not be read: too large (413), or not the expected JSON (400, naming the body).
    pub fn body(rejection: axum::extract::rejection::JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is larger than the API takes (64 KiB)",
            );
        }
        Self::bad_parameter("body", rejection.body_text())
    }

    /// Refused in the present state (already there, switched off ...).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// Tried on the caller's behalf, and what it reached failed (SSH, Webdock, a channel, the keychain).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "failed", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", message)
    }

    /// An engine error as the fitting answer: an unknown container is 404, an unreachable engine 503.
    pub fn from_engine(err: crate::Error) -> Self {
        match err {
            crate::Error::NoSuchContainer(_) => Self::not_found(err.to_string()),
            crate::Error::DockerUnreachable { .. } => Self::unavailable(err.to_string()),
            crate::Error::ActionFailed { .. }
            | crate::Error::InUse { .. }
            | crate::Error::NotRunning { .. }
            | crate::Error::NoShell { .. } => {
                Self::new(StatusCode::CONFLICT, "conflict", err.to_string())
            }
            // The workbench says "no image 'x' on local ..." for what is not there (src/sources/docker/workbench.rs).
            crate::Error::Other(ref message)
                if ["no image '", "no volume '", "no network '"]
                    .iter()
                    .any(|start| message.starts_with(start)) =>
            {
                Self::not_found(err.to_string())
            }
            crate::Error::Docker(ref message)
                if message.to_ascii_lowercase().contains("no such") =>
            {
                Self::not_found(err.to_string())
            }
            crate::Error::Config(inner) => Self::unprocessable("config", inner.to_string()),
            other => Self::internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
