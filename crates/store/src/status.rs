//! Where events and notifications stand: the statuses the API shows and the database stores.
//!
//! The database keeps them as text (`'QUEUED'`…), the words the API shows; these enums are the
//! only place that spells them. Statements bind them as parameters rather than write them as
//! literals, so the SQL text never repeats a status either.

use std::fmt;
use std::str::FromStr;

/// Where an event is on its way to its receiver. Once queued, it follows its notification:
/// see [`NotificationStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventStatus {
    /// Stored by a poll; no notification carries it yet.
    New,
    /// In a notification waiting to be sent (or sent again).
    Queued,
    /// Its notification was delivered.
    Notified,
    /// Its notification ran out of retries (or its receiver answered 410 Gone).
    Failed,
}

impl EventStatus {
    /// Every status, in the order an event goes through them.
    pub const ALL: [EventStatus; 4] = [
        EventStatus::New,
        EventStatus::Queued,
        EventStatus::Notified,
        EventStatus::Failed,
    ];

    /// The word the API shows and the database stores.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventStatus::New => "NEW",
            EventStatus::Queued => "QUEUED",
            EventStatus::Notified => "NOTIFIED",
            EventStatus::Failed => "FAILED",
        }
    }
}

/// Where a notification is: waiting to be sent, or done one way or the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationStatus {
    /// Waiting for its next attempt (or being sent under a claim's lease).
    Queued,
    /// Delivered.
    Notified,
    /// Out of retries, or stopped by 410 Gone.
    Failed,
}

impl NotificationStatus {
    /// Every status, waiting first.
    pub const ALL: [NotificationStatus; 3] = [
        NotificationStatus::Queued,
        NotificationStatus::Notified,
        NotificationStatus::Failed,
    ];

    /// The word the API shows and the database stores (the same as its events').
    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Queued => EventStatus::Queued.as_str(),
            NotificationStatus::Notified => EventStatus::Notified.as_str(),
            NotificationStatus::Failed => EventStatus::Failed.as_str(),
        }
    }

    /// Whether nothing more happens to it without a user's request (redelivery).
    pub const fn is_final(self) -> bool {
        !matches!(self, NotificationStatus::Queued)
    }
}

/// A queued event's status is its notification's.
impl From<NotificationStatus> for EventStatus {
    fn from(status: NotificationStatus) -> EventStatus {
        match status {
            NotificationStatus::Queued => EventStatus::Queued,
            NotificationStatus::Notified => EventStatus::Notified,
            NotificationStatus::Failed => EventStatus::Failed,
        }
    }
}

/// A status word that is none of the known ones (the words are upper case: `QUEUED`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for EventStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<EventStatus, UnknownStatus> {
        EventStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

impl FromStr for NotificationStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<NotificationStatus, UnknownStatus> {
        NotificationStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for NotificationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_word() {
        for status in EventStatus::ALL {
            assert_eq!(status.as_str().parse::<EventStatus>(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
        for status in NotificationStatus::ALL {
            assert_eq!(status.as_str().parse::<NotificationStatus>(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
    }

    #[test]
    fn the_stored_words_are_the_ones_the_api_shows() {
        let words: Vec<&str> = EventStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words, ["NEW", "QUEUED", "NOTIFIED", "FAILED"]);
        for status in NotificationStatus::ALL {
            assert_eq!(status.as_str(), EventStatus::from(status).as_str());
        }
    }

    #[test]
    fn an_unknown_or_lower_case_word_is_refused_by_name() {
        for word in ["", "queued", "DELIVERED", "NEW "] {
            assert_eq!(
                word.parse::<EventStatus>(),
                Err(UnknownStatus(word.to_owned()))
            );
        }
        assert_eq!(
            "NEW".parse::<NotificationStatus>(),
            Err(UnknownStatus("NEW".into())),
            "a notification is never NEW"
        );
        assert_eq!(
            UnknownStatus("x".into()).to_string(),
            "unknown status \"x\""
        );
    }
}
