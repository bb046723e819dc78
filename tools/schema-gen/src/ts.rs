//! TypeScript declarations: an `interface` per object, a `type` per union.

use crate::ir::{Def, Obj, Ty};

fn comment(doc: &Option<String>, indent: &str) -> String {
    match doc {
        None => String::new(),
        Some(text) => {
            let text = text.replace("*/", "*\\/");
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() == 1 {
                format!("{indent}/** {} */\n", lines[0])
            } else {
                let mut out = format!("{indent}/**\n");
                for line in lines {
                    out.push_str(format!("{indent} * {line}").trim_end());
                    out.push('\n');
                }
                out.push_str(&format!("{indent} */\n"));
                out
            }
        }
    }
}

fn key(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit()) {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

fn object(obj: &Obj, indent: &str) -> String {
    let inner = format!("{indent}  ");
    let mut out = String::from("{\n");
    for f in &obj.fields {
        out.push_str(&comment(&f.doc, &inner));
        let optional = if f.required { "" } else { "?" };
        out.push_str(&format!("{inner}{}{optional}: {};\n", key(&f.name), ty(&f.ty, &inner)));
    }
    out.push_str(indent);
    out.push('}');
    out
}

fn ty(t: &Ty, indent: &str) -> String {
    match t {
        Ty::Any => "unknown".into(),
        Ty::Null => "null".into(),
        Ty::Bool => "boolean".into(),
        Ty::Int | Ty::Num => "number".into(),
        Ty::Str => "string".into(),
        Ty::Lit(value) => format!("{value:?}"),
        Ty::Ref(name) => name.clone(),
        Ty::Array(item) => match **item {
            Ty::Union(_) => format!("Array<{}>", ty(item, indent)),
            _ => format!("{}[]", ty(item, indent)),
        },
        Ty::Tuple(items) => format!(
            "[{}]",
            items.iter().map(|i| ty(i, indent)).collect::<Vec<_>>().join(", ")
        ),
        Ty::Map(value) => format!("Record<string, {}>", ty(value, indent)),
        Ty::Object(obj) => object(obj, indent),
        Ty::Union(members) => members.iter().map(|m| ty(m, indent)).collect::<Vec<_>>().join(" | "),
    }
}

/// The declarations of every definition.
pub fn render(defs: &[Def], header: &str) -> String {
    let mut out = format!("// {header}\n");
    for def in defs {
        out.push('\n');
        out.push_str(&comment(&def.doc, ""));
        match &def.ty {
            Ty::Object(obj) => out.push_str(&format!("export interface {} {}\n", def.name, object(obj, ""))),
            Ty::Union(members) if members.iter().any(|m| matches!(m, Ty::Object(_))) => {
                out.push_str(&format!("export type {} =\n", def.name));
                for m in members {
                    if let Ty::Object(obj) = m {
                        out.push_str(&comment(&obj.doc, "  "));
                    }
                    out.push_str(&format!("  | {}\n", ty(m, "  ")));
                }
                out.pop();
                out.push_str(";\n");
            }
            other => out.push_str(&format!("export type {} = {};\n", def.name, ty(other, ""))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Field;

    #[test]
    fn objects_become_interfaces_and_tagged_unions_types() {
        let obj = |tag: &str| {
            Ty::Object(Obj {
                doc: Some("A variant.".into()),
                fields: vec![Field {
                    name: "t".into(),
                    ty: Ty::Lit(tag.into()),
                    required: true,
                    doc: None,
                }],
            })
        };
        let defs = [
            Def {
                name: "U".into(),
                doc: None,
                ty: Ty::Union(vec![obj("a"), obj("b")]),
            },
            Def {
                name: "O".into(),
                doc: Some("An object.".into()),
                ty: Ty::Object(Obj {
                    doc: None,
                    fields: vec![Field {
                        name: "n".into(),
                        ty: Ty::Union(vec![Ty::Int, Ty::Null]),
                        required: false,
                        doc: Some("A number.".into()),
                    }],
                }),
            },
        ];
        let text = render(&defs, "h");
        assert!(
            text.contains("export type U =\n  /** A variant. */\n  | {\n    t: \"a\";\n  }\n"),
            "{text}"
        );
        assert!(
            text.contains("/** An object. */\nexport interface O {\n  /** A number. */\n  n?: number | null;\n}"),
            "{text}"
        );
    }
}
