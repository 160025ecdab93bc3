//! Parsing `#[aws_secrets(…)]` on the struct and on its fields.
//!
//! Syntax and values are checked here, each error on the tokens that are wrong: an unknown key
//! (with a "did you mean"), a duplicate (on its second occurrence), keys that conflict within
//! one attribute list, and values that do not parse (ids, versions, durations, paths). Checks
//! that need the field's type or other fields are in `valid.rs`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::errors::Errors;
use crate::{duration, id};

/// The attribute's name.
pub(crate) const ATTR: &str = "aws_secrets";

/// `arn = "arn:aws:secretsmanager:…"`: the secret, by ARN.
pub(crate) const ARN: &str = "arn";
/// `name = "prod/db"`: the secret, by name.
pub(crate) const NAME: &str = "name";
/// `parameter = "/prod/db-host"`: a Parameter Store parameter, by name or ARN, with an
/// optional `:version` or `:label`.
pub(crate) const PARAMETER: &str = "parameter";
/// `key = "…"`: the JSON key a field reads (default: the field's name).
pub(crate) const KEY: &str = "key";
/// `public`: the field is not masked.
pub(crate) const PUBLIC: &str = "public";
/// `binary`: the field is a whole `SecretBinary`.
pub(crate) const BINARY: &str = "binary";
/// `nested`: the field is itself an `AwsSecrets` struct.
pub(crate) const NESTED: &str = "nested";
/// `version_stage = "AWSPREVIOUS"`: a version by staging label.
pub(crate) const VERSION_STAGE: &str = "version_stage";
/// `version_id = "…"`: a version by id.
pub(crate) const VERSION_ID: &str = "version_id";
/// `ttl = "10m"`: how long a value is served from the cache.
pub(crate) const TTL: &str = "ttl";
/// `rotation = "30d"`: the secret's rotation interval, which the TTL must stay below.
pub(crate) const ROTATION: &str = "rotation";
/// `role = "arn:aws:iam::…:role/NAME"`: the IAM role the secret is read as.
pub(crate) const ROLE: &str = "role";
/// `crate = "path"`: where the runtime crate is (default `::asm_runtime`).
pub(crate) const CRATE: &str = "crate";

/// Keys allowed on the struct.
const STRUCT_KEYS: &[&str] = &[
    ARN,
    NAME,
    PARAMETER,
    VERSION_STAGE,
    VERSION_ID,
    TTL,
    ROTATION,
    ROLE,
    CRATE,
];
/// Keys allowed on a field.
const FIELD_KEYS: &[&str] = &[
    ARN,
    NAME,
    PARAMETER,
    KEY,
    PUBLIC,
    BINARY,
    NESTED,
    VERSION_STAGE,
    VERSION_ID,
    TTL,
    ROTATION,
    ROLE,
];

/// Words people reach for, from serde or from other secret managers.
const ALIASES: &[(&str, &str)] = &[
    ("id", "`arn` or `name`"),
    ("secret", "`arn` or `name`"),
    ("secret_id", "`arn` or `name`"),
    ("secret_name", "`name`"),
    ("secret_arn", "`arn`"),
    ("ssm", "`parameter`"),
    ("param", "`parameter`"),
    ("parameter_name", "`parameter`"),
    ("rename", "`key`"),
    ("json_key", "`key`"),
    ("flatten", "`nested`"),
    ("expose", "`public`"),
    ("plain", "`public`"),
    ("plaintext", "`public`"),
    ("skip_masking", "`public`"),
    ("stage", "`version_stage`"),
    ("version", "`version_stage` or `version_id`"),
    ("refresh", "`ttl`"),
    ("cache_ttl", "`ttl`"),
    ("rotate", "`rotation`"),
    ("rotation_interval", "`rotation`"),
    ("role_arn", "`role`"),
    ("assume_role", "`role`"),
    ("iam_role", "`role`"),
];

/// Where an attribute is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Struct,
    Field,
}

impl Level {
    /// An attribute as it is usually written at this level, for messages.
    fn example(self) -> &'static str {
        match self {
            Self::Struct => "#[aws_secrets(name = \"prod/db\")]",
            Self::Field => "#[aws_secrets(key = \"password\")]",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Struct => STRUCT_KEYS,
            Self::Field => FIELD_KEYS,
        }
    }
}

/// How a secret is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    Arn,
    Name,
    Parameter,
}

impl IdKind {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Arn => ARN,
            Self::Name => NAME,
            Self::Parameter => PARAMETER,
        }
    }
}

/// `arn = "…"` or `name = "…"`.
#[derive(Debug)]
pub(crate) struct SecretId {
    pub(crate) kind: IdKind,
    /// The id as the runtime keys it (placeholders unresolved): for a parameter `ssm:NAME` or
    /// its ARN, without the selector.
    pub(crate) value: String,
    pub(crate) lit: LitStr,
    /// A parameter's version or label (`parameter = "/prod/db:3"`).
    pub(crate) selector: Option<id::Selector>,
}

/// `version_stage = "…"` or `version_id = "…"`.
#[derive(Debug)]
pub(crate) enum Version {
    Stage(LitStr),
    Id(LitStr),
}

/// `ttl = "…"` or `rotation = "…"`, in seconds.
#[derive(Debug)]
pub(crate) struct Dur {
    pub(crate) secs: u64,
    pub(crate) lit: LitStr,
}

/// The keys of the `#[aws_secrets(…)]` attributes of one struct or one field.
#[derive(Debug, Default)]
pub(crate) struct Attrs {
    pub(crate) secret: Option<SecretId>,
    pub(crate) key: Option<LitStr>,
    pub(crate) public: Option<Span>,
    pub(crate) binary: Option<Span>,
    pub(crate) nested: Option<Span>,
    pub(crate) version: Option<Version>,
    pub(crate) ttl: Option<Dur>,
    pub(crate) rotation: Option<Dur>,
    /// `role = "…"`, checked (placeholders unresolved).
    pub(crate) role: Option<LitStr>,
    pub(crate) krate: Option<syn::Path>,
    /// Every key written, in order, with the span of its name.
    seen: Vec<(&'static str, Span)>,
    /// Keys whose intent is unknown after an error: misspelt (`pubic` for `public`), misplaced,
    /// or with a value that did not parse. Only the checks that depend on one of them are
    /// skipped, so that one typo gives one error (`pubic` is not also "`String` would
    /// expose…") while every independent mistake is still reported.
    unsure: Vec<&'static str>,
    /// An error left no guess at what was meant (a key like no other, a list that does not
    /// parse): every check that builds on these attributes is skipped.
    lost: bool,
}

impl Attrs {
    /// Where `key` was written, if it was.
    pub(crate) fn span_of(&self, key: &str) -> Option<Span> {
        self.seen.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }

    /// Whether an error left what any of `keys` was meant to say unknown: a check that
    /// depends on them says nothing then.
    pub(crate) fn unsure_of(&self, keys: &[&str]) -> bool {
        self.lost || keys.iter().any(|k| self.unsure.contains(k))
    }
}

/// Parses every `#[aws_secrets(…)]` in `attrs`; other attributes are ignored.
pub(crate) fn parse(attrs: &[Attribute], level: Level, errors: &mut Errors) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(ATTR)) {
        let list = match &attr.meta {
            Meta::List(list) => list,
            Meta::Path(_) | Meta::NameValue(_) => {
                errors.push(syn::Error::new_spanned(
                    attr,
                    format!("expected a list of keys, like `{}`", level.example()),
                ));
                out.lost = true;
                continue;
            }
        };
        if list.tokens.is_empty() {
            errors.push(syn::Error::new_spanned(
                attr,
                format!(
                    "empty `#[aws_secrets()]`: write the keys, like `{}`, or remove the attribute",
                    level.example()
                ),
            ));
            out.lost = true;
            continue;
        }
        if let Err(err) = list.parse_nested_meta(|meta| {
            one_key(&mut out, level, &meta, errors)?;
            Ok(())
        }) {
            errors.push(err);
            out.lost = true;
        }
    }
    conflicts(&mut out, errors);
    out
}

/// Parses one key and its value, reporting problems to `errors`; an `Err` means the rest of
/// the list cannot be parsed.
fn one_key(
    out: &mut Attrs,
    level: Level,
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    let Some(ident) = meta.path.get_ident() else {
        errors.push(syn::Error::new_spanned(
            &meta.path,
            "expected a key like `arn`, `name`, `key` or `public`",
        ));
        out.lost = true;
        return skip_value(meta);
    };
    let written = ident.to_string();
    let span = ident.span();
    let Some(key) = FIELD_KEYS
        .iter()
        .chain(STRUCT_KEYS)
        .copied()
        .find(|k| *k == written)
    else {
        let (message, meant) = unknown_key(&written, level);
        errors.push(syn::Error::new(span, message));
        return match meant.as_deref() {
            Some(&[one]) => guessed(out, one, meta, errors),
            Some(keys) => {
                out.unsure.extend(keys);
                skip_value(meta)
            }
            None => {
                out.lost = true;
                skip_value(meta)
            }
        };
    };
    if !level.keys().contains(&key) {
        let msg = match level {
            Level::Struct => format!(
                "`{key}` goes on a field, not on the struct: it describes how one field is read"
            ),
            Level::Field => format!(
                "`{key}` goes on the struct, not on a field: write `#[aws_secrets({key} = \"…\")]` above the struct"
            ),
        };
        errors.push(syn::Error::new(span, msg));
        out.unsure.push(key);
        return skip_value(meta);
    }
    if out.span_of(key).is_some() {
        errors.push(syn::Error::new(
            span,
            format!("duplicate `{key}`: each key is written once"),
        ));
        return skip_value(meta);
    }
    let rivals: &[&str] = match key {
        ARN => &[NAME, PARAMETER],
        NAME => &[ARN, PARAMETER],
        PARAMETER => &[ARN, NAME],
        VERSION_STAGE => &[VERSION_ID],
        VERSION_ID => &[VERSION_STAGE],
        _ => &[],
    };
    if let Some(rival) = rivals.iter().find(|r| out.span_of(r).is_some()) {
        let why = if matches!(key, ARN | NAME | PARAMETER) {
            "a field reads one secret or parameter: `arn`, `name` or `parameter`, once"
        } else {
            "a version is chosen once, by staging label or by id"
        };
        errors.push(syn::Error::new(
            span,
            format!("`{key}` conflicts with `{rival}`: {why}"),
        ));
        return skip_value(meta);
    }
    out.seen.push((key, span));
    match key {
        PUBLIC | BINARY | NESTED => {
            flag(meta, key, errors)?;
            let slot = match key {
                PUBLIC => &mut out.public,
                BINARY => &mut out.binary,
                _ => &mut out.nested,
            };
            *slot = Some(span);
        }
        _ => {
            let Some(lit) = string_value(meta, key, errors)? else {
                out.unsure.push(key);
                return Ok(());
            };
            let before = errors.count();
            store(out, key, lit, errors);
            if errors.count() > before {
                out.unsure.push(key);
            }
        }
    }
    Ok(())
}

/// A misspelt key whose meaning is guessed (`nam` for `name`): the key stays unsure, and its
/// value is still checked as that key's, so a bad name behind a typo is reported too.
fn guessed(
    out: &mut Attrs,
    meant: &'static str,
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    out.unsure.push(meant);
    let takes_a_string = !matches!(meant, PUBLIC | BINARY | NESTED);
    if !(takes_a_string && meta.input.peek(Token![=])) {
        return skip_value(meta);
    }
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = meta.value()?.parse::<Expr>()?
    {
        store(&mut Attrs::default(), meant, lit, errors);
    }
    Ok(())
}

/// Checks a string value and stores it. Invalid ids and versions are stored anyway, so that
/// a bad ARN does not also read as "this field has no secret".
fn store(out: &mut Attrs, key: &'static str, lit: LitStr, errors: &mut Errors) {
    let value = lit.value();
    let span = lit.span();
    let check = |result: Result<(), String>, errors: &mut Errors| {
        if let Err(msg) = result {
            errors.push(syn::Error::new(span, msg));
        }
    };
    match key {
        ARN | NAME => {
            let kind = if key == ARN {
                IdKind::Arn
            } else {
                IdKind::Name
            };
            let result = match kind {
                IdKind::Arn => id::check_arn(&value),
                _ => id::check_name(&value),
            };
            check(result, errors);
            out.secret = Some(SecretId {
                kind,
                value,
                lit,
                selector: None,
            });
        }
        PARAMETER => {
            let (value, selector) = match id::check_parameter(&value) {
                Ok(checked) => checked,
                Err(msg) => {
                    errors.push(syn::Error::new(span, msg));
                    (value, None)
                }
            };
            out.secret = Some(SecretId {
                kind: IdKind::Parameter,
                value,
                lit,
                selector,
            });
        }
        KEY => {
            if value.is_empty() {
                check(
                    Err("`key` is empty: name the JSON key this field reads".to_owned()),
                    errors,
                );
            }
            out.key = Some(lit);
        }
        VERSION_STAGE => {
            check(id::check_version_stage(&value), errors);
            out.version = Some(Version::Stage(lit));
        }
        VERSION_ID => {
            check(id::check_version_id(&value), errors);
            out.version = Some(Version::Id(lit));
        }
        TTL | ROTATION => match duration::parse(&value) {
            Ok(0) => {
                let why = if key == TTL {
                    "a zero TTL would send every read to Secrets Manager (rate limits, cost); remove `ttl` to use the cache's (600 s by default), or give minutes, like `ttl = \"10m\"`"
                } else {
                    "a secret cannot rotate every zero seconds"
                };
                check(Err(format!("`{key}` must be above zero: {why}")), errors);
            }
            Ok(secs) => {
                let dur = Some(Dur { secs, lit });
                if key == TTL {
                    out.ttl = dur;
                } else {
                    out.rotation = dur;
                }
            }
            Err(msg) => check(Err(msg), errors),
        },
        ROLE => {
            check(id::check_role(&value), errors);
            out.role = Some(lit);
        }
        CRATE => match lit.parse::<syn::Path>() {
            Ok(path) => out.krate = Some(path),
            Err(_) => check(
                Err(format!(
                    "`{value}` is not a path: `crate` names the runtime crate, like `crate = \"::asm_runtime\"`"
                )),
                errors,
            ),
        },
        _ => {}
    }
}

/// Keys that cannot go together in one attribute list (other than `arn`/`name` and the two
/// versions, which are refused as they are parsed).
fn conflicts(attrs: &mut Attrs, errors: &mut Errors) {
    if attrs
        .secret
        .as_ref()
        .is_some_and(|s| s.kind == IdKind::Parameter)
    {
        for key in [VERSION_STAGE, VERSION_ID] {
            if let Some(span) = attrs.span_of(key) {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`{key}` does not apply to a parameter: write its version or label in it, `parameter = \"/prod/db-host:3\"` or `parameter = \"/prod/db-host:blue\"`"
                    ),
                ));
                attrs.unsure.push(key);
            }
        }
    }
    if attrs.nested.is_some() {
        let others: Vec<_> = attrs
            .seen
            .iter()
            .filter(|(k, _)| *k != NESTED)
            .copied()
            .collect();
        for (key, span) in others {
            errors.push(syn::Error::new(
                span,
                format!(
                    "`{key}` cannot be combined with `nested`: a nested struct is read as its own `#[aws_secrets(…)]` attributes say"
                ),
            ));
            attrs.unsure.extend([key, NESTED]);
        }
        return;
    }
    if attrs.binary.is_some() {
        if let Some(span) = attrs.span_of(KEY) {
            errors.push(syn::Error::new(
                span,
                "`key` cannot be combined with `binary`: a SecretBinary is read whole, it has no JSON keys",
            ));
            attrs.unsure.extend([KEY, BINARY]);
        }
        if let Some(span) = attrs.span_of(PUBLIC) {
            errors.push(syn::Error::new(
                span,
                "`public` cannot be combined with `binary`: a binary field is a `SecretSlice<u8>`, which stays masked",
            ));
            attrs.unsure.extend([PUBLIC, BINARY]);
        }
    }
}

/// The string value of `key = "…"`, or `None` after reporting why there is none.
fn string_value(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    let example = example(key);
    if !meta.input.peek(Token![=]) {
        errors.push(syn::Error::new_spanned(
            &meta.path,
            format!("`{key}` takes a value: `{example}`"),
        ));
        skip_value(meta)?;
        return Ok(None);
    }
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(Some(lit)),
        other => {
            errors.push(syn::Error::new(
                other.span(),
                format!("expected a string: `{example}`"),
            ));
            Ok(None)
        }
    }
}

/// A key without a value (`public`), reporting a value if one was written.
fn flag(meta: &ParseNestedMeta<'_>, key: &str, errors: &mut Errors) -> syn::Result<()> {
    let msg = format!("`{key}` takes no value: write `#[aws_secrets({key})]`");
    if meta.input.peek(Token![=]) {
        let eq: Token![=] = meta.input.parse()?;
        let value: Expr = meta.input.parse()?;
        errors.push(syn::Error::new_spanned(quote::quote!(#eq #value), msg));
    } else if meta.input.peek(syn::token::Paren) {
        let group: proc_macro2::Group = meta.input.parse()?;
        errors.push(syn::Error::new(group.span(), msg));
    }
    Ok(())
}

/// Consumes `= value` or `(…)` after a key that is being refused.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn example(key: &str) -> &'static str {
    match key {
        ARN => "arn = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf\"",
        NAME => "name = \"prod/db\"",
        KEY => "key = \"password\"",
        VERSION_STAGE => "version_stage = \"AWSPREVIOUS\"",
        VERSION_ID => "version_id = \"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111\"",
        TTL => "ttl = \"10m\"",
        ROTATION => "rotation = \"30d\"",
        ROLE => "role = \"arn:aws:iam::123456789012:role/reader\"",
        CRATE => "crate = \"::asm_runtime\"",
        _ => "",
    }
}

/// "unknown key", with the closest known key when there is one; and that key, when the typo
/// points at exactly one.
fn unknown_key(written: &str, level: Level) -> (String, Option<Vec<&'static str>>) {
    let all: Vec<&'static str> = FIELD_KEYS.iter().chain(STRUCT_KEYS).copied().collect();
    if let Some(part) = ["region", "account", "account_id", "partition"]
        .into_iter()
        .find(|k| *k == written)
    {
        let message = format!(
            "unknown key `{written}`: a secret's {part} is not a key; the region (and account) of a `name` are the SDK client's (`AWS_REGION`, the profile, the `SdkConfig`), and a secret in another {part} is read by its full `arn = \"arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME\"`"
        );
        return (message, Some(Vec::new()));
    }
    if let Some((_, meant)) = ALIASES.iter().find(|(alias, _)| *alias == written) {
        let keys = all
            .iter()
            .copied()
            .filter(|k| meant.contains(&format!("`{k}`")))
            .collect();
        return (
            format!("unknown key `{written}`; did you mean {meant}?"),
            Some(keys),
        );
    }
    let lower = written.to_ascii_lowercase();
    let near = |keys: &[&'static str]| {
        keys.iter()
            .map(|k| (distance(&lower, k), *k))
            .filter(|(d, k)| *d <= (k.len() / 3).max(1))
            .min()
            .map(|(_, k)| k)
    };
    let suffix = |keys: &[&'static str]| {
        keys.iter()
            .copied()
            .find(|k| lower.len() >= 3 && (k.starts_with(&lower) || k.ends_with(&lower)))
    };
    let meant = near(level.keys())
        .or_else(|| suffix(level.keys()))
        .or_else(|| near(&all))
        .or_else(|| suffix(&all));
    match meant {
        Some(meant) => (
            format!("unknown key `{written}`; did you mean `{meant}`?"),
            Some(vec![meant]),
        ),
        None => (
            format!(
                "unknown key `{written}`; expected one of {}",
                level
                    .keys()
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None,
        ),
    }
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn parse_field(attrs: &[Attribute]) -> (Attrs, Vec<String>) {
        let mut errors = Errors::default();
        let out = parse(attrs, Level::Field, &mut errors);
        (out, errors.messages())
    }

    fn parse_struct(attrs: &[Attribute]) -> (Attrs, Vec<String>) {
        let mut errors = Errors::default();
        let out = parse(attrs, Level::Struct, &mut errors);
        (out, errors.messages())
    }

    #[test]
    fn parses_every_field_key() {
        let (attrs, errors) = parse_field(&[
            parse_quote!(#[aws_secrets(name = "prod/db", key = "pw", version_stage = "AWSPREVIOUS")]),
            parse_quote!(#[aws_secrets(ttl = "1h", rotation = "30d")]),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            attrs.secret.map(|s| (s.kind, s.value)),
            Some((IdKind::Name, "prod/db".to_owned()))
        );
        assert_eq!(attrs.key.map(|k| k.value()).as_deref(), Some("pw"));
        assert!(matches!(attrs.version, Some(Version::Stage(_))));
        assert_eq!(attrs.ttl.map(|d| d.secs), Some(3_600));
        assert_eq!(attrs.rotation.map(|d| d.secs), Some(2_592_000));
    }

    #[test]
    fn parses_flags_and_crate() {
        let (attrs, errors) = parse_field(&[parse_quote!(#[aws_secrets(public)])]);
        assert!(errors.is_empty() && attrs.public.is_some());
        let (attrs, errors) = parse_struct(&[parse_quote!(#[aws_secrets(crate = "::my::rt")])]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(attrs.krate.is_some());
    }

    #[test]
    fn suggests_the_closest_key() {
        let (_, errors) =
            parse_field(&[parse_quote!(#[aws_secrets(pubilc, verison_stage = "X", rename = "a")])]);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("did you mean `public`?"));
        assert!(errors[1].contains("did you mean `version_stage`?"));
        assert!(errors[2].contains("did you mean `key`?"));
        let (_, errors) = parse_struct(&[parse_quote!(#[aws_secrets(zzzzzz = "x")])]);
        assert!(errors[0].contains("expected one of `arn`"), "{errors:?}");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets(
            ttl = "10", key = "", public = true, bogus, name = "a*", arn = "x"
        )])]);
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn refuses_duplicates_and_conflicts() {
        let (_, errors) = parse_field(&[
            parse_quote!(#[aws_secrets(ttl = "1m")]),
            parse_quote!(#[aws_secrets(ttl = "2m")]),
        ]);
        assert_eq!(errors, ["duplicate `ttl`: each key is written once"]);
        let (_, errors) = parse_field(&[
            parse_quote!(#[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:a", name = "a")]),
        ]);
        assert!(
            errors[0].starts_with("`name` conflicts with `arn`"),
            "{errors:?}"
        );
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets(public, nested, key = "k")])]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets(binary, key = "k", public)])]);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn refuses_keys_at_the_wrong_level() {
        let (_, errors) = parse_struct(&[parse_quote!(#[aws_secrets(public)])]);
        assert!(errors[0].contains("goes on a field"), "{errors:?}");
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets(crate = "x")])]);
        assert!(errors[0].contains("goes on the struct"), "{errors:?}");
    }

    #[test]
    fn refuses_malformed_values() {
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets(ttl = 600)])]);
        assert!(errors[0].contains("expected a string"), "{errors:?}");
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets(ttl)])]);
        assert!(errors[0].contains("takes a value"), "{errors:?}");
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets(ttl = "0s")])]);
        assert!(errors[0].contains("above zero"), "{errors:?}");
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets])]);
        assert!(errors[0].contains("list of keys"), "{errors:?}");
        assert!(errors[0].contains("key = \"password\""), "{errors:?}");
        let (_, errors) = parse_field(&[parse_quote!(#[aws_secrets()])]);
        assert!(
            errors[0].starts_with("empty `#[aws_secrets()]`"),
            "{errors:?}"
        );
        let (_, errors) = parse_struct(&[parse_quote!(#[aws_secrets(region = "eu-west-1")])]);
        assert!(errors[0].contains("full `arn"), "{errors:?}");
        let (_, errors) = parse_struct(&[parse_quote!(#[aws_secrets(crate = "not a path")])]);
        assert!(errors[0].contains("not a path"), "{errors:?}");
    }

    #[test]
    fn ignores_other_attributes() {
        let (attrs, errors) = parse_field(&[
            parse_quote!(#[serde(rename = "x")]),
            parse_quote!(#[doc = "d"]),
        ]);
        assert!(errors.is_empty() && attrs.seen.is_empty());
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("ttl", "ttl"), 0);
        assert_eq!(distance("nmae", "name"), 1);
        assert_eq!(distance("arm", "arn"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("verison_id", "version_id"), 1);
    }
}
