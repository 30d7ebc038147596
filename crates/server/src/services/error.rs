//! [`ServiceError`]: why a service refused or failed, in words a user can act on. It knows no
//! HTTP: the API maps it to a status and its error body (`api::error`), the UI to a page.

use crate::clients::ClientError;

/// How a provider failed a call made for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderFailure {
    /// The provider refused the request; `status` is its own answer's status when it gave one
    /// (a refused authorization code has none worth passing on).
    Refused { status: Option<u16> },
    /// The instance's authorization is dead: a new code is needed.
    Unauthorized,
    /// The provider failed, could not be reached, or answered something unreadable.
    Failed,
}

/// Why a service did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// An instance's fields, each problem named with its field.
    #[error("invalid instance: {}", .0.join("; "))]
    InvalidInstance(Vec<String>),
    /// Any other input that cannot be used, said in one message naming the input.
    #[error("{0}")]
    BadInput(String),
    /// Secrets that do not identify the caller.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known, but what they ask is not allowed now (a disabled instance's hub
    /// call).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// What the request names is gone for good (a webhook's subscription): the sender
    /// should stop.
    #[error("{0}")]
    Gone(String),
    /// The request body is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The request does not fit the state of things (a concurrent change, an instance that
    /// does not poll, an event not yet in a notification).
    #[error("{0}")]
    Conflict(String),
    /// The provider refused or failed; `provider` is its own message.
    #[error("{message} (the provider said: {provider})")]
    Provider {
        failure: ProviderFailure,
        message: String,
        provider: String,
    },
    /// A dependency (the database) is briefly unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or a broken dependency: users see an opaque message, the log the detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn internal(detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Internal(detail.to_string())
    }

    /// What a user is shown: the service's own message, the provider's after it, and nothing
    /// of an internal error's detail.
    pub fn user_message(&self) -> String {
        match self {
            ServiceError::Provider {
                message, provider, ..
            } if provider.is_empty() => message.clone(),
            ServiceError::Internal(_) => {
                "something went wrong inside Tributary; the server log has the details".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<tributary_store::StoreError> for ServiceError {
    fn from(error: tributary_store::StoreError) -> Self {
        match error {
            tributary_store::StoreError::Unavailable(_) => {
                ServiceError::Unavailable("the database is unavailable; try again shortly".into())
            }
            tributary_store::StoreError::InvalidInput(message) => {
                ServiceError::BadInput(format!("a value cannot be stored: {message}"))
            }
            other => ServiceError::internal(other),
        }
    }
}

impl From<ClientError> for ServiceError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Unusable(detail) => ServiceError::Internal(detail),
            ClientError::InvalidConfiguration(message) => ServiceError::Conflict(message),
        }
    }
}
