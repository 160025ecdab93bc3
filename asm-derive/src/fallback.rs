//! The impl emitted beside `compile_error!`: with it, the rest of the crate still sees
//! `AwsSecrets` implemented, so one typo in an attribute gives one error, not one more at every
//! `load` call.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

/// An `AwsSecrets` impl that reads nothing and is never called (the crate does not compile).
pub(crate) fn stub(node: &DeriveInput, krate: &TokenStream) -> TokenStream {
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    // The trait asks for `Send + Sync + 'static`; bounding the impl on it keeps the stub well
    // formed for a generic struct, so the "not supported" error stays the only one.
    let predicates = where_clause
        .map(|w| w.predicates.iter())
        .into_iter()
        .flatten();
    let where_clause = if node.generics.params.is_empty() && where_clause.is_none() {
        quote!()
    } else {
        quote! {
            where
                #(#predicates,)*
                #ident #ty_generics: ::core::marker::Send + ::core::marker::Sync + 'static
        }
    };
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::AwsSecrets for #ident #ty_generics #where_clause {
                const SECRET_IDS: &'static [&'static str] = &[];

                fn __declare(
                    _: &mut #krate::__private::Plan,
                ) -> ::core::result::Result<(), #krate::Error> {
                    ::core::unreachable!("`#[derive(AwsSecrets)]` reported errors")
                }

                fn __assemble(
                    _: &#krate::__private::Fetched<'_>,
                ) -> ::core::result::Result<Self, #krate::Error> {
                    ::core::unreachable!("`#[derive(AwsSecrets)]` reported errors")
                }
            }
        };
    }
}
