//! The one error type of the HTTP edge: each maps to a status code, plone.restapi's
//! JSON error body `{"type", "message"}`, or an HTML page. Internal details never reach
//! the client; they are logged once, here.

use axum::http::StatusCode;
use beffroi_service::ServiceError;

#[derive(Debug)]
pub enum WebError {
    NotFound(String),
    BadRequest(String),
    Unauthorized,
    /// Credentials were given but do not hold: 401 with the reason.
    Unauthenticated(String),
    PayloadTooLarge,
    /// `If-Match` named another version: somebody saved in between.
    PreconditionFailed,
    /// Locked for editing by this user.
    Locked(String),
    /// Too many failed logins: retry after this many seconds.
    TooManyRequests(u64),
    /// A form post without a valid CSRF token or from another origin.
    Forbidden(String),
    MethodNotAllowed,
    UriTooLong,
    Conflict(String),
    Unavailable,
    /// A reading request over its time budget, stopped so that it cannot hold the
    /// server (answered 503, like a busy server).
    TimedOut(std::time::Duration),
    Internal,
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unauthorized | WebError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            WebError::Locked(_) => StatusCode::LOCKED,
            WebError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            WebError::UriTooLong => StatusCode::URI_TOO_LONG,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Unavailable | WebError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// plone.restapi's error type names.
    pub fn type_name(&self) -> &'static str {
        match self {
            WebError::NotFound(_) => "NotFound",
            WebError::BadRequest(_) => "BadRequest",
            WebError::Unauthorized | WebError::Unauthenticated(_) => "Unauthorized",
            WebError::PayloadTooLarge => "PayloadTooLarge",
            WebError::PreconditionFailed => "PreconditionFailed",
            WebError::Locked(_) => "Locked",
            WebError::TooManyRequests(_) => "TooManyRequests",
            WebError::Forbidden(_) => "Forbidden",
            WebError::MethodNotAllowed => "MethodNotAllowed",
            WebError::UriTooLong => "BadRequest",
            WebError::Conflict(_) => "Conflict",
            WebError::Unavailable | WebError::TimedOut(_) => "ServiceUnavailable",
            WebError::Internal => "InternalServerError",
        }
    }

    pub fn message(&self) -> String {
        match self {
            WebError::NotFound(url) => format!("Resource not found: {url}"),
            WebError::BadRequest(m) | WebError::Conflict(m) | WebError::Unauthenticated(m) => m.clone(),
            WebError::PayloadTooLarge => "The request body is too large.".into(),
            WebError::PreconditionFailed => "The item changed since you read it.".into(),
            WebError::Locked(who) => format!("The item is locked by {who}."),
            WebError::TooManyRequests(s) => format!("Too many failed attempts; try again in {s} seconds."),
            WebError::Forbidden(m) => m.clone(),
            WebError::Unauthorized => "You are not authorized to access this resource.".into(),
            WebError::MethodNotAllowed => "This method is not allowed here.".into(),
            WebError::UriTooLong => "The address is too long.".into(),
            WebError::Unavailable => "The service is busy, please try again.".into(),
            WebError::TimedOut(d) => {
                let limit = if d.subsec_millis() == 0 {
                    format!("{} seconds", d.as_secs())
                } else {
                    format!("{} ms", d.as_millis())
                };
                format!("The request took longer than {limit} and was stopped; please try again.")
            }
            WebError::Internal => "An internal error occurred.".into(),
        }
    }

    /// The Fluent keys of the HTML page's title and text.
    pub fn page_keys(&self) -> (&'static str, Option<&'static str>) {
        match self {
            WebError::NotFound(_) => ("not-found-title", Some("not-found-text")),
            WebError::Unauthorized | WebError::Unauthenticated(_) | WebError::Forbidden(_) => {
                ("unauthorized-title", Some("unauthorized-text"))
            }
            WebError::TooManyRequests(_) => ("login-throttled-title", None),
            WebError::BadRequest(_)
            | WebError::UriTooLong
            | WebError::MethodNotAllowed
            | WebError::Conflict(_)
            | WebError::PayloadTooLarge
            | WebError::PreconditionFailed
            | WebError::Locked(_) => ("bad-request-title", None),
            WebError::Unavailable | WebError::TimedOut(_) => ("unavailable-title", Some("error-text")),
            WebError::Internal => ("error-title", Some("error-text")),
        }
    }

    /// Maps a service error, logging what the client will not see.
    pub fn from_service(e: ServiceError, url: &str) -> Self {
        match e {
            ServiceError::NotFound => WebError::NotFound(url.to_owned()),
            ServiceError::Unauthorized => WebError::Unauthorized,
            ServiceError::Forbidden(m) => WebError::Forbidden(m),
            ServiceError::Invalid(v) => WebError::BadRequest(v.to_string()),
            ServiceError::BadRequest(m) => WebError::BadRequest(m),
            ServiceError::Conflict(m) => WebError::Conflict(m),
            ServiceError::Locked(who) => WebError::Locked(who),
            ServiceError::Unavailable => WebError::Unavailable,
            ServiceError::TooLarge(_) => WebError::PayloadTooLarge,
            ServiceError::Modified(_) => WebError::Conflict("The item was changed since you opened it.".into()),
            ServiceError::Internal(source) => {
                tracing::error!(error = %source, url, "internal error");
                WebError::Internal
            }
        }
    }
}
