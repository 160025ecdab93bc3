//! The grammar of what goes in a secret id (`arn`, `name`), a parameter (`parameter`, by the
//! rules of `ssm_name.rs`, shared with the runtime), a version (`version_stage`,
//! `version_id`) and a role (`role`).
//!
//! Every check returns a complete sentence for the user: which part is wrong and what it should
//! look like. Ids may contain `${VAR}` placeholders, resolved at load time; the text around them
//! is still checked.

pub(crate) use crate::partition::PARTITIONS;

/// The service part of a Secrets Manager ARN.
const SERVICE: &str = "secretsmanager";

/// The resource type part of a Secrets Manager ARN.
const RESOURCE_TYPE: &str = "secret";

/// The longest secret name Secrets Manager accepts.
const NAME_MAX: usize = 512;

/// The shape of an ARN, for messages.
const ARN_SHAPE: &str = "`arn:<partition>:secretsmanager:<region>:<account>:secret:<name>`";

/// The characters of a secret name, for messages.
const NAME_CHARS: &str = "letters, digits and `/_+=.@-`";

/// The shape of a role ARN, for messages.
const ROLE_SHAPE: &str = "`arn:<partition>:iam::<account>:role/<name>`";

/// The longest role ARN IAM accepts.
const ROLE_ARN_MAX: usize = 2048;

/// The longest role name IAM accepts.
const ROLE_NAME_MAX: usize = 64;

/// One run of a template: literal text, or the variable name of a `${VAR}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Checks the value of `arn = "…"`.
pub(crate) fn check_arn(text: &str) -> Result<(), String> {
    no_wildcard(text)?;
    let parsed = pieces(text)?;
    let parts = split_parts(&parsed);
    const LABELS: [&str; 7] = [
        "`arn:` prefix",
        "partition",
        "service",
        "region",
        "account",
        "resource type",
        "secret name",
    ];
    if parts.len() == 1 {
        return Err(format!(
            "`{text}` is not an ARN (it does not start with `arn:`): for a secret name, use `name = \"…\"`, or write the full ARN {ARN_SHAPE}"
        ));
    }
    if literal(&parts[0]) != Some("arn") {
        return Err(format!("an ARN starts with `arn:`: expected {ARN_SHAPE}"));
    }
    // The parts that are there are checked first: `arn:aws:ssm:…` is about the service, not
    // about a missing part.
    let part = |at: usize| parts.get(at).map(Vec::as_slice);
    let partition = part(1).map(check_partition).transpose()?.flatten();
    part(2).map(check_service).transpose()?;
    let region = part(3).map(check_region).transpose()?.flatten();
    if let (Some(partition), Some(region)) = (partition, region) {
        check_partition_region(partition, region)?;
    }
    part(4).map(check_account).transpose()?;
    part(5).map(check_resource_type).transpose()?;
    if parts.len() < LABELS.len() {
        return Err(format!(
            "incomplete ARN: it ends before the {}; expected {ARN_SHAPE}",
            LABELS[parts.len()]
        ));
    }
    // The name is the rest: a `:` in it is reported by the name rule.
    let name_start = parts[..6].iter().map(|p| source_len(p) + 1).sum::<usize>();
    let name = &text[name_start..];
    check_name_pieces(name, &pieces(name)?)
}

/// A parameter's version or label, from its selector (`name:3`, `name:prod`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    Version(String),
    Label(String),
}

/// Checks the value of `parameter = "…"` (a name or ARN, with an optional `:version` or
/// `:label`) and returns the id the runtime keys it under (`ssm:NAME`, or the ARN; placeholders
/// kept) and its selector.
pub(crate) fn check_parameter(text: &str) -> Result<(String, Option<Selector>), String> {
    let checked: String = pieces(text)?
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => (*text).to_owned(),
            Piece::Var(_) => crate::ssm_name::PLACEHOLDER.to_string(),
        })
        .collect();
    let parsed = crate::ssm_name::parse(&checked)?;
    let (reference, _) = crate::ssm_name::split_selector(text);
    let id = if reference.starts_with("arn:") {
        reference.to_owned()
    } else {
        format!("ssm:{reference}")
    };
    let selector = parsed.selector.map(|selector| match selector {
        crate::ssm_name::Selector::Version(n) => Selector::Version(n.to_owned()),
        crate::ssm_name::Selector::Label(label) => Selector::Label(label.to_owned()),
    });
    Ok((id, selector))
}

/// Checks the value of `name = "…"`.
pub(crate) fn check_name(text: &str) -> Result<(), String> {
    no_wildcard(text)?;
    if text.starts_with("arn:") {
        return Err(format!(
            "`name` takes a secret name, not an ARN: use `arn = \"{text}\"`"
        ));
    }
    check_name_pieces(text, &pieces(text)?)
}

/// Checks the value of `role = "…"`: an IAM role's ARN,
/// `arn:<partition>:iam::<12-digit account>:role/[<path>/]<name>`, where the path and name are
/// made of letters, digits and `_+=,.@-` (a name at most 64 characters, the ARN at most 2048).
pub(crate) fn check_role(text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|c| matches!(c, '*' | '?')) {
        return Err(format!(
            "wildcard `{c}` in a role ARN: a secret is read as one exact role, which the IAM policy generated from it lets the caller assume; write the role's full ARN, with `${{VAR}}` for a part that varies by deployment"
        ));
    }
    let parsed = pieces(text)?;
    let parts = split_parts(&parsed);
    if parts.len() == 1 {
        return Err(format!(
            "`{text}` is not a role ARN (it does not start with `arn:`): write the role's full ARN {ROLE_SHAPE}, like `arn:aws:iam::123456789012:role/reader`"
        ));
    }
    if literal(&parts[0]) != Some("arn") {
        return Err(format!("an ARN starts with `arn:`: expected {ROLE_SHAPE}"));
    }
    let part = |at: usize| parts.get(at).map(Vec::as_slice);
    part(1).map(check_partition).transpose()?;
    match part(2).map(literal) {
        None | Some(Some("iam")) => {}
        Some(Some("sts")) => {
            return Err(format!(
                "service `sts`: an `arn:aws:sts::…:assumed-role/…` ARN names a session of a role, not the role; write the role's own ARN {ROLE_SHAPE}"
            ));
        }
        Some(Some(service)) => {
            return Err(format!(
                "service `{service}` is not `iam`: a role's ARN is {ROLE_SHAPE}"
            ));
        }
        Some(None) => {
            return Err(
                "the service of a role ARN is always `iam`: write it out, not as a placeholder"
                    .to_owned(),
            );
        }
    }
    if part(3).is_some_and(|region| !region.is_empty()) {
        return Err(format!(
            "an IAM ARN has no region (IAM is global): write two colons after `iam`, {ROLE_SHAPE}"
        ));
    }
    part(4).map(check_account).transpose()?;
    if parts.len() < 6 {
        return Err(format!(
            "incomplete role ARN: it ends before the {}; expected {ROLE_SHAPE}",
            [
                "",
                "partition",
                "service",
                "region",
                "account",
                "`role/` and the role's name"
            ][parts.len()]
        ));
    }
    let start = parts[..5].iter().map(|p| source_len(p) + 1).sum::<usize>();
    check_role_resource(&text[start..])?;
    let len = texts(&parsed).count();
    if len > ROLE_ARN_MAX {
        return Err(format!(
            "the role ARN is {len} characters long: IAM allows at most {ROLE_ARN_MAX}"
        ));
    }
    Ok(())
}

/// `role/[<path>/]<name>`, as written (placeholders included).
fn check_role_resource(resource: &str) -> Result<(), String> {
    let Some(path) = resource.strip_prefix("role/") else {
        let kind = resource.split('/').next().unwrap_or_default();
        return Err(format!(
            "resource `{kind}` is not a role: a role's ARN names `role/` and the role's name, {ROLE_SHAPE}"
        ));
    };
    let parsed = pieces(path)?;
    if let Some(c) =
        texts(&parsed).find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@-/".contains(*c)))
    {
        return Err(format!(
            "the role's path or name contains `{}`: IAM allows letters, digits and `_+=,.@-`, and `/` between the parts of a path",
            c.escape_debug()
        ));
    }
    if path.is_empty() || path.ends_with('/') {
        return Err(format!("the role's name is empty: expected {ROLE_SHAPE}"));
    }
    if path.starts_with('/') || path.contains("//") {
        return Err("the role's path has an empty part (`//`): write `role/path/name`".to_owned());
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    let name_len = texts(&pieces(name)?).count();
    if name_len > ROLE_NAME_MAX {
        return Err(format!(
            "the role's name is {name_len} characters long: IAM allows at most {ROLE_NAME_MAX}"
        ));
    }
    Ok(())
}

/// Checks the value of `version_stage = "…"`: a staging label, 1 to 256 characters.
pub(crate) fn check_version_stage(text: &str) -> Result<(), String> {
    no_wildcard(text)?;
    no_placeholder(text, "version_stage")?;
    if text.is_empty() || text.chars().count() > 256 {
        return Err(format!(
            "a staging label is 1 to 256 characters (`AWSCURRENT`, `AWSPREVIOUS`, `AWSPENDING` or your own); found {} characters",
            text.chars().count()
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "staging label `{text}` contains `{c}`: use letters, digits, `_` and `-`"
        ));
    }
    Ok(())
}

/// Checks the value of `version_id = "…"`: 32 to 64 characters, usually a UUID.
pub(crate) fn check_version_id(text: &str) -> Result<(), String> {
    no_wildcard(text)?;
    no_placeholder(text, "version_id")?;
    if let Some(c) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "version id `{text}` contains `{c}`: a version id is made of letters, digits and `-` (usually a UUID)"
        ));
    }
    if !(32..=64).contains(&text.len()) {
        return Err(format!(
            "version id `{text}` has {} characters: a version id has 32 to 64 (usually a UUID like `a1b2c3d4-5678-90ab-cdef-EXAMPLE11111`)",
            text.len()
        ));
    }
    Ok(())
}

/// `*` and `?` would make the id, and the IAM policy generated from it, match more than one
/// secret.
fn no_wildcard(text: &str) -> Result<(), String> {
    if let Some(name) = text.strip_suffix("-??????") {
        return Err(format!(
            "drop the `-??????`: write the secret as `{name}`; Secrets Manager appends six characters to every name, and the generated IAM policy adds the `-??????` that matches them"
        ));
    }
    match text.chars().find(|c| matches!(c, '*' | '?')) {
        Some(c) => Err(format!(
            "wildcard `{c}` in a secret id: least privilege means naming the exact secret, so that the IAM policy generated from this id grants access to it alone; write the full name, with `${{VAR}}` for a part that varies by deployment"
        )),
        None => Ok(()),
    }
}

/// Placeholders are resolved in secret ids only.
fn no_placeholder(text: &str, key: &str) -> Result<(), String> {
    if text.contains("${") {
        return Err(format!(
            "`${{VAR}}` placeholders are resolved in secret ids (`arn`, `name`) only, not in `{key}`: write the value out"
        ));
    }
    Ok(())
}

/// Splits a template into text and `${VAR}` pieces.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "placeholder `${{{after}` is never closed: write `${{VAR}}`"
            ));
        };
        let name = &after[..end];
        if name.is_empty() {
            return Err("empty placeholder `${}`: name a variable, like `${APP_ENV}`".to_owned());
        }
        if !is_var_name(name) {
            return Err(format!(
                "`${{{name}}}` is not a valid placeholder: a variable name starts with a letter or `_` and continues with letters, digits or `_`"
            ));
        }
        out.push(Piece::Var(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits pieces at the `:`s of their text (a variable name never contains one).
fn split_parts<'a>(pieces: &[Piece<'a>]) -> Vec<Vec<Piece<'a>>> {
    let mut parts = vec![Vec::new()];
    for piece in pieces {
        match piece {
            Piece::Var(_) => parts.last_mut().into_iter().for_each(|p| p.push(*piece)),
            Piece::Text(text) => {
                let mut split = text.split(':');
                if let (Some(first), Some(part)) = (split.next(), parts.last_mut())
                    && !first.is_empty()
                {
                    part.push(Piece::Text(first));
                }
                for next in split {
                    parts.push(if next.is_empty() {
                        Vec::new()
                    } else {
                        vec![Piece::Text(next)]
                    });
                }
            }
        }
    }
    parts
}

/// The text of a part without placeholders (`""` when empty), or `None` when it has some.
fn literal<'a>(part: &[Piece<'a>]) -> Option<&'a str> {
    match part {
        [] => Some(""),
        [Piece::Text(text)] => Some(text),
        _ => None,
    }
}

/// The length of a part as written in the source, placeholders included.
fn source_len(part: &[Piece<'_>]) -> usize {
    part.iter()
        .map(|p| match p {
            Piece::Text(t) => t.len(),
            Piece::Var(v) => v.len() + 3,
        })
        .sum()
}

/// The literal text of a templated part, for checking its characters.
fn texts<'a>(part: &'a [Piece<'a>]) -> impl Iterator<Item = char> + 'a {
    part.iter()
        .filter_map(|p| match p {
            Piece::Text(t) => Some(*t),
            Piece::Var(_) => None,
        })
        .flat_map(str::chars)
}

fn check_partition<'a>(part: &[Piece<'a>]) -> Result<Option<&'a str>, String> {
    let expected = format!("one of `{}`", PARTITIONS.join("`, `"));
    match literal(part) {
        Some("") => Err(format!(
            "the partition of this ARN is empty: expected {expected}"
        )),
        Some(p) if PARTITIONS.contains(&p) => Ok(Some(p)),
        Some(p) => Err(format!("partition `{p}` is not {expected}")),
        None => match texts(part).find(|c| !(c.is_ascii_lowercase() || *c == '-')) {
            Some(c) => Err(format!("the partition contains `{c}`: expected {expected}")),
            None => Ok(None),
        },
    }
}

fn check_service(part: &[Piece<'_>]) -> Result<(), String> {
    match literal(part) {
        Some(SERVICE) => Ok(()),
        Some("ssm") => Err(
            "service `ssm`: this is a Parameter Store parameter's ARN; read it with `parameter = \"…\"`"
                .to_owned(),
        ),
        Some(s) => Err(format!(
            "service `{s}` is not `{SERVICE}`: this ARN does not name a Secrets Manager secret; expected {ARN_SHAPE}"
        )),
        None => Err(format!(
            "the service of the ARN is always `{SERVICE}`: write it out, not as a placeholder"
        )),
    }
}

fn check_region<'a>(part: &[Piece<'a>]) -> Result<Option<&'a str>, String> {
    match literal(part) {
        Some("") => Err(
            "the region of this ARN is empty: a Secrets Manager ARN names its region, like `us-east-1`"
                .to_owned(),
        ),
        Some(region) if is_region(region) => Ok(Some(region)),
        Some(region) => Err(format!(
            "region `{region}` is not a region code like `us-east-1` or `eu-central-1`"
        )),
        None => match texts(part).find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
            Some(c) => Err(format!(
                "the region contains `{c}`: a region code is like `us-east-1`"
            )),
            None => Ok(None),
        },
    }
}

/// `us-east-1`, `us-gov-west-1`, `ap-southeast-2`: two letters, one or more words, a number.
fn is_region(region: &str) -> bool {
    let segments: Vec<&str> = region.split('-').collect();
    let [first, middle @ .., last] = segments.as_slice() else {
        return false;
    };
    first.len() == 2
        && first.chars().all(|c| c.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase()))
        && (1..=2).contains(&last.len())
        && last.chars().all(|c| c.is_ascii_digit())
}

fn check_partition_region(partition: &str, region: &str) -> Result<(), String> {
    let expected = crate::partition::of_region(region);
    if partition == expected {
        Ok(())
    } else {
        Err(format!(
            "region `{region}` is in partition `{expected}`, but this ARN names partition `{partition}`"
        ))
    }
}

fn check_account(part: &[Piece<'_>]) -> Result<(), String> {
    let expected = "a 12-digit AWS account id, like `123456789012`";
    match literal(part) {
        Some("") => Err(format!(
            "the account of this ARN is empty: expected {expected}"
        )),
        Some(account) if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(())
        }
        Some(account) => Err(format!("account `{account}` is not {expected}")),
        None => {
            let mut digits = 0;
            for c in texts(part) {
                if !c.is_ascii_digit() {
                    return Err(format!("the account contains `{c}`: expected {expected}"));
                }
                digits += 1;
            }
            if digits > 12 {
                return Err(format!(
                    "the account has more than 12 digits: expected {expected}"
                ));
            }
            Ok(())
        }
    }
}

fn check_resource_type(part: &[Piece<'_>]) -> Result<(), String> {
    match literal(part) {
        Some(RESOURCE_TYPE) => Ok(()),
        Some(t) => Err(format!(
            "resource type `{t}` is not `{RESOURCE_TYPE}`: expected {ARN_SHAPE}"
        )),
        None => Err(format!(
            "the resource type of the ARN is always `{RESOURCE_TYPE}`: write it out, not as a placeholder"
        )),
    }
}

/// The name rule: 1 to 512 characters of `A-Za-z0-9/_+=.@-`; `text` is the name as written
/// (placeholders included), `pieces` its parse.
fn check_name_pieces(text: &str, pieces: &[Piece<'_>]) -> Result<(), String> {
    let what = if !text.is_empty() {
        format!("secret name `{text}`")
    } else {
        "the secret name".to_owned()
    };
    if pieces.is_empty() {
        return Err(format!(
            "{what} is empty: a secret name is 1 to {NAME_MAX} characters of {NAME_CHARS}"
        ));
    }
    let mut len = 0;
    for c in texts(pieces) {
        if !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)) {
            let hint = match c {
                '$' | '{' | '}' => "; a placeholder is written `${VAR}`",
                ':' => "; a name has no `:` (is this an ARN? use `arn = \"…\"`)",
                _ => "",
            };
            return Err(format!(
                "{what} contains `{}`: a secret name is made of {NAME_CHARS}{hint}",
                c.escape_debug()
            ));
        }
        len += 1;
    }
    if len > NAME_MAX {
        return Err(format!(
            "{what} is {len} characters long: a secret name is at most {NAME_MAX}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Fails {
        fn fails(self) -> String;
    }

    impl Fails for Result<(), String> {
        fn fails(self) -> String {
            match self {
                Ok(()) => panic!("should have been rejected"),
                Err(e) => e,
            }
        }
    }

    const GOOD: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    fn arn_err(text: &str) -> String {
        match check_arn(text) {
            Ok(()) => panic!("`{text}` should be rejected"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_well_formed_arns() {
        assert_eq!(check_arn(GOOD), Ok(()));
        assert_eq!(
            check_arn("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a"),
            Ok(())
        );
        assert_eq!(
            check_arn(
                "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:a+b=c.d@e_f"
            ),
            Ok(())
        );
    }

    #[test]
    fn accepts_placeholders_in_region_account_and_name() {
        assert_eq!(
            check_arn("arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${APP_ENV}/db"),
            Ok(())
        );
        assert_eq!(
            check_arn("arn:${PARTITION}:secretsmanager:us-${R}-1:1234${REST}:secret:x"),
            Ok(())
        );
    }

    #[test]
    fn names_the_wrong_part() {
        assert!(arn_err("prod/db").contains("not an ARN"));
        assert!(
            arn_err("urn:aws:secretsmanager:us-east-1:123456789012:secret:a")
                .contains("starts with `arn:`")
        );
        assert!(arn_err("arn:aws:secretsmanager:us-east-1").contains("ends before the account"));
        assert!(
            arn_err("arn:awz:secretsmanager:us-east-1:123456789012:secret:a")
                .contains("partition `awz`")
        );
        assert!(arn_err("arn:aws:ssm:us-east-1:123456789012:secret:a").contains("service `ssm`"));
        assert!(
            arn_err("arn:aws:ssm:us-east-1:123456789012:parameter/a").contains("service `ssm`")
        );
        assert!(
            arn_err("arn:aws:secretsmanager:useast1:123456789012:secret:a")
                .contains("region `useast1`")
        );
        assert!(
            arn_err("arn:aws:secretsmanager:us-east-1:1234:secret:a").contains("account `1234`")
        );
        assert!(
            arn_err("arn:aws:secretsmanager:us-east-1:123456789012:secrets:a")
                .contains("resource type `secrets`")
        );
        assert!(arn_err("arn:aws:secretsmanager:us-east-1:123456789012:secret:").contains("empty"));
        assert!(
            arn_err("arn:aws:secretsmanager:us-east-1:123456789012:secret:a:b")
                .contains("contains `:`")
        );
        assert!(
            arn_err("arn:aws:secretsmanager::123456789012:secret:a")
                .contains("region of this ARN is empty")
        );
    }

    #[test]
    fn checks_partition_against_region() {
        let err = arn_err("arn:aws:secretsmanager:cn-north-1:123456789012:secret:a");
        assert!(err.contains("partition `aws-cn`"), "{err}");
        let err = arn_err("arn:aws-cn:secretsmanager:us-east-1:123456789012:secret:a");
        assert!(err.contains("partition `aws`"), "{err}");
    }

    #[test]
    fn checks_static_text_around_placeholders() {
        assert!(
            arn_err("arn:aws:secretsmanager:US-${X}:123456789012:secret:a")
                .contains("region contains `U`")
        );
        assert!(
            arn_err("arn:aws:secretsmanager:us-east-1:12x${A}:secret:a")
                .contains("account contains `x`")
        );
        assert!(
            arn_err("arn:aws:${S}:us-east-1:123456789012:secret:a")
                .contains("always `secretsmanager`")
        );
        assert!(
            check_name("${ENV}/db name")
                .fails()
                .contains("contains ` `")
        );
    }

    #[test]
    fn rejects_wildcards_anywhere() {
        assert!(
            arn_err("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*")
                .contains("least privilege")
        );
        assert!(arn_err("arn:aws:secretsmanager:*:123456789012:secret:a").contains("wildcard `*`"));
        assert!(check_name("prod/db-??").fails().contains("wildcard `?`"));
    }

    #[test]
    fn a_hand_written_policy_suffix_is_explained() {
        let err = check_name("prod/db-??????").fails();
        assert!(
            err.starts_with("drop the `-??????`: write the secret as `prod/db`"),
            "{err}"
        );
        assert!(
            arn_err("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-??????")
                .starts_with("drop the `-??????`")
        );
    }

    #[test]
    fn rejects_malformed_placeholders() {
        assert!(check_name("${APP_ENV/db").fails().contains("never closed"));
        assert!(check_name("${}/db").fails().contains("empty placeholder"));
        assert!(
            check_name("${1X}/db")
                .fails()
                .contains("`${1X}` is not a valid placeholder")
        );
        assert!(
            check_name("$APP_ENV/db")
                .fails()
                .contains("written `${VAR}`")
        );
    }

    #[test]
    fn checks_names() {
        assert_eq!(check_name("prod/db"), Ok(()));
        assert_eq!(check_name("${APP_ENV}/stripe"), Ok(()));
        assert_eq!(check_name("${ONLY}"), Ok(()));
        assert_eq!(check_name(&"a".repeat(512)), Ok(()));
        assert!(
            check_name(&"a".repeat(513))
                .fails()
                .contains("513 characters")
        );
        assert!(check_name("").fails().contains("empty"));
        assert!(check_name(GOOD).fails().contains("use `arn"));
        assert!(check_name("prod\ndb").fails().contains("`\\n`"));
    }

    #[test]
    fn checks_versions() {
        assert_eq!(check_version_stage("AWSPREVIOUS"), Ok(()));
        assert_eq!(check_version_stage("blue_green-2"), Ok(()));
        assert!(check_version_stage("").is_err());
        assert!(check_version_stage(&"A".repeat(257)).is_err());
        assert!(check_version_stage("AWS CURRENT").fails().contains("` `"));
        assert!(
            check_version_stage("${STAGE}")
                .fails()
                .contains("secret ids")
        );
        assert_eq!(
            check_version_id("a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"),
            Ok(())
        );
        assert!(check_version_id("abc").fails().contains("3 characters"));
        assert!(
            check_version_id("a1b2c3d4_5678_90ab_cdef_EXAMPLE11111")
                .fails()
                .contains("`_`")
        );
    }

    #[test]
    fn checks_roles() {
        for ok in [
            "arn:aws:iam::123456789012:role/reader",
            "arn:aws-cn:iam::123456789012:role/team/app/db-Reader+1,x=y.z@w",
            "arn:aws-us-gov:iam::${ACCOUNT}:role/${ENV}-reader",
            "arn:${PARTITION}:iam::123456789012:role/path/${ROLE}",
        ] {
            assert_eq!(check_role(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_role(&format!(
                "arn:aws:iam::123456789012:role/{}",
                "n".repeat(64)
            )),
            Ok(())
        );
        for (bad, said) in [
            ("reader", "not a role ARN"),
            ("urn:aws:iam::123456789012:role/r", "starts with `arn:`"),
            ("arn:awz:iam::123456789012:role/r", "partition `awz`"),
            ("arn:aws:s3::123456789012:role/r", "service `s3`"),
            (
                "arn:aws:sts::123456789012:assumed-role/r/s",
                "names a session",
            ),
            ("arn:aws:iam:us-east-1:123456789012:role/r", "no region"),
            ("arn:aws:iam::1234:role/r", "account `1234`"),
            ("arn:aws:iam::123456789012", "ends before the `role/`"),
            (
                "arn:aws:iam::123456789012:user/r",
                "resource `user` is not a role",
            ),
            ("arn:aws:iam::123456789012:role/", "name is empty"),
            ("arn:aws:iam::123456789012:role/a//b", "empty part"),
            ("arn:aws:iam::123456789012:role/r w", "contains ` `"),
            ("arn:aws:iam::123456789012:role/r:x", "contains `:`"),
            ("arn:aws:iam::123456789012:role/*", "wildcard `*`"),
            ("arn:aws:iam::123456789012:role/${}", "empty placeholder"),
        ] {
            let err = check_role(bad).fails();
            assert!(err.contains(said), "{bad}: {err}");
        }
        let long = check_role(&format!(
            "arn:aws:iam::123456789012:role/{}",
            "n".repeat(65)
        ));
        assert!(long.fails().contains("65 characters long"));
        let huge = check_role(&format!(
            "arn:aws:iam::123456789012:role/{}/n",
            "p".repeat(2048)
        ));
        assert!(huge.fails().contains("at most 2048"));
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "eu-central-1",
            "il-central-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "us",
            "us-1",
            "useast-1",
            "us-east",
            "us--1",
            "US-EAST-1",
            "us-east-123",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
