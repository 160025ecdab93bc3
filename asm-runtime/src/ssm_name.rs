//! The one grammar of a Parameter Store parameter as this library reads it: a name
//! (`/prod/orders/db-host`, `db-host`) or its ARN
//! (`arn:aws:ssm:REGION:ACCOUNT:parameter/prod/orders/db-host`, the name's leading `/` dropped),
//! either followed by a version (`:3`) or a label (`:prod`).
//!
//! This file is compiled into both crates (`asm-derive/src/ssm_name.rs` is a link to it): the
//! derive checks what an attribute says, with each `${VAR}` placeholder replaced by
//! [`PLACEHOLDER`], which every rule takes as "decided at load time"; the runtime checks the
//! same text once the placeholders are resolved. It depends on nothing but `partition.rs`, shared
//! the same way.

use crate::partition::PARTITIONS;

/// What the derive puts in place of a `${VAR}` placeholder before checking: a character no
/// resolved id can hold, so a resolved text never passes for one with placeholders.
pub(crate) const PLACEHOLDER: char = '\u{0}';

/// The longest parameter ARN the service accepts: the name's limit counts the ARN around it.
pub(crate) const MAX_ARN: usize = 1011;

/// The shortest ARN prefix a name can get (`arn:aws:ssm:us-east-1:123456789012:parameter/`),
/// so that a name whose ARN must be over [`MAX_ARN`] is refused before any region is known.
const SHORTEST_ARN_PREFIX: usize = 45;

/// How many levels (`/`-separated parts) a hierarchical name may have.
pub(crate) const MAX_DEPTH: usize = 15;

/// The longest label the service accepts.
const MAX_LABEL: usize = 100;

/// The path under which Parameter Store answers with a Secrets Manager secret.
pub(crate) const SECRET_REFERENCE: &str = "/aws/reference/secretsmanager/";

/// The path of AWS's public parameters (AMI ids, regions, service endpoints), readable by
/// every account; their ARNs name no account.
pub(crate) const PUBLIC: &str = "/aws/service/";

/// The shape of a parameter ARN, for messages.
const ARN_SHAPE: &str = "`arn:<partition>:ssm:<region>:<account>:parameter/<name>`";

/// A parameter reference, borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parameter<'a> {
    /// The name without its leading `/`: what follows `parameter/` in its ARN.
    pub(crate) path: &'a str,
    /// Whether the name is hierarchical (`/prod/db-host`, written with a leading `/`).
    pub(crate) hierarchical: bool,
    /// The ARN's partition, region and account, when it was written as an ARN.
    pub(crate) arn: Option<ArnParts<'a>>,
    /// The version or label asked for, if any.
    pub(crate) selector: Option<Selector<'a>>,
}

/// The partition, region and account of a parameter ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArnParts<'a> {
    pub(crate) partition: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
}

/// A version selector: `name:3` or `name:label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selector<'a> {
    /// A version number, 1 or above.
    Version(&'a str),
    /// A label attached to a version.
    Label(&'a str),
}

impl<'a> Parameter<'a> {
    /// Whether this is `/aws/reference/secretsmanager/NAME`: a Secrets Manager secret read
    /// through Parameter Store.
    pub(crate) fn is_secret_reference(&self) -> bool {
        self.referenced_secret().is_some()
    }

    /// The secret's name `NAME` of `/aws/reference/secretsmanager/NAME`.
    pub(crate) fn referenced_secret(&self) -> Option<&'a str> {
        self.path
            .strip_prefix(&SECRET_REFERENCE[1..])
            .filter(|_| self.hierarchical)
    }

    /// Whether this is one of AWS's public parameters, `/aws/service/…`.
    pub(crate) fn is_public(&self) -> bool {
        self.hierarchical && self.path.starts_with(&PUBLIC[1..])
    }
}

/// `text` and the selector after its last `:` (for an ARN, after the resource part).
pub(crate) fn split_selector(text: &str) -> (&str, Option<&str>) {
    let colons_before_name = if text.starts_with("arn:") { 5 } else { 0 };
    match text.match_indices(':').nth(colons_before_name) {
        Some((at, _)) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    }
}

/// Parses a parameter's name or ARN, with an optional selector, or says what is wrong in a
/// sentence that ends with what to write.
pub(crate) fn parse(text: &str) -> Result<Parameter<'_>, String> {
    if let Some(c) = text.chars().find(|c| matches!(c, '*' | '?')) {
        return Err(format!(
            "wildcard `{c}` in a parameter: least privilege names one exact parameter; write \
             its full name, with `${{VAR}}` for a part that varies by deployment"
        ));
    }
    let (reference, selector) = split_selector(text);
    let mut parameter = if reference.starts_with("arn:") {
        parse_arn(reference)?
    } else {
        check_arn_length(reference.trim_start_matches('/'), SHORTEST_ARN_PREFIX)?;
        let hierarchical = reference.starts_with('/');
        if !hierarchical && reference.contains('/') {
            return Err(format!(
                "`{}` has a `/` but does not start with one: a hierarchical parameter name \
                 starts with `/`, as in `/{}`",
                shown(reference),
                shown(reference)
            ));
        }
        Parameter {
            path: reference.strip_prefix('/').unwrap_or(reference),
            hierarchical,
            arn: None,
            selector: None,
        }
    };
    check_path(&parameter)?;
    let selector = selector.map(check_selector).transpose()?;
    if parameter.is_secret_reference() && selector.is_some() {
        return Err(format!(
            "a version selector on `{SECRET_REFERENCE}…`: a reference reads the secret's \
             current value; for another version read the secret itself (`name = \"…\"` with \
             `version_stage` or `version_id`)"
        ));
    }
    parameter.selector = selector;
    Ok(parameter)
}

/// The text for a message, placeholders shown as `${…}`.
fn shown(text: &str) -> String {
    text.replace(PLACEHOLDER, "${…}")
}

fn check_arn_length(path: &str, prefix: usize) -> Result<(), String> {
    let len = prefix + path.chars().filter(|c| *c != PLACEHOLDER).count();
    if len > MAX_ARN {
        return Err(format!(
            "the parameter's ARN would be at least {len} characters long: Parameter Store \
             allows at most {MAX_ARN} for the ARN, name included; shorten the name"
        ));
    }
    Ok(())
}

fn parse_arn(text: &str) -> Result<Parameter<'_>, String> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let part = |at: usize| parts.get(at).copied();
    let has_placeholder = |part: &str| part.contains(PLACEHOLDER);
    if let Some(partition) = part(1).filter(|p| !has_placeholder(p))
        && !PARTITIONS.contains(&partition)
    {
        return Err(format!(
            "partition `{partition}` is not one of {}: expected {ARN_SHAPE}",
            PARTITIONS.join(", ")
        ));
    }
    match part(2) {
        Some("ssm") | None => {}
        Some("secretsmanager") => {
            return Err(
                "this is a Secrets Manager ARN: a secret is read with `arn = \"…\"`, not as a \
                 parameter"
                    .to_owned(),
            );
        }
        Some(service) => {
            return Err(format!(
                "service `{}` is not `ssm`: expected {ARN_SHAPE}",
                shown(service)
            ));
        }
    }
    if let Some(region) = part(3).filter(|r| !has_placeholder(r)) {
        let valid = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(format!(
                "region `{region}` is not a region like `us-east-1`: expected {ARN_SHAPE}"
            ));
        }
    }
    let public = part(5).is_some_and(|resource| resource.starts_with("parameter/aws/service/"));
    if let Some(account) = part(4).filter(|a| !has_placeholder(a))
        && (account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()))
        && !(public && account.is_empty())
    {
        return Err(format!(
            "account `{account}` is not 12 digits: expected {ARN_SHAPE}"
        ));
    }
    let Some(resource) = part(5) else {
        const LABELS: [&str; 6] = [
            "",
            "partition",
            "service",
            "region",
            "account",
            "`parameter/` and the name",
        ];
        return Err(format!(
            "incomplete ARN: it ends before the {}; expected {ARN_SHAPE}",
            LABELS[parts.len()]
        ));
    };
    let Some(path) = resource.strip_prefix("parameter/") else {
        return Err(format!(
            "resource `{}` is not `parameter/<name>`: expected {ARN_SHAPE}",
            shown(resource.split('/').next().unwrap_or_default())
        ));
    };
    if path.starts_with('/') {
        return Err(format!(
            "`parameter/{}`: a parameter's ARN drops the leading `/` of its name; write \
             `parameter/{}`",
            shown(path),
            shown(path.trim_start_matches('/'))
        ));
    }
    check_arn_length(path, text.len() - path.len())?;
    Ok(Parameter {
        path,
        hierarchical: path.contains('/'),
        arn: Some(ArnParts {
            partition: parts[1],
            region: parts[3],
            account: parts[4],
        }),
        selector: None,
    })
}

fn check_path(parameter: &Parameter<'_>) -> Result<(), String> {
    let path = parameter.path;
    if path.is_empty() {
        return Err("the parameter name is empty".to_owned());
    }
    if let Some(secret) = parameter.referenced_secret() {
        let secret_char = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
        if secret.is_empty() || !secret.chars().all(|c| secret_char(c) || c == PLACEHOLDER) {
            return Err(format!(
                "`{SECRET_REFERENCE}` is followed by a secret's name: 1 to 512 letters, digits \
                 and `/_+=.@-`"
            ));
        }
        return Ok(());
    }
    let name_char = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c) || c == PLACEHOLDER;
    if let Some(c) = path.chars().find(|c| !name_char(*c)) {
        return Err(format!(
            "the parameter name contains `{}`: Parameter Store allows letters, digits and \
             `_.-`, and `/` between the levels of a hierarchy",
            c.escape_debug()
        ));
    }
    if path.ends_with('/') || path.contains("//") {
        return Err(format!(
            "`{}` has an empty level (`//`, or a trailing `/`): write `/level/…/name`",
            shown(path)
        ));
    }
    let depth = path.split('/').count();
    if depth > MAX_DEPTH {
        return Err(format!(
            "the parameter name has {depth} levels: Parameter Store allows at most {MAX_DEPTH}"
        ));
    }
    let first = path.split('/').next().unwrap_or_default();
    if let Some(reserved) = reserved_prefix(first).filter(|_| !parameter.is_public()) {
        return Err(format!(
            "a parameter name cannot start with `{reserved}` (reserved by AWS, in any case); \
             the paths readable under `/aws` are `{SECRET_REFERENCE}NAME`, a Secrets Manager \
             secret, and AWS's public parameters `{PUBLIC}…`"
        ));
    }
    Ok(())
}

/// `aws` or `ssm` when `text` starts with either, in any case.
fn reserved_prefix(text: &str) -> Option<&'static str> {
    let head = text.get(..3)?;
    ["aws", "ssm"]
        .into_iter()
        .find(|reserved| head.eq_ignore_ascii_case(reserved))
}

pub(crate) fn check_selector(selector: &str) -> Result<Selector<'_>, String> {
    if selector.contains(PLACEHOLDER) {
        return Err(
            "a placeholder in a version selector: write the version (`:3`) or label \
             (`:prod`) out"
                .to_owned(),
        );
    }
    if selector.is_empty() {
        return Err(
            "nothing after `:`: a selector is a version (`name:3`) or a label (`name:prod`)"
                .to_owned(),
        );
    }
    if selector.chars().all(|c| c.is_ascii_digit()) {
        return match selector.parse::<u64>() {
            Ok(n) if n > 0 && !selector.starts_with('0') => Ok(Selector::Version(selector)),
            _ => Err(format!(
                "version `{selector}`: parameter versions are numbered from 1, without \
                 leading zeros"
            )),
        };
    }
    if selector.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "label `{selector}` starts with a digit: Parameter Store labels cannot (a number \
             after `:` is a version)"
        ));
    }
    if let Some(c) = selector
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
    {
        return Err(format!(
            "label `{selector}` contains `{}`: labels are letters, digits and `_.-`",
            c.escape_debug()
        ));
    }
    if selector.len() > MAX_LABEL {
        return Err(format!(
            "label is {} characters long: Parameter Store allows at most {MAX_LABEL}",
            selector.len()
        ));
    }
    if let Some(reserved) = reserved_prefix(selector) {
        return Err(format!(
            "label `{selector}` starts with `{reserved}`, reserved by AWS in any case"
        ));
    }
    Ok(Selector::Label(selector))
}
