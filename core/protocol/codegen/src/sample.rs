//! Emits the test-support code of the generated messages: a
//! `crate::codec::Sample` impl per struct and, in `mod.rs`, sample
//! constructors for the `Request`/`Response` enums and a table of every
//! message for the round-trip and fuzz tests. All of it sits behind
//! `#[cfg(any(test, feature = "sample"))]`, so normal builds never compile it.

use std::fmt::Write;

use crate::emit::{Api, FieldPlan};
use crate::spec::MessageSpec;

pub const SAMPLE_CFG: &str = "#[cfg(any(test, feature = \"sample\"))]";

/// One line per field present in some version: `fill` replaces the default
/// with a random non-default value when the version has the field.
pub fn emit_sample_impl(out: &mut String, struct_name: &str, plans: &[FieldPlan]) {
    let _ = writeln!(
        out,
        "{SAMPLE_CFG}\nimpl crate::codec::Sample for {struct_name} {{\n    #[allow(unused_variables, unused_mut)]\n    fn sample(version: i16, rng: &mut crate::codec::SampleRng) -> Self {{\n        let mut this = Self::default();"
    );
    for p in plans {
        let present = if p.spec.tag.is_some() {
            p.spec.tagged_versions.condition()
        } else {
            p.spec.versions.condition()
        };
        if present == "false" {
            continue;
        }
        let _ = writeln!(
            out,
            "        if {present} {{ rng.fill(&mut this.{}, version, {}); }}",
            p.ident,
            p.spec.nullable_versions.condition()
        );
    }
    out.push_str("        this\n    }\n}\n\n");
}

/// `Request::sample`/`Response::sample` and `sample_exercises()`.
pub fn emit_sample_mod(out: &mut String, specs: &[MessageSpec], apis: &[Api]) {
    for (kind, is_request) in [("Request", true), ("Response", false)] {
        let _ = writeln!(
            out,
            "{SAMPLE_CFG}\nimpl {kind} {{\n    /// A pseudo-random body of `api_key` at `version`, for tests.\n    pub fn sample(api_key: ApiKey, version: i16, rng: &mut crate::codec::SampleRng) -> Self {{\n        use crate::codec::Sample;\n        match api_key {{"
        );
        for api in apis {
            let msg = if is_request {
                &api.request.name
            } else {
                &api.response.name
            };
            let _ = writeln!(
                out,
                "            ApiKey::{0} => {kind}::{0}({msg}::sample(version, rng)),",
                api.name
            );
        }
        out.push_str("        }\n    }\n}\n\n");
    }
    let _ = writeln!(
        out,
        "/// Every generated message with its version range, for tests.\n{SAMPLE_CFG}\npub fn sample_exercises() -> Vec<crate::codec::Exercise> {{\n    use crate::codec::exercise;\n    vec!["
    );
    for spec in specs {
        let _ = writeln!(
            out,
            "        exercise::<{0}>({0:?}, {0}::VERSIONS),",
            spec.name
        );
    }
    out.push_str("    ]\n}\n");
}
