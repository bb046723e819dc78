//! Python: a `TypedDict` per object (what `json.loads` of the core's JSON
//! gives), a type alias per union. Objects inside a union get a name of
//! their own: the definition's name and the value of their tag
//! (`ActionSend`, `OutcomeDeferred`).

use crate::ir::{Def, Field, Obj, Ty};

/// Python's keywords, which cannot name a field in the class syntax.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

fn pascal(text: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

fn is_identifier(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !KEYWORDS.contains(&name)
}

/// Replaces the objects nested in `t` by references to named ones, pushed
/// to `named`.
fn hoist(t: &Ty, base: &str, named: &mut Vec<(String, Option<String>, Obj)>) -> Ty {
    match t {
        Ty::Object(obj) => {
            let obj = hoist_fields(obj, base, named);
            named.push((base.to_string(), obj.doc.clone(), obj));
            Ty::Ref(base.to_string())
        }
        Ty::Union(members) => {
            let objects = members.iter().filter(|m| matches!(m, Ty::Object(_))).count();
            Ty::Union(
                members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let name = match m.tag() {
                            Some((_, value)) => format!("{base}{}", pascal(value)),
                            None if objects == 1 => format!("{base}Object"),
                            None => format!("{base}Variant{i}"),
                        };
                        hoist(m, &name, named)
                    })
                    .collect(),
            )
        }
        Ty::Array(item) => Ty::Array(Box::new(hoist(item, &format!("{base}Item"), named))),
        Ty::Map(value) => Ty::Map(Box::new(hoist(value, &format!("{base}Value"), named))),
        Ty::Tuple(items) => Ty::Tuple(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| hoist(item, &format!("{base}{i}"), named))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn hoist_fields(obj: &Obj, base: &str, named: &mut Vec<(String, Option<String>, Obj)>) -> Obj {
    Obj {
        doc: obj.doc.clone(),
        fields: obj
            .fields
            .iter()
            .map(|f| Field {
                ty: hoist(&f.ty, &format!("{base}{}", pascal(&f.name)), named),
                ..f.clone()
            })
            .collect(),
    }
}

fn ty(t: &Ty) -> String {
    match t {
        Ty::Any => "Any".into(),
        Ty::Null => "None".into(),
        Ty::Bool => "bool".into(),
        Ty::Int => "int".into(),
        Ty::Num => "float".into(),
        Ty::Str => "str".into(),
        Ty::Lit(value) => format!("Literal[{value:?}]"),
        Ty::Ref(name) => format!("{name:?}"),
        Ty::Array(item) => format!("List[{}]", ty(item)),
        // JSON gives a list, whatever its length.
        Ty::Tuple(items) => format!("List[{}]", ty(&crate::ir::union(items.clone()))),
        Ty::Map(value) => format!("Dict[str, {}]", ty(value)),
        Ty::Object(_) => "Dict[str, Any]".into(),
        Ty::Union(members) => {
            if members.iter().all(|m| matches!(m, Ty::Lit(_))) {
                let values: Vec<String> = members
                    .iter()
                    .map(|m| match m {
                        Ty::Lit(v) => format!("{v:?}"),
                        _ => unreachable!(),
                    })
                    .collect();
                return format!("Literal[{}]", values.join(", "));
            }
            if let Some(inner) = t.without_null() {
                return format!("Optional[{}]", ty(&inner));
            }
            format!("Union[{}]", members.iter().map(ty).collect::<Vec<_>>().join(", "))
        }
    }
}

fn docstring(doc: &Option<String>, indent: &str) -> String {
    let text = doc
        .as_deref()
        .unwrap_or("A flow message.")
        .replace('\\', "\\\\")
        .replace("\"\"\"", "\\\"\\\"\\\"");
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 {
        format!("{indent}\"\"\"{}\"\"\"\n", lines[0])
    } else {
        let mut out = format!("{indent}\"\"\"{}\n", lines[0]);
        for line in &lines[1..] {
            out.push_str(format!("{indent}{line}").trim_end());
            out.push('\n');
        }
        out.push_str(&format!("{indent}\"\"\"\n"));
        out
    }
}

fn field_lines(fields: &[&Field], indent: &str) -> String {
    let mut out = String::new();
    for f in fields {
        if let Some(doc) = &f.doc {
            for line in doc.lines() {
                out.push_str(format!("{indent}#: {line}").trim_end());
                out.push('\n');
            }
        }
        out.push_str(&format!("{indent}{}: {}\n", f.name, ty(&f.ty)));
    }
    out
}

fn typed_dict(name: &str, doc: &Option<String>, obj: &Obj) -> Result<String, String> {
    let (required, optional): (Vec<&Field>, Vec<&Field>) = obj.fields.iter().partition(|f| f.required);
    if let Some(bad) = optional.iter().find(|f| !is_identifier(&f.name)) {
        return Err(format!(
            "{name}.{}: an optional key must be a Python identifier",
            bad.name
        ));
    }
    let mut out = String::new();
    if required.iter().all(|f| is_identifier(&f.name)) {
        let total = if required.is_empty() && !optional.is_empty() {
            ", total=False"
        } else {
            ""
        };
        if !required.is_empty() && !optional.is_empty() {
            out.push_str(&format!("class _{name}Required(TypedDict):\n"));
            out.push_str(&field_lines(&required, "    "));
            out.push_str(&format!("\n\nclass {name}(_{name}Required, total=False):\n"));
            out.push_str(&docstring(doc, "    "));
            out.push('\n');
            out.push_str(&field_lines(&optional, "    "));
        } else {
            out.push_str(&format!("class {name}(TypedDict{total}):\n"));
            out.push_str(&docstring(doc, "    "));
            if !obj.fields.is_empty() {
                out.push('\n');
            }
            out.push_str(&field_lines(&obj.fields.iter().collect::<Vec<_>>(), "    "));
        }
    } else {
        // A key that is a keyword (`class`): the functional syntax.
        out.push_str(&format!(
            "_{name}Required = TypedDict(\n    \"_{name}Required\",\n    {{\n"
        ));
        for f in &required {
            if let Some(doc) = &f.doc {
                for line in doc.lines() {
                    out.push_str(format!("        # {line}").trim_end());
                    out.push('\n');
                }
            }
            out.push_str(&format!("        {:?}: {},\n", f.name, ty(&f.ty)));
        }
        out.push_str("    },\n)\n\n\n");
        out.push_str(&format!("class {name}(_{name}Required, total=False):\n"));
        out.push_str(&docstring(doc, "    "));
        if !optional.is_empty() {
            out.push('\n');
            out.push_str(&field_lines(&optional, "    "));
        }
    }
    Ok(out)
}

/// The module: every definition, then `__all__`.
pub fn render(defs: &[Def], header: &str) -> Result<String, String> {
    let mut named: Vec<(String, Option<String>, Obj)> = Vec::new();
    let mut aliases: Vec<(String, Option<String>, Ty)> = Vec::new();
    for def in defs {
        match &def.ty {
            Ty::Object(obj) => {
                let obj = hoist_fields(obj, &def.name, &mut named);
                named.push((def.name.clone(), def.doc.clone(), obj));
            }
            other => {
                let t = hoist(other, &def.name, &mut named);
                aliases.push((def.name.clone(), def.doc.clone(), t));
            }
        }
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = format!(
        "\"\"\"The flow's messages as ``json.loads`` gives them (``poll_json``,\n``summary_json``, ``take_changed_entries``, ``event_json``, checkpoints).\n\n{header}\n\"\"\"\n\n\
         from __future__ import annotations\n\n\
         from typing import Any, Dict, List, Literal, Optional, TypedDict, Union\n"
    );
    for (name, doc, obj) in &named {
        out.push_str("\n\n");
        out.push_str(&typed_dict(name, doc, obj)?);
    }
    for (name, doc, t) in &aliases {
        out.push('\n');
        if let Some(doc) = doc {
            for line in doc.lines() {
                out.push_str(format!("#: {line}").trim_end());
                out.push('\n');
            }
        }
        out.push_str(&format!("{name} = {}\n", ty(t)));
    }
    let mut all: Vec<&str> = named
        .iter()
        .map(|n| n.0.as_str())
        .chain(aliases.iter().map(|a| a.0.as_str()))
        .collect();
    all.retain(|n| !n.starts_with('_'));
    all.sort();
    out.push_str("\n__all__ = [\n");
    for name in all {
        out.push_str(&format!("    {name:?},\n"));
    }
    out.push_str("]\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, ty: Ty, required: bool) -> Field {
        Field {
            name: name.into(),
            ty,
            required,
            doc: None,
        }
    }

    #[test]
    fn union_members_are_named_by_their_tag_and_keywords_use_the_functional_syntax() {
        let defs = [
            Def {
                name: "Action".into(),
                doc: None,
                ty: Ty::Union(vec![Ty::Object(Obj {
                    doc: None,
                    fields: vec![field("action", Ty::Lit("recordDone".into()), true)],
                })]),
            },
            Def {
                name: "Err".into(),
                doc: None,
                ty: Ty::Object(Obj {
                    doc: None,
                    fields: vec![
                        field("class", Ty::Str, true),
                        field("n", Ty::Union(vec![Ty::Int, Ty::Null]), false),
                    ],
                }),
            },
        ];
        let text = render(&defs, "h").unwrap();
        assert!(text.contains("class ActionRecordDone(TypedDict):"), "{text}");
        assert!(
            text.contains("Action = Union[\"ActionRecordDone\"]") || text.contains("Action = \"ActionRecordDone\""),
            "{text}"
        );
        assert!(text.contains("\"class\": str,"), "{text}");
        assert!(text.contains("class Err(_ErrRequired, total=False):"), "{text}");
        assert!(text.contains("n: Optional[int]"), "{text}");
    }
}
