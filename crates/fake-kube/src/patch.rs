//! RFC 7386 merge patch and RFC 6902 JSON patch (`replace` only).

use serde_json::Value;

/// RFC 7386: objects merge key by key, `null` deletes a key, anything
/// else (arrays included) replaces the target whole.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(map) = target else { return };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// RFC 6902 with the one operation undo sends: `replace`. Any other op is
/// refused with a message for a 422.
pub(crate) fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch is an array of operations")?;
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        if name != "replace" {
            return Err(format!(
                "json patch operation {name:?} is not supported by this fake server (only \"replace\" is)"
            ));
        }
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("replace operation has no path")?;
        let value = op.get("value").ok_or("replace operation has no value")?;
        let pointer = path.replace("~1", "/").replace("~0", "~");
        let slot = target.pointer_mut(&pointer).ok_or_else(|| {
            format!("replace operation does not apply: doc is missing path: {path}")
        })?;
        *slot = value.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_deletes_with_null_and_replaces_arrays() {
        let mut doc = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        merge(
            &mut doc,
            &json!({"a": {"b": null, "c": [3]}, "e": {"f": 1}}),
        );
        assert_eq!(doc, json!({"a": {"c": [3]}, "d": 1, "e": {"f": 1}}));
    }

    #[test]
    fn json_patch_replaces_and_refuses_other_ops() {
        let mut doc = json!({"spec": {"template": {"x": 1}}});
        let ops = json!([{"op": "replace", "path": "/spec/template", "value": {"y": 2}}]);
        json_patch(&mut doc, &ops).unwrap();
        assert_eq!(doc, json!({"spec": {"template": {"y": 2}}}));
        let add = json!([{"op": "add", "path": "/spec/x", "value": 1}]);
        assert!(json_patch(&mut doc, &add).unwrap_err().contains("\"add\""));
        let missing = json!([{"op": "replace", "path": "/spec/nope", "value": 1}]);
        assert!(
            json_patch(&mut doc, &missing)
                .unwrap_err()
                .contains("missing path")
        );
    }
}
