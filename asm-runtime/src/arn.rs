//! [`Arn`]: the one place the runtime knows the grammar of a Secrets Manager secret ARN,
//! `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX]`.

use std::fmt;

/// The length of `-XXXXXX`, the suffix Secrets Manager appends to a name in a secret's ARN.
const SUFFIX_LEN: usize = 7;

/// A secret ARN, complete (`…:secret:prod/db-AbCdEf`) or partial (`…:secret:prod/db`),
/// borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    /// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:`.
    prefix: &'a str,
    partition: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    /// Everything after `secret:`: the name, with the suffix if complete.
    resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Parses `text`; `None` when it is not a Secrets Manager secret ARN (a name, say).
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(7, ':');
        let mut next = || parts.next().filter(|p| !p.is_empty());
        let (arn, partition, service, region, account, kind, resource) = (
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
        );
        (arn == "arn" && service == "secretsmanager" && kind == "secret").then(|| Self {
            prefix: &text[..text.len() - resource.len()],
            partition,
            region,
            account,
            resource,
        })
    }

    /// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:`: where a bare name of this
    /// secret would resolve (names mean something only in their own account and region).
    pub(crate) fn home(&self) -> &'a str {
        self.prefix
    }

    /// Whether the ARN reads as complete: its name ends in `-` and six letters or digits.
    ///
    /// This is the rule Secrets Manager itself applies: "if your secret has a name that ends
    /// in a hyphen followed by six characters … and you try to use that as a partial ARN, then
    /// those characters cause Secrets Manager to assume that you're specifying a complete ARN"
    /// (Secrets Manager user guide, "Troubleshooting: partial ARNs"). A partial ARN of a secret
    /// named `prod/db-master` is therefore taken as complete, by the service as here.
    pub(crate) fn is_complete(&self) -> bool {
        self.resource.len() > SUFFIX_LEN && self.suffix_at().is_some()
    }

    /// Where the `-XXXXXX` suffix starts, if the resource ends in one.
    fn suffix_at(&self) -> Option<usize> {
        let cut = self.resource.len().checked_sub(SUFFIX_LEN)?;
        let tail = self.resource.get(cut..)?.as_bytes();
        (tail[0] == b'-' && tail[1..].iter().all(u8::is_ascii_alphanumeric)).then_some(cut)
    }

    /// The secret's name: the resource without its suffix when complete.
    pub(crate) fn name(&self) -> &'a str {
        match self.suffix_at().filter(|_| self.is_complete()) {
            Some(cut) => &self.resource[..cut],
            None => self.resource,
        }
    }

    /// The IAM resource pattern matching this secret and no other: the ARN itself when
    /// complete, else `…:secret:NAME-??????` (the form AWS documents for a secret whose suffix
    /// is not known).
    pub(crate) fn resource_pattern(&self) -> String {
        if self.is_complete() {
            self.to_string()
        } else {
            format!("{}{}-??????", self.prefix, self.resource)
        }
    }

    /// The same secret's ARN in `region`: a replica keeps its primary's name, suffix and
    /// account, and only the region field changes.
    pub(crate) fn in_region(&self, region: &str) -> String {
        let (partition, account, resource) = (self.partition, self.account, self.resource);
        format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{resource}")
    }

    /// Whether a request for `id` (a full ARN, or a partial one without the suffix) reaches
    /// the secret with this complete ARN.
    pub(crate) fn is_requested_as(&self, id: &str) -> bool {
        if self.to_string() == id {
            return true;
        }
        Arn::parse(id).is_some_and(|asked| {
            asked.prefix == self.prefix && self.is_complete() && asked.resource == self.name()
        })
    }
}

impl fmt::Display for Arn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.prefix, self.resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

    fn arn(resource: &str) -> String {
        format!("{PREFIX}{resource}")
    }

    #[test]
    fn parses_and_prints_back() {
        let text = arn("prod/db-AbCdEf");
        let parsed = Arn::parse(&text).expect("arn");
        assert_eq!(parsed.account, "123456789012");
        assert_eq!(parsed.name(), "prod/db");
        assert_eq!(parsed.to_string(), text);
        for not_an_arn in [
            "prod/db",
            "arn:aws:ssm:us-east-1:123456789012:parameter:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            "arn:aws:secretsmanager::123456789012:secret:x",
        ] {
            assert!(Arn::parse(not_an_arn).is_none(), "{not_an_arn}");
        }
    }

    #[test]
    fn completeness_follows_the_services_rule() {
        let complete = |r: &str| Arn::parse(&arn(r)).is_some_and(|a| a.is_complete());
        assert!(complete("prod/db-AbCdEf"));
        assert!(!complete("prod/db"));
        assert!(!complete("db-Ab"));
        assert!(!complete("-AbCdEf"), "a suffix needs a name before it");
        // Ambiguous, and taken as complete, as Secrets Manager takes it.
        assert!(complete("prod/db-master"));
    }

    #[test]
    fn patterns_match_one_secret() {
        let partial = arn("prod/db");
        assert_eq!(
            Arn::parse(&partial).map(|a| a.resource_pattern()),
            Some(format!("{partial}-??????"))
        );
        let full = arn("prod/db-AbCdEf");
        assert_eq!(
            Arn::parse(&full).map(|a| a.resource_pattern()),
            Some(full.clone())
        );
    }

    #[test]
    fn a_replicas_arn_swaps_the_region_field_only() {
        let full = arn("prod/db-AbCdEf");
        let parsed = Arn::parse(&full).expect("arn");
        assert_eq!(parsed.region, "us-east-1");
        assert_eq!(
            parsed.in_region("us-west-2"),
            "arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/db-AbCdEf"
        );
        let partial = "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/db";
        assert_eq!(
            Arn::parse(partial).map(|a| a.in_region("cn-northwest-1")),
            Some("arn:aws-cn:secretsmanager:cn-northwest-1:123456789012:secret:prod/db".into())
        );
        assert_eq!(
            parsed.in_region("us-east-1"),
            full,
            "its own region: itself"
        );
    }

    #[test]
    fn a_complete_arn_answers_its_partial_form() {
        let full = arn("prod/db-AbCdEf");
        let full = Arn::parse(&full).expect("arn");
        assert!(full.is_requested_as(&arn("prod/db-AbCdEf")));
        assert!(full.is_requested_as(&arn("prod/db")));
        assert!(!full.is_requested_as(&arn("prod/d")));
        assert!(
            !full.is_requested_as("prod/db"),
            "names are matched by name"
        );
        let other_account = "arn:aws:secretsmanager:us-east-1:210987654321:secret:prod/db";
        assert!(!full.is_requested_as(other_account));
    }
}
