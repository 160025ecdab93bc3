//! [`SecretEq`]: comparing a presented credential with a secret without leaking, through the
//! time the comparison takes, how much of it was right.

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use subtle::ConstantTimeEq;

/// Compares a secret with a value someone presented (an API key in a request header, a
/// webhook's shared secret), in constant time.
///
/// `==` on `expose_secret()` returns at the first byte that differs, so the time it takes
/// tells a caller who can measure it how long a prefix they guessed right, and lets them find
/// the key a byte at a time. `secret_eq` looks at every byte whatever they hold (built on
/// [`subtle`](https://docs.rs/subtle)): its time depends on the two lengths, never on where
/// the bytes differ.
///
/// # Examples
/// ```
/// use asm_runtime::{SecretEq, SecretString};
/// let key = SecretString::from("sk_live_4f9c");
/// let presented = "sk_live_4f9c"; // e.g. a request's `Authorization` header
/// assert!(key.secret_eq(presented));
/// assert!(!key.secret_eq("sk_live_0000"));
/// ```
pub trait SecretEq {
    /// Whether `presented` is byte for byte this secret, compared in constant time.
    fn secret_eq(&self, presented: impl AsRef<[u8]>) -> bool;
}

impl SecretEq for SecretString {
    fn secret_eq(&self, presented: impl AsRef<[u8]>) -> bool {
        bool::from(self.expose_secret().as_bytes().ct_eq(presented.as_ref()))
    }
}

impl SecretEq for SecretSlice<u8> {
    fn secret_eq(&self, presented: impl AsRef<[u8]>) -> bool {
        bool::from(self.expose_secret().ct_eq(presented.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_match_and_any_difference_does_not() {
        let key = SecretString::from("sk_live_4f9c");
        assert!(key.secret_eq("sk_live_4f9c"));
        assert!(key.secret_eq(b"sk_live_4f9c"));
        for other in [
            "sk_live_4f9d",
            "sk_live_4f9",
            "sk_live_4f9cc",
            "",
            "Sk_live_4f9c",
        ] {
            assert!(!key.secret_eq(other), "{other}");
        }
        let binary = SecretSlice::from(vec![0_u8, 1, 2]);
        assert!(binary.secret_eq([0_u8, 1, 2]));
        assert!(!binary.secret_eq([0_u8, 1, 3]));
        assert!(!binary.secret_eq([]));
    }
}
