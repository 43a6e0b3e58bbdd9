//! The emulator's errors, in the gRPC-gateway status shape the API answers with, and its JSON
//! responses.

use super::validate::Violation;
use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// A JSON response with this status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// An error in the gRPC-gateway status shape.
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) error_code: &'static str,
    pub(crate) message: String,
    pub(crate) violations: Vec<Violation>,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: u32,
        error_code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            error_code,
            message: message.into(),
            violations: Vec::new(),
            retry_after: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 3, "INVALID_ARGUMENT", message)
    }

    pub(crate) fn invalid_field(field: &str, description: &str) -> ApiError {
        ApiError::violations(vec![Violation {
            field: field.to_string(),
            description: description.to_string(),
        }])
    }

    pub(crate) fn violations(violations: Vec<Violation>) -> ApiError {
        let message = violations
            .iter()
            .map(|v| {
                if v.field.is_empty() {
                    v.description.clone()
                } else {
                    format!("{}: {}", v.field, v.description)
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            violations,
            ..ApiError::invalid(message)
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 5, "NOT_FOUND", message)
    }

    pub(crate) fn response(self, request_id: &str) -> Response<Body> {
        let mut info = Map::new();
        info.insert(
            "@type".into(),
            json!("type.googleapis.com/scalekit.v1.errdetails.ErrorInfo"),
        );
        info.insert("error_code".into(), json!(self.error_code));
        info.insert("request_info".into(), json!({"request_id": request_id}));
        if !self.violations.is_empty() {
            let list: Vec<Value> = self
                .violations
                .iter()
                .map(|v| json!({"field": v.field, "description": v.description}))
                .collect();
            info.insert(
                "validation_error_info".into(),
                json!({"field_violations": list}),
            );
        }
        if let Some(secs) = self.retry_after {
            info.insert("retry_after".into(), json!(secs));
        }
        let body =
            json!({"code": self.code, "message": self.message, "details": [Value::Object(info)]});
        let mut resp = json_response(self.status, &body);
        if let Ok(v) = HeaderValue::from_str(request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        if let Some(secs) = self.retry_after {
            let headers = resp.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            let reset = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default()
                + secs;
            headers.insert("x-ratelimit-limit", HeaderValue::from_static("100"));
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
        }
        resp
    }
}
