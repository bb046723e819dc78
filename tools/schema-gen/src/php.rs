//! PHP: a Psalm type alias (`@psalm-type`, which PHPStan reads too) per
//! definition, in the docblock of an empty class, describing the arrays
//! `Json::decode` gives for the core's JSON. A user imports one with
//! `@psalm-import-type Action from FlowMessages`.

use crate::ir::{Def, Obj, Ty};

fn key(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit()) {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "\\'"))
    }
}

fn object(obj: &Obj, indent: &str) -> String {
    if obj.fields.is_empty() {
        return "array<never, never>".into();
    }
    let inner = format!("{indent}    ");
    let mut out = String::from("array{\n");
    for f in &obj.fields {
        let optional = if f.required { "" } else { "?" };
        out.push_str(&format!(
            " * {inner}{}{optional}: {},\n",
            key(&f.name),
            ty(&f.ty, &inner)
        ));
    }
    out.push_str(&format!(" * {indent}}}"));
    out
}

fn ty(t: &Ty, indent: &str) -> String {
    match t {
        Ty::Any => "mixed".into(),
        Ty::Null => "null".into(),
        Ty::Bool => "bool".into(),
        // Json::decode reads integers beyond PHP_INT_MAX as strings (JSON_BIGINT_AS_STRING).
        Ty::Int => "int".into(),
        Ty::Num => "int|float".into(),
        Ty::Str => "string".into(),
        Ty::Lit(value) => format!("'{}'", value.replace('\'', "\\'")),
        Ty::Ref(name) => name.clone(),
        Ty::Array(item) => format!("list<{}>", ty(item, indent)),
        Ty::Tuple(items) => format!(
            "array{{{}}}",
            items
                .iter()
                .enumerate()
                .map(|(i, item)| format!("{i}: {}", ty(item, indent)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ty::Map(value) => format!("array<string, {}>", ty(value, indent)),
        Ty::Object(obj) => object(obj, indent),
        Ty::Union(members) => members.iter().map(|m| ty(m, indent)).collect::<Vec<_>>().join("|"),
    }
}

/// The PHP file: namespace `Incwo\Connector`, class `FlowMessages`.
pub fn render(defs: &[Def], header: &str) -> String {
    let mut out = format!("<?php\n\n// {header}\n\ndeclare(strict_types=1);\n\nnamespace Incwo\\Connector;\n\n");
    for line in [
        "/**",
        " * The flow's messages as `Json::decode` gives them (arrays): one Psalm type",
        " * alias per message, read by Psalm and PHPStan alike. Import one with",
        " * `@psalm-import-type Action from FlowMessages`.",
        " *",
    ] {
        out.push_str(line);
        out.push('\n');
    }
    for def in defs {
        if let Some(doc) = &def.doc {
            let text = doc.lines().map(str::trim).collect::<Vec<_>>().join(" ");
            out.push_str(&format!(" * - {}: {}\n", def.name, text.replace("*/", "*\\/")));
        }
    }
    out.push_str(" *\n");
    for def in defs {
        out.push_str(&format!(" * @psalm-type {} = {}\n", def.name, ty(&def.ty, "")));
    }
    out.push_str(" */\nfinal class FlowMessages\n{\n    private function __construct()\n    {\n    }\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Field;

    #[test]
    fn shapes_mark_optional_keys_and_nullables() {
        let defs = [Def {
            name: "O".into(),
            doc: Some("An object.".into()),
            ty: Ty::Object(Obj {
                doc: None,
                fields: vec![
                    Field {
                        name: "a".into(),
                        ty: Ty::Lit("x".into()),
                        required: true,
                        doc: None,
                    },
                    Field {
                        name: "n".into(),
                        ty: Ty::Union(vec![Ty::Int, Ty::Null]),
                        required: false,
                        doc: None,
                    },
                ],
            }),
        }];
        let text = render(&defs, "h");
        assert!(
            text.contains(" * @psalm-type O = array{\n *     a: 'x',\n *     n?: int|null,\n * }\n"),
            "{text}"
        );
        assert!(text.contains(" * - O: An object.\n"), "{text}");
    }
}
