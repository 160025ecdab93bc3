//! Code generation: the `AwsSecrets` impl, or the errors and a stub impl.
//!
//! Generated code names only absolute paths (`#krate::__private::…`, `::core::…`) and sits in
//! `const _: () = { … };`, so it compiles under `#![no_implicit_prelude]` and whatever the
//! user's crate has in scope.

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::quote;
use syn::DeriveInput;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::ast::{Input, Origin, Read, VersionKey};
use crate::errors::Errors;
use crate::{fallback, valid};

/// `#[derive(AwsSecrets)]` on `node`: the impl, or every error found and a stub impl.
pub(crate) fn derive(node: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let input = Input::from_syn(node, &mut errors);
    valid::check(&input, &mut errors);
    let krate = input.krate();
    match (errors.finish(), &input.fields) {
        (Ok(()), Some(_)) => impl_aws_secrets(&input, &krate),
        (Err(err), _) => {
            let errors = err.to_compile_error();
            let stub = fallback::stub(input.original, &krate);
            quote!(#errors #stub)
        }
        // `from_syn` reports every shape without fields; this keeps the stub if it ever did not.
        (Ok(()), None) => fallback::stub(input.original, &krate),
    }
}

/// One `SecretRef` a struct declares, as the runtime receives it.
#[derive(PartialEq, Eq)]
struct Declared {
    id: String,
    version: VersionKey,
    ttl: Option<u64>,
    rotation: Option<u64>,
    role: Option<String>,
}

fn impl_aws_secrets(input: &Input<'_>, krate: &TokenStream) -> TokenStream {
    let ident = input.ident;
    let private = quote!(#krate::__private);
    let fields = input.fields.as_deref().unwrap_or_default();

    let mut ids: Vec<&str> = Vec::new();
    let mut nested_ids = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    let mut nested_roles = Vec::new();
    let mut declared: Vec<Declared> = Vec::new();
    let mut declare = Vec::new();
    let mut assemble = Vec::new();

    for field in fields {
        let member = field.ident;
        let ty = field.ty;
        let span = ty.span();
        match field.origin(&input.attrs) {
            Origin::Nested => {
                let as_trait = respan(quote!(as #krate::AwsSecrets), span);
                let qself = quote!(<#ty #as_trait>);
                nested_ids.push(quote!(#qself::SECRET_IDS));
                nested_roles.push(quote!(#qself::ROLES));
                declare.push(quote!(#qself::__declare(__plan)?;));
                assemble.push(quote!(#member: #qself::__assemble(__fetched)?));
            }
            Origin::Secret(read) => {
                let name = format!("{}.{}", ident.unraw(), field.name());
                let secret = secret_ref(&private, &read, &name);
                let this = Declared {
                    id: read.id.value.clone(),
                    version: read.version.clone(),
                    ttl: read.ttl.map(|d| d.secs),
                    rotation: read.rotation.map(|d| d.secs),
                    role: read.role.map(syn::LitStr::value),
                };
                if !ids.contains(&read.id.value.as_str()) {
                    ids.push(&read.id.value);
                }
                if let Some(role) = &this.role
                    && !roles.contains(role)
                {
                    roles.push(role.clone());
                }
                if !declared.contains(&this) {
                    declared.push(this);
                    declare.push(quote!(__plan.secret(&#secret)?;));
                }
                let key = option(read.key.as_deref().map(|k| quote!(#k)));
                let reader = if field.attrs.public.is_some() {
                    quote!(public_field)
                } else {
                    quote!(secret_field)
                };
                let function = respan(quote!(#private::#reader), span);
                let call = quote!(#function::<#ty>);
                assemble.push(quote! {
                    #member: #call(__fetched, &#private::FieldRef { secret: #secret, key: #key })?
                });
            }
            // Reported by `valid`; no impl is generated then.
            Origin::Missing => {}
        }
    }

    let secret_ids = concatenated(&private, &ids, &nested_ids);
    // `ROLES` is written only when the struct or a nested one names a role: most structs keep
    // the trait's empty default.
    let roles_const = (!roles.is_empty() || !nested_roles.is_empty()).then(|| {
        let roles = concatenated(&private, &roles, &nested_roles);
        quote!(const ROLES: &'static [&'static str] = #roles;)
    });

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::AwsSecrets for #ident {
                const SECRET_IDS: &'static [&'static str] = #secret_ids;
                #roles_const

                fn __declare(
                    __plan: &mut #private::Plan,
                ) -> ::core::result::Result<(), #krate::Error> {
                    #(#declare)*
                    ::core::result::Result::Ok(())
                }

                fn __assemble(
                    __fetched: &#private::Fetched<'_>,
                ) -> ::core::result::Result<Self, #krate::Error> {
                    ::core::result::Result::Ok(Self {
                        #(#assemble,)*
                    })
                }
            }
        };
    }
}

/// A `&'static [&'static str]` of `own` strings followed by the `nested` lists.
fn concatenated(
    private: &TokenStream,
    own: &[impl quote::ToTokens],
    nested: &[TokenStream],
) -> TokenStream {
    if nested.is_empty() {
        return quote!(&[#(#own),*]);
    }
    quote!({
        const __PARTS: &[&[&str]] = &[&[#(#own),*], #(#nested),*];
        const __N: usize = #private::ids_len(__PARTS);
        const __IDS: [&str; __N] = #private::concat_ids::<__N>(__PARTS);
        &__IDS
    })
}

/// `SecretRef { … }` for one field's read.
fn secret_ref(private: &TokenStream, read: &Read<'_>, field: &str) -> TokenStream {
    let id = &read.id.value;
    let version = match &read.version {
        VersionKey::Current => quote!(#private::VersionRef::Current),
        VersionKey::Stage(stage) => quote!(#private::VersionRef::Stage(#stage)),
        VersionKey::Id(version) => quote!(#private::VersionRef::Id(#version)),
    };
    let duration = |secs: Option<u64>| {
        option(secs.map(|secs| {
            let secs = Literal::u64_unsuffixed(secs);
            quote!(#private::Duration::from_secs(#secs))
        }))
    };
    let ttl = duration(read.ttl.map(|d| d.secs));
    let rotation = duration(read.rotation.map(|d| d.secs));
    let role = option(read.role.map(|role| {
        let role = role.value();
        quote!(#role)
    }));
    quote! {
        #private::SecretRef {
            id: #id,
            version: #version,
            ttl: #ttl,
            rotation: #rotation,
            field: #field,
            role: #role,
        }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// Gives every token `span` (the field type's), so that an error about them, a missing trait
/// impl, points at the field's type rather than at the derive. The type itself is left with
/// its own spans, so that the error covers all of it (`Option<ApiKey>`, not `Option`).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expand(input: DeriveInput) -> String {
        derive(&input).to_string()
    }

    /// The expansion with whitespace removed, for `contains` checks that ignore formatting.
    fn compact(input: DeriveInput) -> String {
        expand(input)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    fn squash(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    fn db() -> DeriveInput {
        parse_quote! {
            #[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", ttl = "10m")]
            struct Db {
                username: SecretString,
                password: SecretString,
                #[aws_secrets(public)]
                port: u16,
                #[aws_secrets(key = "dbname", public)]
                database: String,
                #[aws_secrets(key = "password", version_stage = "AWSPREVIOUS")]
                previous: Option<SecretString>,
            }
        }
    }

    #[test]
    fn wraps_the_impl_in_an_anonymous_const() {
        let out = compact(db());
        assert!(
            out.starts_with(
                "const_:()={#[automatically_derived]impl::asm_runtime::AwsSecretsforDb{"
            ),
            "{out}"
        );
    }

    #[test]
    fn lists_each_secret_id_once() {
        let out = compact(db());
        assert!(
            out.contains(&squash(&format!(
                "const SECRET_IDS: &'static [&'static str] = &[\"{ARN}\"];"
            ))),
            "{out}"
        );
    }

    #[test]
    fn declares_each_distinct_secret_read_once() {
        let out = expand(db());
        // Current version with the struct TTL, and the previous version.
        assert_eq!(out.matches("__plan . secret").count(), 2, "{out}");
        let out = squash(&out);
        assert!(out.contains("ttl:::core::option::Option::Some(::asm_runtime::__private::Duration::from_secs(600))"), "{out}");
        assert!(
            out.contains("version:::asm_runtime::__private::VersionRef::Stage(\"AWSPREVIOUS\")"),
            "{out}"
        );
        assert!(out.contains("field:\"Db.username\""), "{out}");
        assert_eq!(
            out.matches("field:\"Db.password\"").count(),
            1,
            "declared once, by `username`: {out}"
        );
    }

    #[test]
    fn builds_each_field_with_its_reader_and_key() {
        let out = compact(db());
        for expected in [
            "username:::asm_runtime::__private::secret_field::<SecretString>(__fetched,&::asm_runtime::__private::FieldRef{",
            "key:::core::option::Option::Some(\"username\")})?",
            "port:::asm_runtime::__private::public_field::<u16>(__fetched,",
            "key:::core::option::Option::Some(\"dbname\")})?",
            "previous:::asm_runtime::__private::secret_field::<Option<SecretString>>(",
            "field:\"Db.previous\",role:::core::option::Option::None,},key:::core::option::Option::Some(\"password\")})?",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in {out}");
        }
    }

    #[test]
    fn reads_whole_secrets_and_nested_structs() {
        let out = compact(parse_quote! {
            struct App {
                #[aws_secrets(nested)]
                db: Db,
                #[aws_secrets(name = "${APP_ENV}/tls", binary, ttl = "1h", rotation = "30d")]
                tls: SecretSlice<u8>,
                #[aws_secrets(name = "${APP_ENV}/token")]
                token: SecretString,
            }
        });
        for expected in [
            "const__PARTS:&[&[&str]]=&[&[\"${APP_ENV}/tls\",\"${APP_ENV}/token\"],<Dbas::asm_runtime::AwsSecrets>::SECRET_IDS];",
            "const__IDS:[&str;__N]=::asm_runtime::__private::concat_ids::<__N>(__PARTS);&__IDS",
            "<Dbas::asm_runtime::AwsSecrets>::__declare(__plan)?;",
            "db:<Dbas::asm_runtime::AwsSecrets>::__assemble(__fetched)?",
            "rotation:::core::option::Option::Some(::asm_runtime::__private::Duration::from_secs(2592000))",
            "field:\"App.tls\",role:::core::option::Option::None,},key:::core::option::Option::None})?",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in {out}");
        }
    }

    #[test]
    fn declares_roles_and_lists_them_once() {
        let out = compact(parse_quote! {
            #[aws_secrets(name = "prod/db", role = "arn:aws:iam::111111111111:role/a")]
            struct Db {
                password: SecretString,
                username: SecretString,
                #[aws_secrets(name = "prod/db", key = "password", role = "arn:aws:iam::222222222222:role/${ROLE}")]
                theirs: SecretString,
                #[aws_secrets(nested)]
                inner: Inner,
            }
        });
        for expected in [
            "constROLES:&'static[&'staticstr]={const__PARTS:&[&[&str]]=&[&[\"arn:aws:iam::111111111111:role/a\",\"arn:aws:iam::222222222222:role/${ROLE}\"],<Inneras::asm_runtime::AwsSecrets>::ROLES];",
            "role:::core::option::Option::Some(\"arn:aws:iam::111111111111:role/a\"),",
            "field:\"Db.theirs\",role:::core::option::Option::Some(\"arn:aws:iam::222222222222:role/${ROLE}\"),",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in {out}");
        }
        assert_eq!(out.matches("__plan.secret").count(), 2, "{out}");
        let plain = compact(db());
        assert!(!plain.contains("ROLES"), "no role, no `ROLES`: {plain}");
        assert!(
            plain.contains("role:::core::option::Option::None"),
            "{plain}"
        );
    }

    #[test]
    fn uses_the_crate_override_everywhere() {
        let out = expand(parse_quote! {
            #[aws_secrets(name = "prod/db", crate = "::my_reexport::asm")]
            struct Db { password: SecretString }
        });
        assert!(!out.contains("asm_runtime"), "{out}");
        assert!(
            squash(&out).contains("impl::my_reexport::asm::AwsSecretsforDb"),
            "{out}"
        );
    }

    #[test]
    fn uses_the_field_name_without_raw_prefix() {
        let out = compact(parse_quote! {
            #[aws_secrets(name = "prod/db")]
            struct Db { r#type: SecretString }
        });
        assert!(
            out.contains("r#type:")
                && out.contains("Some(\"type\")")
                && out.contains("\"Db.type\""),
            "{out}"
        );
    }

    #[test]
    fn names_no_prelude_item() {
        let out = expand(db());
        let tokens: Vec<&str> = out.split_whitespace().collect();
        for (at, token) in tokens.iter().enumerate().skip(1) {
            if ["Ok", "Err", "Some", "None", "Result", "Option", "Into"].contains(token) {
                // `< Option <` is the user's own field type, as written.
                assert!(
                    ["::", "<"].contains(&tokens[at - 1]),
                    "relative path `{token}` at token {at} of {out}"
                );
            }
        }
    }

    #[test]
    fn reports_errors_with_a_stub_impl() {
        let out = expand(parse_quote! {
            #[aws_secrets(name = "prod/*")]
            struct Db { password: String, #[aws_secrets(pubic)] host: String }
        });
        assert_eq!(
            out.matches("compile_error").count(),
            3,
            "one error per mistake: {out}"
        );
        assert!(out.contains("least privilege"), "{out}");
        assert!(out.contains("did you mean `public`?"), "{out}");
        assert!(
            squash(&out).contains("impl::asm_runtime::AwsSecretsforDb"),
            "{out}"
        );
        assert!(out.contains("unreachable"), "{out}");
        assert!(!out.contains("secret_field"), "{out}");
    }

    #[test]
    fn reports_enums_with_a_stub_impl() {
        let out = expand(parse_quote!(
            enum E {
                A,
            }
        ));
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(
            squash(&out).contains("impl::asm_runtime::AwsSecretsforE"),
            "{out}"
        );
    }

    #[test]
    fn reports_generics_with_a_well_formed_stub() {
        let out = squash(&expand(parse_quote! {
            struct G<'a, T: Clone> where T: Copy { a: &'a T }
        }));
        assert!(out.contains("impl<'a,T:Clone>::asm_runtime::AwsSecretsforG<'a,T>whereT:Copy,G<'a,T>:::core::marker::Send+::core::marker::Sync+'static"), "{out}");
    }

    #[test]
    fn accepts_an_empty_struct() {
        let out = compact(parse_quote!(
            struct Nothing {}
        ));
        assert!(
            out.contains("constSECRET_IDS:&'static[&'staticstr]=&[];"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }
}
