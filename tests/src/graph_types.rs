//! Microsoft's generated SDK models of the `onlineMeeting` type graph
//! (`fixtures/graph-onlinemeeting-types.json`, from the spec), and a check
//! that an answer of ours is a value of it, member for member.

use serde_json::{Map, Value};
use std::sync::LazyLock;

/// The type graph: `{"v1.0": {...}, "beta": {...}}`, each type's members with
/// their kind, and each enum's members.
pub const GRAPH_TYPES: &str = include_str!("../fixtures/graph-onlinemeeting-types.json");

static TYPES: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(GRAPH_TYPES).expect("the fixture is JSON"));

/// Members Graph declares but never writes inline: navigation properties
/// (read with their own requests or `$expand`) and a stream.
pub const NOT_INLINE: &[&str] = &[
    "attendanceReports",
    "recordings",
    "transcripts",
    "attendeeReport",
];

/// Open types: their own members may follow the declared ones.
const OPEN_TYPES: &[&str] = &["identity", "identitySet"];

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The declared members of `type_name` in `version`, inherited ones included
/// (`onlineMeeting` inherits `onlineMeetingBase`'s, and has an `id`).
pub fn members(version: &str, type_name: &str) -> Map<String, Value> {
    let types = &TYPES[version];
    let mut members = Map::new();
    let properties = |name: &str| {
        types[name]["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    if type_name == "onlineMeeting" {
        members.extend(properties("onlineMeetingBase"));
        members.insert(
            "id".into(),
            serde_json::json!({"kind": "str", "type": null}),
        );
    }
    members.extend(properties(type_name));
    for name in NOT_INLINE {
        members.remove(*name);
    }
    members
}

/// Asserts that `value` is an object of Graph's `type_name` in `version`:
/// `@odata.type` first and naming it, every declared member present (a value
/// or `null`), no member the type does not declare (but in open types), and
/// each member of its kind, enums among their members, nested objects checked
/// the same way. `path` names the place in failures.
#[track_caller]
pub fn assert_shape(version: &str, type_name: &str, value: &Value, path: &str) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{path}: an object of {type_name}, found {value}"));
    let first = object.keys().find(|key| *key != "@odata.context");
    assert_eq!(
        first.map(String::as_str),
        Some("@odata.type"),
        "{path}: @odata.type first"
    );
    assert_eq!(
        object["@odata.type"],
        format!("#microsoft.graph.{type_name}"),
        "{path}"
    );
    let declared = members(version, type_name);
    for name in declared.keys() {
        assert!(
            object.contains_key(name),
            "{path}: {type_name}.{name} is missing"
        );
    }
    for (name, member) in object {
        if name.starts_with('@') {
            continue;
        }
        let Some(kind) = declared.get(name) else {
            assert!(
                OPEN_TYPES.contains(&type_name),
                "{path}: {type_name} has no member {name:?} in {version}"
            );
            continue;
        };
        let child = format!("{path}.{name}");
        if member.is_null() {
            continue;
        }
        let of_type = kind["type"].as_str().map(lower_first).unwrap_or_default();
        match kind["kind"].as_str().unwrap_or_default() {
            "str" => assert!(member.is_string(), "{child}: a string, found {member}"),
            "bool" => assert!(member.is_boolean(), "{child}: a boolean, found {member}"),
            "int" => assert!(member.is_i64(), "{child}: an integer, found {member}"),
            "datetime" => {
                let text = member
                    .as_str()
                    .unwrap_or_else(|| panic!("{child}: a date-time"));
                assert!(
                    text.len() == 28 && text.ends_with('Z') && text.as_bytes()[19] == b'.',
                    "{child}: yyyy-mm-ddThh:mm:ss.fffffffZ, found {text}"
                );
            }
            "enum" => {
                let allowed = TYPES[version][&of_type]["enum"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    allowed.contains(member),
                    "{child}: {member} is not a {of_type}"
                );
            }
            "object" => assert_shape(version, &of_type, member, &child),
            "collection_of_object" => {
                for (i, item) in member.as_array().expect("an array").iter().enumerate() {
                    assert_shape(version, &of_type, item, &format!("{child}[{i}]"));
                }
            }
            "collection_of_primitive" => assert!(member.is_array(), "{child}: an array"),
            other => panic!("{child}: unknown kind {other}"),
        }
    }
}
