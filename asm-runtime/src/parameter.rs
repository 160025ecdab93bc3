//! Parameter Store parameters as ids of the cache. A parameter is keyed apart from every
//! secret: by name as `ssm:NAME` (`ssm:/prod/orders/db-host`; `:` is in no secret name), or by
//! its ARN (`arn:aws:ssm:…:parameter/…`, which no secret ARN is). Its version or label is the
//! request's [`Version`]: `Version::id("3")` for `name:3`, `Version::stage("prod")` for
//! `name:prod`, and [`Version::current`] for the latest version. So the cache reads a parameter
//! as one more (id, version), and a new parameter version is a rotation.

use crate::Version;
use crate::ssm_name::{self, Parameter, Selector};

/// What a parameter's name is prefixed with to make its id (see the module doc).
pub const PREFIX: &str = "ssm:";

/// Whether `id` names a parameter (`ssm:…`, or an ARN of the `ssm` service) rather than a
/// secret. Says nothing of whether the rest is well formed: [`parse`] does.
pub(crate) fn is_parameter(id: &str) -> bool {
    id.starts_with(PREFIX) || (id.starts_with("arn:") && id.split(':').nth(2) == Some("ssm"))
}

/// The parameter `id` names, checked by the service's rules (the id carries no selector: that
/// is the version's).
///
/// # Errors
/// What is wrong, in a sentence; `None` when `id` is not a parameter's at all.
pub(crate) fn parse(id: &str) -> Option<Result<Parameter<'_>, String>> {
    if !is_parameter(id) {
        return None;
    }
    let text = id.strip_prefix(PREFIX).unwrap_or(id);
    Some(
        ssm_name::parse(text).and_then(|parameter| match parameter.selector {
            None => Ok(parameter),
            Some(_) => Err(format!(
                "`{id}` carries a version selector: ask for the version with `Version::id` (a \
             number) or `Version::stage` (a label)"
            )),
        }),
    )
}

/// Why parameter `id` cannot be read at `version`, in a sentence (`None`: it can, or `id` is
/// no parameter): the id breaks Parameter Store's rules, or the version is neither a version
/// number nor a label.
pub(crate) fn refusal(id: &str, version: &Version) -> Option<String> {
    if let Err(why) = parse(id)? {
        return Some(format!(
            "`{id}` is not a parameter Parameter Store accepts: {why}"
        ));
    }
    let (selector, is_number) = match version {
        Version::Stage(_) if version.is_current() => return None,
        Version::Stage(label) => (&**label, false),
        Version::Id(number) => (&**number, true),
    };
    if is_number && !selector.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!(
            "parameter `{id}`: version id `{selector}` is not a parameter version (a number \
             from 1); a label is asked with `Version::stage`"
        ));
    }
    match ssm_name::check_selector(selector) {
        Ok(Selector::Version(_)) if is_number => None,
        Ok(Selector::Label(_)) if !is_number => None,
        Ok(_) => Some(format!(
            "parameter `{id}`: label `{selector}` is a number; a version is asked with \
             `Version::id`"
        )),
        Err(why) => Some(format!("parameter `{id}`: {why}")),
    }
}

#[cfg(feature = "ssm")]
/// What `GetParameter` is asked for: the name (or ARN) of `id`, with `:N` or `:label` for
/// `version` (nothing for the latest).
pub(crate) fn request_name(id: &str, version: &Version) -> String {
    let name = id.strip_prefix(PREFIX).unwrap_or(id);
    match version {
        Version::Stage(_) if version.is_current() => name.to_owned(),
        Version::Stage(label) => format!("{name}:{label}"),
        Version::Id(number) => format!("{name}:{number}"),
    }
}

/// The id `ssm:NAME` of the parameter the parameter ARN `id` names (`None` for any other id):
/// a read by ARN may share the first load of that name.
pub(crate) fn name_id_of_arn(id: &str) -> Option<String> {
    let parsed = parse(id)?.ok()?;
    parsed.arn?;
    Some(format!("{PREFIX}{}", name(&parsed)))
}

/// The parameter's name as Parameter Store spells it: `/prod/db-host`, or `db-host`.
pub(crate) fn name(parameter: &Parameter<'_>) -> String {
    if parameter.hierarchical {
        format!("/{}", parameter.path)
    } else {
        parameter.path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_told_from_secrets_by_prefix_or_service() {
        assert!(is_parameter("ssm:/prod/db-host"));
        assert!(is_parameter(
            "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db-host"
        ));
        assert!(!is_parameter("prod/db"));
        assert!(!is_parameter("/prod/db"));
        assert!(!is_parameter(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
        ));
    }

    #[test]
    #[cfg(feature = "ssm")]
    fn versions_become_selectors() {
        let id = "ssm:/prod/db-host";
        assert_eq!(request_name(id, &Version::current()), "/prod/db-host");
        assert_eq!(request_name(id, &Version::id("3")), "/prod/db-host:3");
        assert_eq!(
            request_name(id, &Version::stage("prod")),
            "/prod/db-host:prod"
        );
        let arn = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db-host";
        assert_eq!(request_name(arn, &Version::id("2")), format!("{arn}:2"));
    }

    #[test]
    fn ids_parse_to_names_and_refuse_selectors() {
        let path = |id| {
            parse(id)
                .and_then(Result::ok)
                .map(|p| (p.path, p.hierarchical))
        };
        assert_eq!(path("ssm:/prod/db-host"), Some(("prod/db-host", true)));
        let arn = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db-host";
        assert_eq!(path(arn), Some(("prod/db-host", true)));
        let flat = "arn:aws:ssm:us-east-1:123456789012:parameter/db-host";
        assert_eq!(path(flat), Some(("db-host", false)));
        assert!(parse("ssm:/prod/db-host:3").is_some_and(|r| r.is_err()));
        assert!(parse("ssm:/aws/private").is_some_and(|r| r.is_err()));
        assert!(parse("prod/db").is_none());
    }

    /// The shared grammar (`ssm_name.rs`, also compiled into the derive): each rule refuses
    /// its mistake and says which rule it is.
    #[test]
    fn the_grammar_refuses_each_mistake_by_name() {
        let long = format!("/{}", "a".repeat(967));
        let deep = "/a".repeat(16);
        let long_label = format!("/a:{}", "l".repeat(101));
        let cases: &[(&str, &str)] = &[
            ("/prod/db host", "contains ` `"),
            ("/prod/db*", "wildcard"),
            ("prod/db", "starts with `/`"),
            ("/prod//db", "empty level"),
            ("/prod/db/", "empty level"),
            (&deep, "16 levels"),
            ("/AWS/x", "cannot start with `aws`"),
            ("ssmconfig", "cannot start with `ssm`"),
            (
                "/aws/reference/secretsmanager/",
                "followed by a secret's name",
            ),
            (
                "/aws/reference/secretsmanager/prod/db:1",
                "reads the secret's current value",
            ),
            (&long, "at most 1011"),
            ("/a:", "nothing after `:`"),
            ("/a:0", "numbered from 1"),
            ("/a:01", "numbered from 1"),
            ("/a:1x", "starts with a digit"),
            ("/a:pr od", "contains ` `"),
            ("/a:AWSprod", "reserved"),
            (&long_label, "at most 100"),
            (
                "arn:aws:ssm:us-east-1:123456789012:parameter//prod/db",
                "drops the leading `/`",
            ),
            (
                "arn:aws:ssm:us-east-1:123456789012:param/db",
                "not `parameter/<name>`",
            ),
            ("arn:aws:ssm:us-east-1:12345:parameter/db", "not 12 digits"),
            ("arn:aws:ssm:us-east-1::parameter/prod/db", "not 12 digits"),
            ("/aws/servicex/ami", "cannot start with `aws`"),
            ("/aws/service", "cannot start with `aws`"),
            (
                "arn:aws:ssm:US-EAST-1:123456789012:parameter/db",
                "not a region",
            ),
            (
                "arn:aws:sns:us-east-1:123456789012:parameter/db",
                "not `ssm`",
            ),
            (
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
                "Secrets Manager ARN",
            ),
            (
                "arn:azure:ssm:us-east-1:123456789012:parameter/db",
                "partition",
            ),
            ("arn:aws:ssm:us-east-1", "incomplete ARN"),
            ("/a:\u{0}", "placeholder"),
        ];
        for (text, expected) in cases {
            let err = ssm_name::parse(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn the_grammar_takes_what_the_service_takes() {
        let max_depth = "/a".repeat(15);
        let longest = format!("/{}", "a".repeat(966));
        for ok in [
            "/prod/orders/db-host",
            "db_host.v2-a",
            max_depth.as_str(),
            longest.as_str(),
            "/aws/reference/secretsmanager/prod/db+1@x",
            "/prod/db:3",
            "/prod/db:prod-blue_2.a",
            "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/prod/db:prod",
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
            "arn:aws:ssm:us-east-1::parameter/aws/service/global-infrastructure/regions",
            "arn:aws-iso-b:ssm:us-isob-east-1:123456789012:parameter/db",
            "arn:aws-eusc:ssm:eusc-de-east-1:123456789012:parameter/db",
            "/\u{0}/orders/db-host",
            "arn:aws:ssm:\u{0}:\u{0}:parameter/db",
        ] {
            assert!(
                ssm_name::parse(ok).is_ok(),
                "{ok}: {:?}",
                ssm_name::parse(ok)
            );
        }
        let parsed = ssm_name::parse("arn:aws:ssm:eu-west-1:123456789012:parameter/a/b:7");
        assert_eq!(
            parsed.map(|p| (p.path, p.hierarchical, p.selector)),
            Ok(("a/b", true, Some(Selector::Version("7"))))
        );
    }
}
