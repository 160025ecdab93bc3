//! Checks that need a field's type or more than one field: every field has a source, the type
//! fits `public`/`binary`, TTLs stay below rotation intervals, no value is mapped twice, and a
//! struct-level secret is read by some field.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{GenericArgument, LitStr, PathArguments, Type};

use crate::ast::{Field, Input, Origin, Read, VersionKey};
use crate::attr::{self, Attrs, Dur};
use crate::errors::Errors;

/// Runs every check, reporting each problem to `errors`.
pub(crate) fn check(input: &Input<'_>, errors: &mut Errors) {
    let parent = &input.attrs;
    struct_level(input, errors);
    let Some(fields) = &input.fields else {
        return;
    };
    let mut reads: Vec<(&Field<'_>, Read<'_>)> = Vec::new();
    for field in fields {
        // After an attribute error, a check that depends on what a misspelt or invalid key
        // meant says nothing; every other check still runs.
        let own = &field.attrs;
        match field.origin(parent) {
            Origin::Nested => {
                if kind(field.ty).1 {
                    errors.push_spanned(
                        field.ty,
                        format!(
                            "`nested` on `{}` is not supported: a nested struct is loaded whole, with its outer struct, and a secret it cannot read fails the load; make the field the struct itself (its own fields may be `Option`s)",
                            type_string(field.ty)
                        ),
                    );
                }
            }
            Origin::Missing => {
                let id = [attr::ARN, attr::NAME, attr::PARAMETER];
                if !own.unsure_of(&[attr::ARN, attr::NAME, attr::PARAMETER, attr::NESTED])
                    && !parent.unsure_of(&id)
                {
                    errors.error(
                        field.ident.span(),
                        format!(
                            "field `{}` has no secret to read: name one on the struct or on the field (`#[aws_secrets(arn = \"…\")]`, `name = \"…\"` or `parameter = \"…\"`), or mark the field `#[aws_secrets(nested)]`",
                            field.name()
                        ),
                    );
                }
                if !own.unsure_of(&[attr::PUBLIC]) {
                    public_on_wrapper(field, errors);
                }
                ttl_below_rotation(field, parent, errors);
            }
            Origin::Secret(read) => {
                parameter_read(field, &read, errors);
                let masking = [attr::PUBLIC, attr::BINARY, attr::NESTED, attr::KEY];
                if !own.unsure_of(&masking) {
                    field_type(field, &read, errors);
                }
                ttl_below_rotation(field, parent, errors);
                if !own.unsure_of(&[attr::KEY]) {
                    serde_rename(field, &read, errors);
                }
                reads.push((field, read));
            }
        }
    }
    if let Some(id) = &parent.secret
        && !reads.iter().any(|(_, read)| read.from_struct)
    {
        errors.error(
            id.lit.span(),
            format!(
                "no field reads this secret: every field names its own or is `nested`; remove the struct-level `{}`",
                id.kind.key()
            ),
        );
    }
    mapped_twice(&reads, errors);
}

fn struct_level(input: &Input<'_>, errors: &mut Errors) {
    let attrs = &input.attrs;
    if attrs.secret.is_none() {
        for key in [attr::VERSION_STAGE, attr::VERSION_ID] {
            if let Some(span) = attrs.span_of(key) {
                errors.error(
                    span,
                    format!(
                        "a struct-level `{key}` selects a version of the struct-level secret, and this struct names none: move it to the fields that read the secret"
                    ),
                );
            }
        }
    }
    if let (Some(ttl), Some(rotation)) = (&attrs.ttl, &attrs.rotation)
        && ttl.secs >= rotation.secs
    {
        errors.error(ttl.lit.span(), ttl_not_below(ttl, rotation));
    }
}

/// [`field_ttl`], unless a `ttl` or `rotation` it reads was misspelt or did not parse (the
/// struct's counts only for a key the field does not write itself).
/// A field reading a parameter: its version is the parameter's selector (a field's own
/// `version_stage`/`version_id` would silently not apply), and its value is text (`binary`
/// would always fail).
fn parameter_read(field: &Field<'_>, read: &Read<'_>, errors: &mut Errors) {
    if read.id.kind != attr::IdKind::Parameter {
        return;
    }
    if let Some(version) = field.attrs.version.as_ref().filter(|_| read.from_struct) {
        let (attr::Version::Stage(lit) | attr::Version::Id(lit)) = version;
        errors.error(
            lit.span(),
            "this field reads the struct's parameter, whose version is in its name: write it there (`parameter = \"/prod/db-host:3\"` or `\"…:blue\"`), or give the field a `parameter` of its own",
        );
    }
    if let Some(span) = field.attrs.binary {
        errors.error(
            span,
            "`binary` reads a SecretBinary, and a parameter is text: read it into a `SecretString` (or a `public` field)",
        );
    }
}

fn ttl_below_rotation(field: &Field<'_>, parent: &Attrs, errors: &mut Errors) {
    let own = &field.attrs;
    let unsure =
        |key| own.unsure_of(&[key]) || (own.span_of(key).is_none() && parent.unsure_of(&[key]));
    if !unsure(attr::TTL) && !unsure(attr::ROTATION) {
        field_ttl(field, parent, errors);
    }
}

/// The TTL a field reads with must stay below its rotation interval. Struct-level pairs are
/// checked once, in `struct_level`; here only pairs where the field wrote one of the two.
fn field_ttl(field: &Field<'_>, parent: &Attrs, errors: &mut Errors) {
    let own = &field.attrs;
    let ttl = own.ttl.as_ref().or(parent.ttl.as_ref());
    let rotation = own.rotation.as_ref().or(parent.rotation.as_ref());
    let (Some(ttl), Some(rotation)) = (ttl, rotation) else {
        return;
    };
    if ttl.secs < rotation.secs {
        return;
    }
    if own.ttl.is_some() {
        errors.error(ttl.lit.span(), ttl_not_below(ttl, rotation));
    } else if own.rotation.is_some() {
        errors.error(
            rotation.lit.span(),
            format!(
                "`rotation` (`{}`) is not above the struct's `ttl` (`{}`): {}",
                rotation.lit.value(),
                ttl.lit.value(),
                TTL_WHY
            ),
        );
    }
}

/// `#[serde(rename = "x")]` does not change the key the field reads; say so when they differ.
fn serde_rename(field: &Field<'_>, read: &Read<'_>, errors: &mut Errors) {
    let (Some(rename), None, Some(key)) = (&field.serde_rename, read.key_lit, &read.key) else {
        return;
    };
    let renamed = rename.value();
    if renamed != *key {
        errors.error(
            rename.span(),
            format!(
                "`#[serde(rename = \"{renamed}\")]` does not change the JSON key this field reads from its secret, which is `{key}` (the field's name): write `#[aws_secrets(key = \"{renamed}\")]` to read `{renamed}`"
            ),
        );
    }
}

const TTL_WHY: &str = "after a rotation, the old value could be served until its TTL runs out; keep the TTL below the rotation interval";

fn ttl_not_below(ttl: &Dur, rotation: &Dur) -> String {
    format!(
        "`ttl` (`{}`) is not below `rotation` (`{}`): {TTL_WHY}",
        ttl.lit.value(),
        rotation.lit.value()
    )
}

/// What a field's type says about masking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `SecretString`.
    Text,
    /// `SecretSlice<u8>` (`SecretBox<[u8]>`).
    Bytes,
    /// Another `SecretBox<…>`.
    OtherWrapper,
    /// A type that obviously holds its value in the clear: `String`, `u16`, `Vec<…>`.
    Plain,
    /// A container (`Box`, `Vec`…) of a secret wrapper: `Box<SecretString>`.
    Contained(&'static str),
    /// Anything else: left to the `SecretField` bound.
    Unknown,
}

impl Kind {
    fn is_wrapper(self) -> bool {
        matches!(self, Self::Text | Self::Bytes | Self::OtherWrapper)
    }
}

/// Primitive and standard types that hold their value in the clear.
const PLAIN: &[&str] = &[
    "bool",
    "char",
    "str",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "String",
    "OsString",
    "OsStr",
    "PathBuf",
    "Path",
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
    "SocketAddrV4",
    "SocketAddrV6",
    "Duration",
];

/// Containers that are plain when what they contain is.
const CONTAINERS: &[&str] = &[
    "Vec", "VecDeque", "HashMap", "BTreeMap", "HashSet", "BTreeSet", "Box", "Rc", "Arc", "Cow",
];

/// The kind of a type, and whether it is an `Option`.
fn kind(ty: &Type) -> (Kind, bool) {
    match ty {
        Type::Group(g) => kind(&g.elem),
        Type::Paren(p) => kind(&p.elem),
        Type::Reference(r) => (plain_if(kind(&r.elem).0 == Kind::Plain), false),
        Type::Slice(_) | Type::Array(_) | Type::Tuple(_) => (Kind::Plain, false),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return (Kind::Unknown, false);
            };
            let name = last.ident.to_string();
            let args = type_args(&last.arguments);
            match (name.as_str(), args.as_slice()) {
                ("Option", [inner]) => (kind(inner).0, true),
                ("SecretString", []) => (Kind::Text, false),
                ("SecretSlice", [Type::Path(u8)]) if u8.path.is_ident("u8") => (Kind::Bytes, false),
                ("SecretBox", [Type::Slice(s)]) if matches!(&*s.elem, Type::Path(u8) if u8.path.is_ident("u8")) => {
                    (Kind::Bytes, false)
                }
                ("SecretSlice" | "SecretBox", _) => (Kind::OtherWrapper, false),
                (name, []) if PLAIN.contains(&name) || name.starts_with("NonZero") => {
                    (Kind::Plain, false)
                }
                (name, args) if CONTAINERS.contains(&name) => {
                    let container = CONTAINERS.iter().copied().find(|c| *c == name);
                    match container.filter(|_| args.iter().any(|a| kind(a).0.is_wrapper())) {
                        Some(container) => (Kind::Contained(container), false),
                        None => (
                            plain_if(args.iter().all(|a| kind(a).0 == Kind::Plain)),
                            false,
                        ),
                    }
                }
                _ => (Kind::Unknown, false),
            }
        }
        _ => (Kind::Unknown, false),
    }
}

fn plain_if(plain: bool) -> Kind {
    if plain { Kind::Plain } else { Kind::Unknown }
}

fn type_args(args: &PathArguments) -> Vec<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A type as the user would write it (`Option<String>`, not `Option < String >`).
pub(crate) fn type_string(ty: &Type) -> String {
    let mut s = ty.to_token_stream().to_string();
    for (from, to) in [
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
        (" ,", ","),
        (" ;", ";"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// `public`, `binary` and plain types.
fn field_type(field: &Field<'_>, read: &Read<'_>, errors: &mut Errors) {
    let (kind, optional) = kind(field.ty);
    let ty = type_string(field.ty);
    let attrs = &field.attrs;
    if attrs.binary.is_some() {
        if kind != Kind::Bytes {
            errors.push_spanned(
                field.ty,
                format!(
                    "`binary` reads a whole SecretBinary into `SecretSlice<u8>` (or `Option<SecretSlice<u8>>`), not into `{ty}`"
                ),
            );
        }
        return;
    }
    if attrs.public.is_some() {
        public_on_wrapper(field, errors);
        return;
    }
    match kind {
        Kind::Plain => {
            let suggestion = if optional {
                "`Option<SecretString>`"
            } else {
                "`SecretString`"
            };
            errors.push_spanned(
                field.ty,
                format!(
                    "`{ty}` would hold a secret value in the clear, where `Debug`, logs and panics can show it: use {suggestion}, or mark the field `#[aws_secrets(public)]` if the value is not sensitive (a host, a port)"
                ),
            );
        }
        Kind::Bytes if read.key.is_some() => errors.push_spanned(
            field.ty,
            format!(
                "`{ty}` holds a whole SecretBinary, and this field reads the JSON key `{}`: give the field its own secret and mark it `#[aws_secrets(binary)]`, or use `SecretString` for a JSON value",
                read.key.as_deref().unwrap_or_default()
            ),
        ),
        Kind::Contained(container) => {
            let why = if matches!(container, "Box" | "Rc" | "Arc" | "Cow") {
                format!(
                    "a secret wrapper holds its value on the heap already, and a loaded struct is shared whole (`Live::current` is an `Arc`): remove the `{container}`"
                )
            } else {
                "a field reads one value, and a JSON array or object is not split into several secrets: read it whole into one `SecretString` (its JSON text), or give each value its own key and field".to_owned()
            };
            errors.push_spanned(
                field.ty,
                format!("`{ty}` is not a type a secret is read into: {why}"),
            );
        }
        Kind::Text | Kind::Bytes | Kind::OtherWrapper | Kind::Unknown => {}
    }
}

/// `public` on a type that is masked already (whatever the field reads).
fn public_on_wrapper(field: &Field<'_>, errors: &mut Errors) {
    let Some(public) = field.attrs.public else {
        return;
    };
    if kind(field.ty).0.is_wrapper() {
        let ty = type_string(field.ty);
        errors.error(
            public,
            format!(
                "`public` on a `{ty}` field: `public` opts a plain type (`String`, `u16`) out of masking, and `{ty}` is masked already; remove `public`, or make the field a plain type if the value is not sensitive"
            ),
        );
    }
}

/// No (secret, version, key) is read by two fields, and no secret is read both as binary and
/// as JSON.
fn mapped_twice(reads: &[(&Field<'_>, Read<'_>)], errors: &mut Errors) {
    for (at, (field, read)) in reads.iter().enumerate() {
        let same_secret = |other: &Read<'_>| {
            other.id.value == read.id.value
                && other.version == read.version
                && other.role.map(LitStr::value) == read.role.map(LitStr::value)
        };
        let earlier = reads[..at].iter();
        let span = read.key_lit.map_or(field.ident.span(), |lit| lit.span());
        if let Some((first, _)) = earlier
            .clone()
            .find(|(_, other)| same_secret(other) && other.key == read.key)
        {
            let what = match &read.key {
                Some(key) => format!("key `{key}` of secret `{}`", read.id.value),
                None => format!("the whole secret `{}`", read.id.value),
            };
            errors.error(
                span,
                format!(
                    "field `{}` reads the same value as field `{}` ({what}{}): map each value to one field",
                    field.name(),
                    first.name(),
                    version_text(&read.version)
                ),
            );
            continue;
        }
        let binary = |f: &Field<'_>| f.attrs.binary.is_some();
        if let Some((first, _)) = earlier
            .clone()
            .find(|(other_field, other)| same_secret(other) && binary(other_field) != binary(field))
        {
            let (bin, text) = if binary(field) {
                (field, first)
            } else {
                (first, field)
            };
            errors.error(
                span_of_field(field, read),
                format!(
                    "secret `{}` is read as a SecretBinary by field `{}` and as text by field `{}`: a secret holds one or the other",
                    read.id.value,
                    bin.name(),
                    text.name()
                ),
            );
        }
    }
}

fn span_of_field(field: &Field<'_>, read: &Read<'_>) -> Span {
    field
        .attrs
        .binary
        .or_else(|| read.key_lit.map(|lit| lit.span()))
        .unwrap_or(field.ident.span())
}

fn version_text(version: &VersionKey) -> String {
    match version {
        VersionKey::Current => String::new(),
        VersionKey::Stage(stage) => format!(", stage `{stage}`"),
        VersionKey::Id(id) => format!(", version `{id}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::{DeriveInput, parse_quote};

    fn errors_of(input: &DeriveInput) -> Vec<String> {
        let mut errors = Errors::default();
        let model = Input::from_syn(input, &mut errors);
        check(&model, &mut errors);
        errors.messages()
    }

    #[test]
    fn classifies_types() {
        let k = |ty: Type| kind(&ty);
        assert_eq!(k(parse_quote!(SecretString)), (Kind::Text, false));
        assert_eq!(
            k(parse_quote!(Option<asm_runtime::SecretString>)),
            (Kind::Text, true)
        );
        assert_eq!(k(parse_quote!(SecretSlice<u8>)), (Kind::Bytes, false));
        assert_eq!(
            k(parse_quote!(secrecy::SecretBox<[u8]>)),
            (Kind::Bytes, false)
        );
        assert_eq!(
            k(parse_quote!(SecretBox<Token>)),
            (Kind::OtherWrapper, false)
        );
        for plain in [
            parse_quote!(String),
            parse_quote!(&'static str),
            parse_quote!(u16),
            parse_quote!(Vec<u8>),
            parse_quote!(std::collections::HashMap<String, String>),
            parse_quote!([u8; 32]),
            parse_quote!(NonZeroU32),
        ] {
            assert_eq!(k(plain).0, Kind::Plain);
        }
        assert_eq!(k(parse_quote!(Option<String>)), (Kind::Plain, true));
        assert_eq!(k(parse_quote!(ApiKey)).0, Kind::Unknown);
        assert_eq!(k(parse_quote!(Vec<SecretString>)).0, Kind::Contained("Vec"));
        assert_eq!(
            k(parse_quote!(Option<Box<SecretString>>)),
            (Kind::Contained("Box"), true)
        );
        assert_eq!(k(parse_quote!(Vec<ApiKey>)).0, Kind::Unknown);
        assert_eq!(k(parse_quote!(<T as Tr>::Out)).0, Kind::Unknown);
    }

    #[test]
    fn writes_types_as_users_do() {
        assert_eq!(
            type_string(&parse_quote!(Option<Vec<u8>>)),
            "Option<Vec<u8>>"
        );
        assert_eq!(type_string(&parse_quote!(&'static str)), "&'static str");
        assert_eq!(
            type_string(&parse_quote!(std::collections::HashMap<String, u8>)),
            "std::collections::HashMap<String, u8>"
        );
    }

    #[test]
    fn accepts_a_well_formed_struct() {
        let input = parse_quote! {
            #[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", ttl = "10m", rotation = "30d")]
            struct Db {
                username: SecretString,
                password: SecretString,
                #[aws_secrets(public)]
                port: u16,
                #[aws_secrets(key = "password", version_stage = "AWSPREVIOUS")]
                previous_password: Option<SecretString>,
                #[aws_secrets(name = "${APP_ENV}/tls", binary)]
                tls: SecretSlice<u8>,
                #[aws_secrets(nested)]
                other: Other,
                api_key: ApiKey,
            }
        };
        assert_eq!(errors_of(&input), Vec::<String>::new());
    }

    #[test]
    fn reports_fields_without_a_source() {
        let errors = errors_of(&parse_quote!(
            struct S {
                a: SecretString,
                #[aws_secrets(public)]
                b: String,
            }
        ));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("field `a` has no secret"), "{errors:?}");
    }

    #[test]
    fn reports_type_problems() {
        let errors = errors_of(&parse_quote! {
            #[aws_secrets(name = "prod/db")]
            struct S {
                a: String,
                b: Option<u32>,
                #[aws_secrets(public)]
                c: SecretString,
                #[aws_secrets(name = "bin", binary)]
                d: Vec<u8>,
                e: SecretSlice<u8>,
            }
        });
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(
            errors[0].contains("`String` would hold a secret value")
                && errors[0].contains("use `SecretString`")
        );
        assert!(errors[1].contains("use `Option<SecretString>`"));
        assert!(errors[2].contains("`public` on a `SecretString` field"));
        assert!(errors[3].contains("not into `Vec<u8>`"));
        assert!(errors[4].contains("reads the JSON key `e`"));
    }

    #[test]
    fn reports_ttl_at_or_above_rotation() {
        let errors = errors_of(&parse_quote! {
            #[aws_secrets(name = "prod/db", ttl = "30d", rotation = "30d")]
            struct S {
                a: SecretString,
                #[aws_secrets(ttl = "1h", rotation = "30m")]
                b: SecretString,
                #[aws_secrets(rotation = "1d")]
                c: SecretString,
            }
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("`ttl` (`30d`) is not below `rotation` (`30d`)"));
        assert!(errors[1].contains("`ttl` (`1h`) is not below `rotation` (`30m`)"));
        assert!(errors[2].contains("`rotation` (`1d`) is not above the struct's `ttl` (`30d`)"));
    }

    #[test]
    fn reports_shapes_a_secret_is_not_read_into() {
        let errors = errors_of(&parse_quote! {
            #[aws_secrets(name = "prod/db")]
            struct S {
                a: Box<SecretString>,
                b: Vec<SecretString>,
                #[serde(rename = "pw")]
                password: SecretString,
                #[serde(rename = "user")]
                #[aws_secrets(key = "user")]
                user: SecretString,
                #[aws_secrets(nested)]
                inner: Option<Inner>,
            }
        });
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("remove the `Box`"), "{errors:?}");
        assert!(
            errors[1].contains("give each value its own key"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("write `#[aws_secrets(key = \"pw\")]`"),
            "{errors:?}"
        );
        assert!(
            errors[3].contains("`nested` on `Option<Inner>` is not supported"),
            "{errors:?}"
        );
    }

    #[test]
    fn reports_values_mapped_twice() {
        let errors = errors_of(&parse_quote! {
            #[aws_secrets(name = "prod/db")]
            struct S {
                password: SecretString,
                #[aws_secrets(key = "password")]
                again: SecretString,
                #[aws_secrets(key = "password", version_stage = "AWSPREVIOUS")]
                previous: SecretString,
                #[aws_secrets(name = "prod/db", key = "password", version_stage = "AWSPREVIOUS")]
                third: SecretString,
                #[aws_secrets(name = "whole")]
                w1: SecretString,
                #[aws_secrets(name = "whole")]
                w2: SecretString,
            }
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("field `again` reads the same value as field `password`"));
        assert!(errors[1].contains("field `third` reads the same value as field `previous`"));
        assert!(errors[2].contains("the whole secret `whole`"));
    }

    #[test]
    fn one_name_read_as_two_roles_is_two_secrets() {
        let errors = errors_of(&parse_quote! {
            struct S {
                #[aws_secrets(name = "prod/db", key = "password", role = "arn:aws:iam::111111111111:role/a")]
                ours: SecretString,
                #[aws_secrets(name = "prod/db", key = "password", role = "arn:aws:iam::222222222222:role/b")]
                theirs: SecretString,
                #[aws_secrets(name = "prod/db", key = "password", role = "arn:aws:iam::222222222222:role/b")]
                again: SecretString,
            }
        });
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("field `again` reads the same value as field `theirs`"));
    }

    #[test]
    fn reports_binary_and_text_reads_of_one_secret() {
        let errors = errors_of(&parse_quote! {
            #[aws_secrets(name = "prod/tls")]
            struct S {
                #[aws_secrets(binary)]
                der: SecretSlice<u8>,
                password: SecretString,
            }
        });
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .contains("read as a SecretBinary by field `der` and as text by field `password`")
        );
    }

    #[test]
    fn reports_struct_level_problems() {
        let errors = errors_of(&parse_quote! {
            #[aws_secrets(name = "unused", version_id = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111")]
            struct S {
                #[aws_secrets(name = "own")]
                a: SecretString,
            }
        });
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("no field reads this secret"));
        let errors = errors_of(&parse_quote! {
            #[aws_secrets(version_stage = "AWSPREVIOUS")]
            struct S {
                #[aws_secrets(name = "own")]
                a: SecretString,
            }
        });
        assert!(errors[0].contains("struct names none"), "{errors:?}");
    }
}
