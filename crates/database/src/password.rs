//! Master password generation, like CDK's `DatabaseSecret` (Secrets Manager
//! `GenerateSecretString` with `PasswordLength 30` and the seed's
//! `ExcludeCharacters`).

use dmsrs_secrets::SecretString;

use crate::error::{DatabaseError, Result};

/// Length of generated passwords (the seed's `PasswordLength`).
pub const PASSWORD_LENGTH: usize = 30;

/// Characters never used in generated passwords (the seed's
/// `ExcludeCharacters`, which also keeps them safe for RDS, SQL string
/// literals, URLs and shells): space and `` %+~`#$&*()|[]{}:;<>?!'/@"\ ``.
pub const EXCLUDED_CHARACTERS: &str = " %+~`#$&*()|[]{}:;<>?!'/@\"\\";

/// A new random password of [`PASSWORD_LENGTH`] characters from the
/// operating system's CSPRNG, with at least one lowercase letter, uppercase
/// letter, digit and punctuation character (Secrets Manager's
/// `RequireEachIncludedType`).
pub fn generate_password() -> Result<SecretString> {
    generate_password_of(PASSWORD_LENGTH)
}

/// Like [`generate_password`] with another length (at least 4).
///
/// The generator itself is `dmsrs_secrets::generate_password`, the one the secret
/// stores use: this only fixes the seed's alphabet and the RDS minimum length.
pub fn generate_password_of(length: usize) -> Result<SecretString> {
    if length < 4 {
        return Err(DatabaseError::invalid(
            "password length",
            "must be at least 4",
        ));
    }
    dmsrs_secrets::generate_password(length, EXCLUDED_CHARACTERS)
        .map_err(|e| DatabaseError::Random(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_seed_rules() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = generate_password().unwrap();
            let s = p.expose();
            assert_eq!(s.len(), PASSWORD_LENGTH);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_graphic() && !EXCLUDED_CHARACTERS.contains(c)),
                "{s}"
            );
            assert!(s.chars().any(|c| c.is_ascii_digit()));
            assert!(seen.insert(s.to_owned()));
            assert!(!format!("{p:?}").contains(s));
        }
        // 94 printable minus 26 excluded (space is not in the range): 68 characters in use.
        assert_eq!(
            (b'!'..=b'~')
                .filter(|b| !EXCLUDED_CHARACTERS.contains(char::from(*b)))
                .count(),
            68
        );
        assert!(generate_password_of(3).is_err());
    }
}
