//! The part of JSON Schema the flow messages use, read into a small type
//! model that each language's writer renders. Anything outside that part is
//! refused with the schema path, so a new construct in the core is noticed
//! here rather than rendered wrong.

use serde_json::{Map, Value};

/// A type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Any JSON value.
    Any,
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool,
    /// An integer.
    Int,
    /// Any number.
    Num,
    /// A string.
    Str,
    /// This exact string.
    Lit(String),
    /// A named definition.
    Ref(String),
    /// A list.
    Array(Box<Ty>),
    /// A fixed-length list.
    Tuple(Vec<Ty>),
    /// An object with arbitrary keys.
    Map(Box<Ty>),
    /// An object with known keys.
    Object(Obj),
    /// One of these.
    Union(Vec<Ty>),
}

/// An object with known keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj {
    /// What it is.
    pub doc: Option<String>,
    /// Its keys, sorted by name.
    pub fields: Vec<Field>,
}

/// One key of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON key.
    pub name: String,
    /// Its value's type.
    pub ty: Ty,
    /// Always present.
    pub required: bool,
    /// What it holds.
    pub doc: Option<String>,
}

/// A named definition (`$defs` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Def {
    /// Its name.
    pub name: String,
    /// What it is.
    pub doc: Option<String>,
    /// Its type.
    pub ty: Ty,
}

impl Ty {
    /// The nullable form's inner type: `Some(T)` for `T | null`.
    pub fn without_null(&self) -> Option<Ty> {
        match self {
            Ty::Union(members) if members.contains(&Ty::Null) => {
                let rest: Vec<Ty> = members.iter().filter(|t| **t != Ty::Null).cloned().collect();
                Some(if rest.len() == 1 {
                    rest[0].clone()
                } else {
                    Ty::Union(rest)
                })
            }
            _ => None,
        }
    }

    /// The value of the object's discriminating key: its first required
    /// field whose type is a single string.
    pub fn tag(&self) -> Option<(&str, &str)> {
        match self {
            Ty::Object(obj) => obj.fields.iter().find_map(|f| match &f.ty {
                Ty::Lit(value) if f.required => Some((f.name.as_str(), value.as_str())),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// Reads every `$defs` entry, sorted by name.
pub fn defs(schema: &Value) -> Result<Vec<Def>, String> {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .ok_or("the schema has no $defs object")?;
    let mut names: Vec<&String> = defs.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let value = &defs[name];
            Ok(Def {
                name: name.clone(),
                doc: doc(value),
                ty: ty(value, &format!("$defs/{name}"))?,
            })
        })
        .collect()
}

fn doc(value: &Value) -> Option<String> {
    value.get("description").and_then(Value::as_str).map(str::to_string)
}

/// The union of `members`, flattened and without repeats (a single member stands alone).
pub fn union(members: Vec<Ty>) -> Ty {
    let mut flat = Vec::new();
    for m in members {
        match m {
            Ty::Union(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    let mut out: Vec<Ty> = Vec::new();
    for m in flat {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.len() == 1 {
        out.remove(0)
    } else {
        Ty::Union(out)
    }
}

fn ty(value: &Value, at: &str) -> Result<Ty, String> {
    let map = match value {
        Value::Bool(true) => return Ok(Ty::Any),
        Value::Object(map) => map,
        _ => return Err(format!("{at}: a schema must be an object or true")),
    };
    if let Some(target) = map.get("$ref").and_then(Value::as_str) {
        let name = target
            .strip_prefix("#/$defs/")
            .ok_or_else(|| format!("{at}: $ref {target} does not point into #/$defs/"))?;
        return Ok(Ty::Ref(name.to_string()));
    }
    if let Some(value) = map.get("const") {
        let text = value
            .as_str()
            .ok_or_else(|| format!("{at}: only string constants are supported"))?;
        return Ok(Ty::Lit(text.to_string()));
    }
    if let Some(values) = map.get("enum").and_then(Value::as_array) {
        let members = values
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(Ty::Lit(s.clone())),
                Value::Null => Ok(Ty::Null),
                _ => Err(format!("{at}: only string enums are supported")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(union(members));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(list) = map.get(key).and_then(Value::as_array) {
            let members = list
                .iter()
                .enumerate()
                .map(|(i, v)| ty(v, &format!("{at}/{key}/{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(union(members));
        }
    }
    for key in ["allOf", "not", "if", "patternProperties"] {
        if map.contains_key(key) {
            return Err(format!("{at}: `{key}` is not supported by the generator"));
        }
    }
    match map.get("type") {
        None => Ok(Ty::Any),
        Some(Value::String(t)) => typed(t, map, at),
        Some(Value::Array(types)) => {
            let members = types
                .iter()
                .map(|t| {
                    t.as_str()
                        .ok_or_else(|| format!("{at}: type names must be strings"))
                        .and_then(|t| typed(t, map, at))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(union(members))
        }
        Some(_) => Err(format!("{at}: `type` must be a string or a list")),
    }
}

fn typed(t: &str, map: &Map<String, Value>, at: &str) -> Result<Ty, String> {
    Ok(match t {
        "null" => Ty::Null,
        "boolean" => Ty::Bool,
        "integer" => Ty::Int,
        "number" => Ty::Num,
        "string" => Ty::Str,
        "array" => {
            if let Some(items) = map.get("prefixItems").and_then(Value::as_array) {
                Ty::Tuple(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| ty(v, &format!("{at}/prefixItems/{i}")))
                        .collect::<Result<_, _>>()?,
                )
            } else {
                Ty::Array(Box::new(match map.get("items") {
                    Some(items) => ty(items, &format!("{at}/items"))?,
                    None => Ty::Any,
                }))
            }
        }
        "object" => match map.get("properties").and_then(Value::as_object) {
            Some(props) => {
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut names: Vec<&String> = props.keys().collect();
                names.sort();
                Ty::Object(Obj {
                    doc: doc(&Value::Object(map.clone())),
                    fields: names
                        .into_iter()
                        .map(|name| {
                            Ok(Field {
                                name: name.clone(),
                                ty: ty(&props[name], &format!("{at}/properties/{name}"))?,
                                required: required.contains(&name.as_str()),
                                doc: doc(&props[name]),
                            })
                        })
                        .collect::<Result<_, String>>()?,
                })
            }
            None => Ty::Map(Box::new(match map.get("additionalProperties") {
                Some(Value::Bool(false)) => return Err(format!("{at}: an object without properties or values")),
                Some(v) => ty(v, &format!("{at}/additionalProperties"))?,
                None => Ty::Any,
            })),
        },
        other => return Err(format!("{at}: unknown type {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_refs_nullables_maps_tuples_and_tagged_unions() {
        let schema = json!({"$defs": {"B": {"type": "string", "enum": ["x", "y"]}, "A": {
            "oneOf": [{"type": "object", "properties": {"t": {"const": "one"}, "n": {"type": ["integer", "null"]}},
                "required": ["t"]}],
        }, "M": {"type": "object", "additionalProperties": {"type": "array",
            "prefixItems": [{"type": "integer"}, {"$ref": "#/$defs/B"}]}}}});
        let defs = defs(&schema).unwrap();
        assert_eq!(
            defs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            ["A", "B", "M"]
        );
        let Ty::Object(obj) = &defs[0].ty else {
            panic!("{:?}", defs[0].ty)
        };
        assert_eq!(defs[0].ty.tag(), Some(("t", "one")));
        assert_eq!(obj.fields[0].ty.without_null(), Some(Ty::Int));
        assert!(!obj.fields[0].required);
        assert_eq!(defs[1].ty, Ty::Union(vec![Ty::Lit("x".into()), Ty::Lit("y".into())]));
        assert_eq!(
            defs[2].ty,
            Ty::Map(Box::new(Ty::Tuple(vec![Ty::Int, Ty::Ref("B".into())])))
        );
    }

    #[test]
    fn refuses_what_it_cannot_render_with_the_path() {
        let err = defs(&json!({"$defs": {"X": {"allOf": []}}})).unwrap_err();
        assert!(err.contains("$defs/X") && err.contains("allOf"), "{err}");
    }
}
