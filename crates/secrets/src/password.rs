//! Random passwords, like Secrets Manager's `GenerateSecretString` / `GetRandomPassword`.

use crate::{SecretString, SecretsError};

/// `ExcludeCharacters` of the seed's RDS master secret (CDK `DatabaseSecret`): these
/// characters, and the space, never appear in generated RDS passwords.
pub const RDS_EXCLUDE_CHARACTERS: &str = " %+~`#$&*()|[]{}:;<>?!'/@\"\\";

/// `PasswordLength` of the seed's RDS master secret.
pub const RDS_PASSWORD_LENGTH: usize = 30;

/// A random password of `len` characters drawn uniformly from the printable ASCII characters
/// `!`..=`~` minus those in `exclude` (the space is never used, as with Secrets Manager's
/// default `IncludeSpace=false`).
///
/// Like Secrets Manager's default `RequireEachIncludedType`, the password holds at least one
/// character of each class left in the alphabet (lower case, upper case, digit, punctuation)
/// when `len` allows it. Randomness comes from the operating system (`getrandom`), without
/// modulo bias.
///
/// Errors: `InvalidRequest` when `len` is 0 or `exclude` removes every character;
/// `Internal` when the OS has no random source.
///
/// ```
/// use dmsrs_secrets::{generate_password, RDS_EXCLUDE_CHARACTERS, RDS_PASSWORD_LENGTH};
/// let p = generate_password(RDS_PASSWORD_LENGTH, RDS_EXCLUDE_CHARACTERS).unwrap();
/// assert_eq!(p.expose().len(), 30);
/// assert!(!p.expose().contains(|c| RDS_EXCLUDE_CHARACTERS.contains(c)));
/// ```
pub fn generate_password(len: usize, exclude: &str) -> Result<SecretString, SecretsError> {
    let alphabet: Vec<u8> = (b'!'..=b'~')
        .filter(|b| !exclude.contains(char::from(*b)))
        .collect();
    if len == 0 {
        return Err(SecretsError::InvalidRequest(
            "password length must be at least 1".into(),
        ));
    }
    if alphabet.is_empty() {
        return Err(SecretsError::InvalidRequest(
            "the excluded characters leave nothing to build a password from: exclude fewer".into(),
        ));
    }
    let classes: Vec<fn(&u8) -> bool> = [
        u8::is_ascii_lowercase as fn(&u8) -> bool,
        u8::is_ascii_uppercase,
        u8::is_ascii_digit,
        u8::is_ascii_punctuation,
    ]
    .into_iter()
    .filter(|class| alphabet.iter().any(class))
    .collect();
    let enforce = len >= classes.len();
    // With the RDS alphabet a 30-character draw misses a class about 7% of the time, so a
    // handful of attempts is plenty; the bound only protects against a pathological alphabet.
    for _ in 0..1000 {
        let pw = random_from(&alphabet, len)?;
        if !enforce || classes.iter().all(|class| pw.iter().any(class)) {
            return String::from_utf8(pw)
                .map(SecretString::new)
                .map_err(|_| SecretsError::Internal("generated password is not ASCII".into()));
        }
    }
    Err(SecretsError::Internal(
        "could not draw a password holding every character class".into(),
    ))
}

/// `n` characters drawn uniformly from `[A-Za-z0-9]` (ARN suffixes, temp file names).
pub(crate) fn random_alnum(n: usize) -> Result<String, SecretsError> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let chars = random_from(ALNUM, n)?;
    Ok(chars.into_iter().map(char::from).collect())
}

/// `n` bytes drawn uniformly from `alphabet` (rejection sampling: no modulo bias).
fn random_from(alphabet: &[u8], n: usize) -> Result<Vec<u8>, SecretsError> {
    let size = alphabet.len();
    if size == 0 || size > 256 {
        return Err(SecretsError::Internal(format!(
            "alphabet of {size} characters"
        )));
    }
    // Largest multiple of `size` that fits in a byte; bytes at or above it are rejected.
    let limit = 256 - (256 % size);
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).map_err(|e| {
            SecretsError::Internal(format!("the operating system's random source failed: {e}"))
        })?;
        for &b in &buf {
            if usize::from(b) < limit {
                out.push(alphabet[usize::from(b) % size]);
                if out.len() == n {
                    break;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn rds_passwords() {
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            let p = generate_password(RDS_PASSWORD_LENGTH, RDS_EXCLUDE_CHARACTERS).unwrap();
            let s = p.expose();
            assert_eq!(s.len(), 30);
            assert!(!s.contains(' '));
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_graphic() && !RDS_EXCLUDE_CHARACTERS.contains(c)),
                "{s}"
            );
            assert!(s.chars().any(|c| c.is_ascii_lowercase()));
            assert!(s.chars().any(|c| c.is_ascii_uppercase()));
            assert!(s.chars().any(|c| c.is_ascii_digit()));
            assert!(s.chars().any(|c| ",-.=^_".contains(c)), "{s}");
            assert!(seen.insert(s.to_owned()), "duplicate password");
        }
    }

    #[test]
    fn every_allowed_character_shows_up() {
        // 68 allowed characters; 20 x 30 draws make a miss astronomically unlikely.
        let allowed: BTreeSet<char> = ('!'..='~')
            .filter(|c| !RDS_EXCLUDE_CHARACTERS.contains(*c))
            .collect();
        assert_eq!(allowed.len(), 68);
        let mut seen = BTreeSet::new();
        for _ in 0..100 {
            seen.extend(
                generate_password(30, RDS_EXCLUDE_CHARACTERS)
                    .unwrap()
                    .expose()
                    .chars(),
            );
        }
        assert_eq!(seen, allowed);
    }

    #[test]
    fn edge_cases() {
        assert!(matches!(
            generate_password(0, ""),
            Err(SecretsError::InvalidRequest(_))
        ));
        let all: String = ('!'..='~').collect();
        assert!(matches!(
            generate_password(5, &all),
            Err(SecretsError::InvalidRequest(_))
        ));
        let only_digits: String = ('!'..='~').filter(|c| !c.is_ascii_digit()).collect();
        let p = generate_password(12, &only_digits).unwrap();
        assert!(p.expose().chars().all(|c| c.is_ascii_digit()));
        // Shorter than the number of classes: no class requirement.
        assert_eq!(generate_password(2, "").unwrap().expose().len(), 2);
        assert_eq!(random_alnum(6).unwrap().len(), 6);
        assert!(
            random_alnum(6)
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
    }

    #[test]
    fn debug_hides_generated_password() {
        let p = generate_password(30, RDS_EXCLUDE_CHARACTERS).unwrap();
        assert!(!format!("{p:?}").contains(p.expose()));
    }
}
