//! The derive's model of its input: borrowed from the `syn` tree (so every error can point at
//! the original tokens) plus the parsed `#[aws_secrets(…)]` keys.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type};

use crate::attr::{self, Attrs, Dur, IdKind, Level, SecretId, Version};
use crate::errors::Errors;
use crate::id::Selector;

/// The struct the derive is applied to.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    pub(crate) original: &'a DeriveInput,
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: Attrs,
    /// The named fields; `None` for a shape that has none (reported already).
    pub(crate) fields: Option<Vec<Field<'a>>>,
}

/// One named field; its tokens keep their spans, for errors.
#[derive(Debug)]
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: Attrs,
    /// `#[serde(rename = "…")]`, which users may expect to rename the JSON key read.
    pub(crate) serde_rename: Option<LitStr>,
}

impl<'a> Input<'a> {
    /// Builds the model, reporting a shape the derive cannot take (not a struct with named
    /// fields, generics) and every attribute problem.
    pub(crate) fn from_syn(node: &'a DeriveInput, errors: &mut Errors) -> Self {
        let attrs = attr::parse(&node.attrs, Level::Struct, errors);
        let named = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(fields) => {
                    errors.error(
                        fields.span(),
                        "tuple structs are not supported: name the fields (a field's name is its default JSON key)",
                    );
                    None
                }
                Fields::Unit => {
                    errors.error(
                        node.ident.span(),
                        "a unit struct reads nothing: `#[derive(AwsSecrets)]` needs a struct with named fields",
                    );
                    None
                }
            },
            Data::Enum(data) => {
                errors.error(
                    data.enum_token.span,
                    "`#[derive(AwsSecrets)]` only supports structs with named fields, not enums",
                );
                None
            }
            Data::Union(data) => {
                errors.error(
                    data.union_token.span,
                    "`#[derive(AwsSecrets)]` only supports structs with named fields, not unions",
                );
                None
            }
        };
        if let Some(lifetime) = node.generics.lifetimes().next() {
            errors.push(syn::Error::new_spanned(
                lifetime,
                "lifetime parameters are not supported by `#[derive(AwsSecrets)]`: a loaded struct owns its values and lives on its own (`'static`, shared by `Live`); use owned types (`String`, not `&'a str`)",
            ));
        } else if !node.generics.params.is_empty() || node.generics.where_clause.is_some() {
            errors.push(syn::Error::new_spanned(
                &node.generics,
                "generic structs are not supported by `#[derive(AwsSecrets)]`: give every field a concrete type (a secrets struct is loaded as one `'static` value)",
            ));
        }
        let fields = named.map(|named| {
            named
                .named
                .iter()
                .filter_map(|field| {
                    let attrs = attr::parse(&field.attrs, Level::Field, errors);
                    Some(Field {
                        ident: field.ident.as_ref()?,
                        ty: &field.ty,
                        attrs,
                        serde_rename: serde_rename(&field.attrs),
                    })
                })
                .collect()
        });
        Self {
            original: node,
            ident: &node.ident,
            attrs,
            fields,
        }
    }

    /// The path of the runtime crate: `crate = "…"`, or `::asm_runtime`.
    pub(crate) fn krate(&self) -> TokenStream {
        match &self.attrs.krate {
            Some(path) => path.to_token_stream(),
            None => quote!(::asm_runtime),
        }
    }
}

/// A version: the cache's default, or the stage or id written. An explicit
/// `version_stage = "AWSCURRENT"` is that stage, whatever the cache's default version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VersionKey {
    Current,
    Stage(String),
    Id(String),
}

/// Where a field's value comes from, with the struct's defaults applied.
#[derive(Debug)]
pub(crate) enum Origin<'a> {
    /// `nested`: another `AwsSecrets` struct.
    Nested,
    /// A secret (the field's own, or the struct's).
    Secret(Read<'a>),
    /// Nothing: an error.
    Missing,
}

/// How a field reads its secret.
#[derive(Debug)]
pub(crate) struct Read<'a> {
    pub(crate) id: &'a SecretId,
    /// The field reads the struct-level secret.
    pub(crate) from_struct: bool,
    pub(crate) version: VersionKey,
    /// The JSON key, or `None` for the whole secret.
    pub(crate) key: Option<String>,
    /// `key = "…"` as written, if it was.
    pub(crate) key_lit: Option<&'a LitStr>,
    pub(crate) ttl: Option<&'a Dur>,
    pub(crate) rotation: Option<&'a Dur>,
    /// The role the secret is read as: the field's `role`, else the struct's.
    pub(crate) role: Option<&'a LitStr>,
}

impl Field<'_> {
    /// The key a field reads from its struct's secret when it names none: its own name.
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }

    /// Where the field's value comes from, struct-level defaults applied.
    pub(crate) fn origin<'s>(&'s self, parent: &'s Attrs) -> Origin<'s> {
        let own = &self.attrs;
        if own.nested.is_some() {
            return Origin::Nested;
        }
        let (id, from_struct) = match (&own.secret, &parent.secret) {
            (Some(id), _) => (id, false),
            (None, Some(id)) => (id, true),
            (None, None) => return Origin::Missing,
        };
        // A struct-level version belongs to the struct-level secret.
        let version = match (&own.version, from_struct) {
            (Some(v), _) => Some(v),
            (None, true) => parent.version.as_ref(),
            (None, false) => None,
        };
        let key = match &own.key {
            Some(lit) => Some(lit.value()),
            None if own.binary.is_some() || !from_struct => None,
            None => Some(self.name()),
        };
        // A parameter's version is in its selector (a field's `version_stage` is refused).
        let version = match (id.kind, &id.selector) {
            (IdKind::Parameter, Some(Selector::Version(n))) => VersionKey::Id(n.clone()),
            (IdKind::Parameter, Some(Selector::Label(label))) => VersionKey::Stage(label.clone()),
            (IdKind::Parameter, None) => VersionKey::Current,
            _ => version_key(version),
        };
        Origin::Secret(Read {
            id,
            from_struct,
            version,
            key,
            key_lit: own.key.as_ref(),
            ttl: own.ttl.as_ref().or(parent.ttl.as_ref()),
            rotation: own.rotation.as_ref().or(parent.rotation.as_ref()),
            role: own.role.as_ref().or(parent.role.as_ref()),
        })
    }
}

/// The value of `#[serde(rename = "…")]` among `attrs`, if written (serde reports its own
/// syntax errors, so anything else is ignored here).
fn serde_rename(attrs: &[syn::Attribute]) -> Option<LitStr> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") && meta.input.peek(syn::Token![=]) {
                rename = Some(meta.value()?.parse::<LitStr>()?);
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.input.parse::<proc_macro2::Group>()?;
            }
            Ok(())
        });
    }
    rename
}

fn version_key(version: Option<&Version>) -> VersionKey {
    match version {
        None => VersionKey::Current,
        Some(Version::Stage(lit)) => VersionKey::Stage(lit.value()),
        Some(Version::Id(lit)) => VersionKey::Id(lit.value()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn model(input: &DeriveInput) -> (Option<Vec<Field<'_>>>, Vec<String>) {
        let mut errors = Errors::default();
        let model = Input::from_syn(input, &mut errors);
        (model.fields, errors.messages())
    }

    #[test]
    fn refuses_shapes_it_cannot_load() {
        for input in [
            parse_quote!(
                enum E {
                    A,
                }
            ),
            parse_quote!(
                struct T(String);
            ),
            parse_quote!(
                struct U;
            ),
            parse_quote!(union X { a: u8 }),
        ] {
            let (model, errors) = model(&input);
            assert!(model.is_none());
            assert_eq!(errors.len(), 1, "{errors:?}");
        }
        let input = parse_quote!(
            struct G<T> {
                a: T,
            }
        );
        let (model, errors) = model(&input);
        assert!(model.is_some());
        assert!(errors[0].contains("generic structs are not supported"));
    }

    #[test]
    fn applies_struct_defaults() {
        let input: DeriveInput = parse_quote! {
            #[aws_secrets(name = "prod/db", version_stage = "AWSPREVIOUS", ttl = "1m")]
            struct S {
                r#type: SecretString,
                #[aws_secrets(key = "pw", version_stage = "AWSCURRENT")]
                password: SecretString,
                #[aws_secrets(name = "other", binary)]
                blob: SecretSlice<u8>,
                #[aws_secrets(nested)]
                inner: Inner,
            }
        };
        let (_, errors) = model(&input);
        assert!(errors.is_empty(), "{errors:?}");
        let mut errors = Errors::default();
        let model = Input::from_syn(&input, &mut errors);
        let fields = model.fields.as_deref().unwrap_or_default();
        let sources: Vec<_> = fields.iter().map(|f| f.origin(&model.attrs)).collect();
        let Origin::Secret(read) = &sources[0] else {
            panic!("{:?}", sources[0])
        };
        assert_eq!(read.key.as_deref(), Some("type"));
        assert_eq!(read.version, VersionKey::Stage("AWSPREVIOUS".to_owned()));
        assert_eq!(read.ttl.map(|d| d.secs), Some(60));
        let Origin::Secret(read) = &sources[1] else {
            panic!("{:?}", sources[1])
        };
        assert_eq!(
            (read.key.as_deref(), &read.version),
            (Some("pw"), &VersionKey::Stage("AWSCURRENT".to_owned()))
        );
        let Origin::Secret(read) = &sources[2] else {
            panic!("{:?}", sources[2])
        };
        assert_eq!((read.key.as_deref(), read.from_struct), (None, false));
        assert_eq!(
            read.version,
            VersionKey::Current,
            "struct version is for the struct secret"
        );
        assert!(matches!(sources[3], Origin::Nested));
    }

    #[test]
    fn a_fields_role_wins_over_the_structs() {
        let input: DeriveInput = parse_quote! {
            #[aws_secrets(name = "prod/db", role = "arn:aws:iam::111111111111:role/a")]
            struct S {
                password: SecretString,
                #[aws_secrets(name = "other", role = "arn:aws:iam::222222222222:role/b")]
                other: SecretString,
                #[aws_secrets(name = "third")]
                third: SecretString,
            }
        };
        let mut errors = Errors::default();
        let model = Input::from_syn(&input, &mut errors);
        assert!(errors.messages().is_empty(), "{:?}", errors.messages());
        let fields = model.fields.as_deref().unwrap_or_default();
        let roles: Vec<Option<String>> = fields
            .iter()
            .map(|f| match f.origin(&model.attrs) {
                Origin::Secret(read) => read.role.map(LitStr::value),
                _ => None,
            })
            .collect();
        assert_eq!(
            roles,
            [
                Some("arn:aws:iam::111111111111:role/a".to_owned()),
                Some("arn:aws:iam::222222222222:role/b".to_owned()),
                Some("arn:aws:iam::111111111111:role/a".to_owned()),
            ]
        );
    }
}
