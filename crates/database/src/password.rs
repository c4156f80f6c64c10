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

/// The alphabet: printable ASCII without [`EXCLUDED_CHARACTERS`].
fn alphabet() -> Vec<u8> {
    (b'!'..=b'~')
        .filter(|c| !EXCLUDED_CHARACTERS.as_bytes().contains(c))
        .collect()
}

/// A new random password of [`PASSWORD_LENGTH`] characters from the
/// operating system's CSPRNG, with at least one lowercase letter, uppercase
/// letter, digit and punctuation character (Secrets Manager's
/// `RequireEachIncludedType`).
pub fn generate_password() -> Result<SecretString> {
    generate_password_of(PASSWORD_LENGTH)
}

/// Like [`generate_password`] with another length (at least 4).
pub fn generate_password_of(length: usize) -> Result<SecretString> {
    if length < 4 {
        return Err(DatabaseError::invalid(
            "password length",
            "must be at least 4",
        ));
    }
    let alphabet = alphabet();
    // Largest multiple of the alphabet size below 256: rejection sampling
    // keeps the distribution uniform.
    let limit = 256 - (256 % alphabet.len());
    loop {
        let mut out = String::with_capacity(length);
        let mut buf = [0u8; 64];
        while out.len() < length {
            getrandom::fill(&mut buf).map_err(|e| DatabaseError::Random(e.to_string()))?;
            for b in buf {
                if usize::from(b) < limit && out.len() < length {
                    out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
                }
            }
        }
        let has = |f: fn(&char) -> bool| out.chars().any(|c| f(&c));
        if has(char::is_ascii_lowercase)
            && has(char::is_ascii_uppercase)
            && has(char::is_ascii_digit)
            && has(char::is_ascii_punctuation)
        {
            return Ok(SecretString::new(out));
        }
    }
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
        assert_eq!(alphabet().len(), 68); // 94 printable minus 26 excluded (space is not in the range)
        assert!(generate_password_of(3).is_err());
    }
}
