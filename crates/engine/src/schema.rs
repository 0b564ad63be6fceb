//! The formats that cross the browser boundary, as one JSON Schema: what a request, a policy
//! and the limits may hold, what a result holds, and every error code. Python validates
//! against it and the component generates its result types and validators from it, so a field
//! or a value added to the Rust types here is accepted and checked everywhere without being
//! written down again. `ssc schema` prints it; the Python package ships it.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::error::ComponentErrorCode;
use crate::{Disclosure, ErrorCode, InferenceResult, Limits, RunRequest, MAX_DECIMALS};

/// The version of the messages the component's frames exchange; a frame drops any other.
pub const PROTOCOL_VERSION: u32 = 1;
/// The longest picker label or help text the component shows (and Python accepts).
pub const MAX_UI_TEXT: usize = 1000;

/// The schema document: `$defs` holds every type, `x-roots` names the ones each part of the
/// API is checked against, and `x-constants` the numbers both languages need.
pub fn schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut roots = Map::new();
    let mut root = |name: &str, reference: Value| roots.insert(name.into(), reference);
    root("request", generator.subschema_for::<RunRequest>().to_value());
    root("limits", generator.subschema_for::<Limits>().to_value());
    root("disclosure", generator.subschema_for::<Disclosure>().to_value());
    root("result", generator.subschema_for::<InferenceResult>().to_value());
    root("error_code", generator.subschema_for::<ErrorCode>().to_value());
    root("component_error_code", generator.subschema_for::<ComponentErrorCode>().to_value());
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "streamlit-secure-context engine formats",
        "x-roots": roots,
        "x-constants": {
            "protocol_version": PROTOCOL_VERSION,
            "max_ui_text": MAX_UI_TEXT,
            "max_decimals": MAX_DECIMALS,
        },
        "$defs": generator.take_definitions(true),
    })
}

/// The names a type's schema accepts, for `ssc support`: an enum's values, or the values of
/// a tagged enum's tag field (`kind`, `op`).
pub(crate) fn values<T: JsonSchema>(tag: Option<&str>) -> Vec<String> {
    let def = definition::<T>();
    if let Some(values) = def["enum"].as_array() {
        return values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    }
    let variants = def["oneOf"].as_array().into_iter().flatten();
    // An enum whose variants carry doc comments is split into groups: `const` or `enum` each.
    let names = variants.flat_map(|variant| {
        let group = match tag {
            Some(tag) => &variant["properties"][tag],
            None => variant,
        };
        let listed = group["enum"].as_array().into_iter().flatten().chain([&group["const"]]);
        listed.filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>()
    });
    names.collect()
}

/// The fields a struct's schema accepts, or those of the variant of a tagged enum whose
/// `tag` is `variant`; the tag itself is not listed.
pub(crate) fn fields<T: JsonSchema>(variant: Option<(&str, &str)>) -> Vec<String> {
    let def = definition::<T>();
    let object = match variant {
        None => &def,
        Some((tag, name)) => def["oneOf"]
            .as_array()
            .and_then(|all| all.iter().find(|v| v["properties"][tag]["const"] == name))
            .unwrap_or(&Value::Null),
    };
    let properties = object["properties"].as_object().into_iter().flatten();
    let tag = variant.map(|(tag, _)| tag);
    properties.map(|(name, _)| name.clone()).filter(|name| Some(name.as_str()) != tag).collect()
}

fn definition<T: JsonSchema>() -> Value {
    let document = schema();
    document["$defs"][T::schema_name().as_ref()].clone()
}
