//! `${VAR}` placeholders in secret ids, resolved at load time.

use std::collections::HashMap;

use crate::Error;

/// Values for the `${VAR}` placeholders in secret ids.
///
/// Ids such as `"${APP_ENV}/stripe"` let one binary read different secrets per deployment.
/// [`Vars::from_env`] (what [`AwsSecrets::load`](crate::AwsSecrets::load) uses) reads the
/// process environment; [`Vars::new`] + [`Vars::set`] gives an explicit map, which wins over
/// the environment when both are used.
///
/// # Examples
/// ```
/// use asm_runtime::Vars;
/// let vars = Vars::new().set("APP_ENV", "staging");
/// assert_eq!(vars.resolve("${APP_ENV}/db", "db").unwrap(), "staging/db");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Vars {
    explicit: HashMap<String, String>,
    env_fallback: bool,
}

impl Vars {
    /// An explicit, empty map: placeholders resolve only from what is [`set`](Self::set).
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolve placeholders from the process environment (after any explicit values).
    pub fn from_env() -> Self {
        Self {
            explicit: HashMap::new(),
            env_fallback: true,
        }
    }

    /// Sets one variable; explicit values win over the environment.
    #[must_use]
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.explicit.insert(name.into(), value.into());
        self
    }

    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(value) = self.explicit.get(name) {
            return Some(value.clone());
        }
        if self.env_fallback {
            return std::env::var(name).ok().filter(|v| !v.is_empty());
        }
        None
    }

    /// The value of each placeholder in `templates`, in order (what ids built from them depend
    /// on). Reads only the variables named, never the whole environment.
    pub(crate) fn placeholder_values(&self, templates: &[&str]) -> Vec<Option<String>> {
        templates
            .iter()
            .flat_map(|t| placeholders(t))
            .map(|name| self.lookup(name))
            .collect()
    }

    /// Substitutes every `${VAR}` in `template`; `field` names the field for the error.
    ///
    /// # Errors
    /// [`Error::UnresolvedPlaceholder`] when a variable has no value (or an empty one);
    /// [`Error::Config`] when a `${` is never closed.
    pub fn resolve(&self, template: &str, field: &str) -> Result<String, Error> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                // Not a variable without a value: the text after `${` is no variable's name.
                return Err(Error::Config {
                    message: format!(
                        "the template `{template}` of field `{field}` opens a placeholder with \
                         `${{` and never closes it with `}}`"
                    ),
                });
            };
            let name = &after[..end];
            let value = self
                .lookup(name)
                .ok_or_else(|| Error::UnresolvedPlaceholder {
                    variable: name.to_owned(),
                    field: field.to_owned(),
                })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The names of the `${VAR}` placeholders in `template`, up to an unclosed `${`.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    let mut rest = template;
    std::iter::from_fn(move || {
        // A `char` search (memchr) first: most ids hold no placeholder, and a warm load asks
        // this of every id its struct names.
        let dollar = rest.find('$')?;
        let start = dollar + rest[dollar..].find("${")?;
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        rest = &after[end + 1..];
        Some(&after[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_explicit_before_environment() {
        let vars = Vars::from_env().set("PATH", "mine");
        assert_eq!(
            vars.resolve("a/${PATH}/b", "f").ok().as_deref(),
            Some("a/mine/b")
        );
    }

    #[test]
    fn names_the_missing_variable_and_field() {
        let err = Vars::new().resolve("${APP_ENV}/db", "db_password");
        match err {
            Err(Error::UnresolvedPlaceholder { variable, field }) => {
                assert_eq!(
                    (variable.as_str(), field.as_str()),
                    ("APP_ENV", "db_password")
                );
            }
            other => panic!("expected UnresolvedPlaceholder, got {other:?}"),
        }
    }

    /// Found by the `placeholders` fuzz target: `${}${` with `""` set was reported as
    /// "placeholder `${}` has no value" (the unclosed rest named as a variable).
    #[test]
    fn an_unclosed_placeholder_is_a_config_error_not_a_missing_variable() {
        let vars = Vars::new().set("", "x").set("APP_ENV", "prod");
        for template in ["${}${", "prod/${APP_ENV", "${APP_ENV}/${"] {
            match vars.resolve(template, "db") {
                Err(Error::Config { message }) => {
                    assert!(message.contains("never closes it"), "{message}");
                    assert!(message.contains(template), "{message}");
                }
                other => panic!("{template}: expected Config, got {other:?}"),
            }
        }
    }

    #[test]
    fn placeholder_values_read_only_the_variables_named() {
        let vars = Vars::new().set("ENV", "prod").set("UNUSED", "x");
        assert_eq!(
            vars.placeholder_values(&["${ENV}/db-${REGION}", "static", "${ENV}/${x"]),
            [Some("prod".to_owned()), None, Some("prod".to_owned())]
        );
        assert!(vars.placeholder_values(&["prod/db"]).is_empty());
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        assert_eq!(
            Vars::new().resolve("prod/db", "f").ok().as_deref(),
            Some("prod/db")
        );
    }
}
