//! The Cloud Elements `Authorization` header: `User <secret>, Organization <secret>` for platform
//! calls, `User <secret>, Element <token>` for hub calls, parts in any order.
//!
//! Parsing is strict about structure (every part is `Keyword secret`, each keyword at most once,
//! no other keywords) and lenient about spacing and keyword case, as clients vary there. Secrets
//! never appear in `Debug` output or in error messages.

use std::fmt;

/// The secrets a request presented.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PresentedCredentials {
    pub user: Option<String>,
    pub organization: Option<String>,
    pub element: Option<String>,
}

impl fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mask = |present: bool| if present { "Some(********)" } else { "None" };
        f.debug_struct("PresentedCredentials")
            .field("user", &mask(self.user.is_some()))
            .field("organization", &mask(self.organization.is_some()))
            .field("element", &mask(self.element.is_some()))
            .finish()
    }
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthHeaderError {
    #[error("the Authorization header is empty; expected `User <secret>, Organization <secret>`")]
    Empty,
    #[error("Authorization part {index} has no secret after `{keyword}`")]
    MissingSecret { index: usize, keyword: String },
    #[error(
        "Authorization part {index} starts with `{keyword}`; expected User, Organization or Element"
    )]
    UnknownKeyword { index: usize, keyword: String },
    #[error("Authorization names `{keyword}` twice")]
    Duplicate { keyword: &'static str },
}

/// Parses `User abc, Organization def[, Element ghi]` (parts in any order).
pub fn parse_authorization(header: &str) -> Result<PresentedCredentials, AuthHeaderError> {
    if header.trim().is_empty() {
        return Err(AuthHeaderError::Empty);
    }
    let mut credentials = PresentedCredentials::default();
    for (position, part) in header.split(',').enumerate() {
        let index = position + 1;
        let part = part.trim();
        let (keyword, secret) = match part.split_once(char::is_whitespace) {
            Some((keyword, secret)) => (keyword, secret.trim()),
            None => (part, ""),
        };
        let slot = match keyword.to_ascii_lowercase().as_str() {
            "user" => (&mut credentials.user, "User"),
            "organization" => (&mut credentials.organization, "Organization"),
            "element" => (&mut credentials.element, "Element"),
            _ => {
                return Err(AuthHeaderError::UnknownKeyword {
                    index,
                    // Only the keyword is echoed, never what follows it.
                    keyword: keyword.chars().take(32).collect(),
                });
            }
        };
        if secret.is_empty() || secret.contains(char::is_whitespace) {
            return Err(AuthHeaderError::MissingSecret {
                index,
                keyword: slot.1.to_owned(),
            });
        }
        if slot.0.is_some() {
            return Err(AuthHeaderError::Duplicate { keyword: slot.1 });
        }
        *slot.0 = Some(secret.to_owned());
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(header: &str) -> PresentedCredentials {
        parse_authorization(header).expect(header)
    }

    #[test]
    fn parts_are_read_in_any_order_with_any_spacing_and_keyword_case() {
        for header in [
            "User u1, Organization o1",
            "Organization o1, User u1",
            "  user   u1 ,organization o1  ",
            "USER u1,ORGANIZATION o1",
        ] {
            let c = parsed(header);
            assert_eq!(c.user.as_deref(), Some("u1"), "{header}");
            assert_eq!(c.organization.as_deref(), Some("o1"), "{header}");
            assert_eq!(c.element, None);
        }
        let c = parsed("Element e1, User u1, Organization o1");
        assert_eq!(c.element.as_deref(), Some("e1"));
        let c = parsed("User abc/DEF+ghi=, Element tok=");
        assert_eq!(
            c.user.as_deref(),
            Some("abc/DEF+ghi="),
            "base64 secrets survive"
        );
    }

    #[test]
    fn malformed_headers_say_which_part_is_wrong_without_echoing_secrets() {
        assert_eq!(parse_authorization("   "), Err(AuthHeaderError::Empty));
        assert_eq!(
            parse_authorization("Bearer s3cr3t"),
            Err(AuthHeaderError::UnknownKeyword {
                index: 1,
                keyword: "Bearer".into()
            })
        );
        assert_eq!(
            parse_authorization("User u1, Organization"),
            Err(AuthHeaderError::MissingSecret {
                index: 2,
                keyword: "Organization".into()
            })
        );
        assert_eq!(
            parse_authorization("User u1, User u2"),
            Err(AuthHeaderError::Duplicate { keyword: "User" })
        );
        assert_eq!(
            parse_authorization("User two words, Organization o"),
            Err(AuthHeaderError::MissingSecret {
                index: 1,
                keyword: "User".into()
            })
        );
        let message = parse_authorization("Token hunter2")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn debug_output_masks_every_secret() {
        let c = parse_authorization("User hunter2, Organization sesame").unwrap();
        let text = format!("{c:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("sesame"),
            "{text}"
        );
    }
}
