//! `#[derive(AwsSecrets)]`: a settings struct whose fields come from AWS Secrets Manager,
//! with the mapping checked at compile time.
//!
//! Use it through [`asm_runtime`](https://docs.rs/asm-runtime), which re-exports the derive
//! (default feature `derive`) next to the `AwsSecrets` trait it implements; this crate has no
//! use on its own. The attribute reference is on [`AwsSecrets`](macro@AwsSecrets).
//!
//! The expansion is a pipeline you can follow in the module names: `ast` (the input, borrowed
//! from `syn`, with the `#[aws_secrets(…)]` keys that `attr` parses and `id` and `duration`
//! check) → `valid` (checks across fields and types) → `expand` (the impl), or `fallback` (a
//! stub impl beside the errors).

#![forbid(unsafe_code)]

mod ast;
mod attr;
mod duration;
mod errors;
mod expand;
mod fallback;
mod id;
mod partition;
mod ssm_name;
mod valid;

#[cfg(test)]
mod proptests;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `AwsSecrets` for a struct with named fields, each read from a secret.
///
/// ```ignore
/// use asm_runtime::{AwsSecrets, SecretSlice, SecretString};
///
/// /// One JSON secret, mapped key by key (the key defaults to the field name).
/// #[derive(AwsSecrets)]
/// #[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf")]
/// struct DbCredentials {
///     username: SecretString,
///     password: SecretString,
///     #[aws_secrets(public)]               // not masked, explicitly
///     port: u16,
///     #[aws_secrets(key = "dbname", public)]
///     database: String,
///     replica_host: Option<SecretString>,  // absent key or `null` -> None
/// }
///
/// /// Several secrets; ids vary by deployment through `${VAR}` placeholders.
/// #[derive(AwsSecrets)]
/// #[aws_secrets(ttl = "10m", rotation = "30d")]
/// struct AppSecrets {
///     #[aws_secrets(nested)]
///     db: DbCredentials,
///     #[aws_secrets(name = "${APP_ENV}/stripe", key = "api_key")]
///     stripe_key: SecretString,
///     #[aws_secrets(name = "${APP_ENV}/tls", binary)]
///     tls_key: SecretSlice<u8>,
/// }
/// ```
///
/// # Where a field's value comes from
///
/// Every field has exactly one source, or the derive reports it:
///
/// - **the struct's secret**, named by a struct-level `arn` or `name`: the secret is a JSON
///   object and the field reads the key named like the field (`r#type` reads `type`), or the
///   one given by `key`;
/// - **its own secret**, named by a field-level `arn` or `name` (which wins over the struct's):
///   the field reads the whole secret, or one JSON key with `key`;
/// - **`nested`**: the field is itself an `AwsSecrets` struct, read as its own attributes say.
///
/// # Field types
///
/// A field read from a secret keeps its value masked: `SecretString`, `SecretSlice<u8>` (with
/// `binary`) or an `Option` of either (an absent key or a JSON `null` is `None`). A JSON number
/// or boolean read into a `SecretString` becomes its JSON text, exactly as written in the secret
/// (`1E2` stays `1E2`; an integer past `u64` keeps every digit). Any other type must be marked
/// `public` and may then be anything `serde` can deserialize. The derive refuses obvious plain
/// types (`String`, `&str`, integers, `bool`, `Vec<…>`, `Option<String>`…) without `public`; for
/// other types the `SecretField` bound of the runtime says the same at the field's type.
/// `SecretField` is sealed: for your own redacting newtype, read a `SecretString` and wrap it
/// after loading. A `Box` or `Vec` of a secret wrapper is refused (a wrapper is on the heap
/// already; a field reads one value).
///
/// # Keys
///
/// | Key | Where | Default | Meaning | Security |
/// |-----|-------|---------|---------|----------|
/// | `arn = "…"` | struct, field | — | The secret, by full ARN: `arn:<partition>:secretsmanager:<region>:<12-digit account>:secret:<name>`; each part is checked and an error says which one is wrong. | The generated IAM policy grants exactly this ARN. No `*` or `?`: least privilege names the exact secret. |
/// | `name = "…"` | struct, field | — | The secret, by name: 1 to 512 characters of `A-Za-z0-9/_+=.@-`. Conflicts with `arn`. | As `arn`; the account and region come from the cache's configuration. |
/// | `parameter = "…"` | struct, field | — | A Parameter Store parameter (runtime feature `ssm`, or `MemorySource` in tests), by name (`/prod/orders/db-host`, `db-host`) or ARN (`arn:…:ssm:<region>:<account>:parameter/prod/orders/db-host`, the name's leading `/` dropped), with an optional `:3` (a version) or `:blue` (a label) instead of `version_stage`/`version_id`. Checked by the service's rules: `a-zA-Z0-9_.-` and `/` between at most 15 levels, no name starting with `aws` or `ssm` (any case) except `/aws/reference/secretsmanager/NAME`, the ARN at most 1011 characters, a label of `a-zA-Z0-9_.-` not starting with a digit. `SecureString` values are read decrypted. Conflicts with `arn` and `name`; not with `binary`. | The IAM policy grants `ssm:GetParameter` on exactly this parameter's ARN (plus `kms:Decrypt` on a customer-managed key, which you add); a reference grants `secretsmanager:GetSecretValue` on its secret. |
/// | `key = "…"` | field | the field's name (struct secret); the whole secret (field secret) | The JSON key the field reads. Not empty. A `#[serde(rename = "…")]` does not change it: a field with one and no `key` reads its own name, so the derive refuses it and says to write `key`. | — |
/// | `public` | field | masked | The field is not a secret wrapper: any `T: serde::Deserialize` (`String`, `u16`, an enum); for another type the error says to add `#[derive(Deserialize)]`. Not on `SecretString`/`SecretSlice` fields. | The value may reach `Debug` output, logs and panics: use it for hosts, ports, user names you would print anyway. |
/// | `binary` | field | text | The field is the whole `SecretBinary` of its secret, as `SecretSlice<u8>` or `Option<SecretSlice<u8>>`. Not with `key` or `public`. | Stays masked. |
/// | `nested` | field | — | The field's type implements `AwsSecrets` (the struct itself: `Option<Inner>` is refused, a nested struct is loaded whole); no other key goes with it. Its secrets are loaded with the outer struct's, and listed in `SECRET_IDS` and the IAM policy. | — |
/// | `version_stage = "…"` | struct, field | the cache's `version` (`AWSCURRENT` unless `SecretCacheBuilder::version` sets another), as for `get` and `refresh_now` | Read the version with this staging label (1 to 256 characters of `A-Za-z0-9_-`), e.g. `AWSPREVIOUS` during a rotation. On the struct it applies to the struct's secret. Conflicts with `version_id`. | A stage other than `AWSCURRENT` does not follow a rotation to the new value. |
/// | `version_id = "…"` | struct, field | — | Read one exact version (32 to 64 characters of `A-Za-z0-9-`, usually a UUID). On the struct it applies to the struct's secret. | A pinned version never changes: it is never refreshed for rotation. |
/// | `ttl = "…"` | struct, field | the cache's default (600 s) | How long a value is served from the cache before it is read again: `"90s"`, `"10m"`, `"1h"`, `"30d"`, or combined largest first (`"1h30m"`). Above zero. It is that secret's TTL, replacing the cache's whether longer or shorter (a value is still never served past the cache's `max_staleness`). On the struct it is the default for every secret the struct reads (not for `nested` structs); the field's wins. When fields, or two structs loaded through one cache, declare different TTLs for one secret, the shortest applies to every reader of it: they share one cached value. | A longer TTL means fewer API calls, and a rotated value picked up later. |
/// | `rotation = "…"` | struct, field | — | The secret's rotation interval, in the `ttl` format. A `ttl` declared with it must stay below it: the error is on the `ttl`. Without a `ttl`, the TTL in force (the cache's) is checked at load, under the cache's `rotation_guardrail`: a warning, `Error::TtlNotBelowRotation` when `Strict`, nothing when `Off`. Struct-level is the default for every secret the struct reads. | Keeps a rotated-out credential from being served for a whole rotation period. |
/// | `role = "…"` | struct, field | the principal of the cache the struct is loaded through | Read the secret as this IAM role: `arn:<partition>:iam::<12-digit account>:role/[<path>/]<name>`, the path and name of `A-Za-z0-9_+=,.@-` (a name of at most 64 characters, the ARN at most 2048); each part is checked and an error says which one is wrong. A name then means a secret of the role's account. The field's wins over the struct's; not for `nested` structs. | The caller's IAM policy allows `sts:AssumeRole` on exactly this role, and the role's grants exactly its secrets (`iam_policies`). No `*` or `?`. |
/// | `crate = "…"` | struct | `::asm_runtime` | The path of the runtime crate, for crates that re-export it. | — |
///
/// Keys may be spread over several `#[aws_secrets(…)]` attributes; each is written once.
///
/// # Placeholders
///
/// `${VAR}` in an `arn` or `name` (in the region, account and name parts of an ARN), or in a
/// `role` (its partition, account, path and name), is replaced at load time from the process
/// environment or explicit `Vars`, so one binary reads `staging/db` or `prod/db` by
/// deployment. `VAR` starts with a letter or `_` and continues
/// with letters, digits or `_`; the text around placeholders is still checked. Versions take no
/// placeholders.
///
/// # Checked at compile time
///
/// Each is a compile error pointing at the tokens that are wrong (what is reported together
/// is said below):
/// a shape other than a struct with named fields and no generics or lifetimes; a field with no
/// source; `nested` on an `Option`; `region`/`account` keys (the region is the client's; a
/// secret elsewhere is named by full `arn`); a hand-written `-??????` suffix (the IAM policy
/// adds it); an empty `#[aws_secrets()]`; a `#[serde(rename)]` without `key`; an ARN
/// or name that does not parse (naming the wrong part), a wildcard, a malformed placeholder; a
/// `role` that is not an IAM role's ARN (naming the wrong part: partition, service, a region,
/// account, `role/`, a character, an empty or over-long name, an ARN over 2048); a
/// plain type without `public`, `public` on a secret wrapper, `binary` on another type or with
/// `key`; unknown keys (with "did you mean"), duplicate keys (on the second one), conflicting
/// keys; a `ttl` that does not parse, is zero, or is not below `rotation`; two fields reading
/// the same (secret, version, key); one secret read both as binary and as text; malformed
/// `version_stage`/`version_id`; an empty `key`; a struct-level secret no field reads.
///
/// Every mistake of every attribute and field is reported in one compile, with one exception
/// that keeps one mistake one error: after a misspelt or misplaced key, or a value that does
/// not parse, the checks that depend on what that key meant say nothing (`pubic` is not also
/// "`String` would hold a secret in the clear"; a field whose `nam = "…"` is misspelt is not
/// also "has no secret"), while every other check still runs. A misspelt key whose meaning is
/// clear (`nam` for `name`) still has its value checked as that key's. Which checks depend on
/// which keys: the field's type on `public`, `binary`, `nested` and `key`; the field's source
/// on `arn`, `name` and `nested`; the TTL against the rotation interval on `ttl` and
/// `rotation`. A key like no other (no "did you mean") silences every check of its field.
///
/// On any error the derive also emits a stub impl, so the rest of the crate compiles as if the
/// derive had worked.
#[proc_macro_derive(AwsSecrets, attributes(aws_secrets))]
pub fn derive_aws_secrets(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
