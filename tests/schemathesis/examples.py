"""Every example in the served OpenAPI document validates against its schema (JSON Schema
2020-12, `jsonschema`, which schemathesis brings): the request bodies' and every answer's, on
the media type and on the schema. tests/it/examples.rs keeps the answers' examples equal to
what the gateway answers; this keeps them equal to what the document says.

    python3 tests/schemathesis/examples.py http://127.0.0.1:PORT/openapi.json
"""

import json
import sys
import urllib.request

import jsonschema


def main(url):
    doc = json.load(urllib.request.urlopen(url))
    components = doc["components"]
    checked, wrong = 0, []

    def validate(where, schema, value):
        nonlocal checked
        checked += 1
        root = dict(schema)
        root["components"] = components
        errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(value), key=str)
        for e in errors[:3]:
            wrong.append(f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}")

    for name, schema in components["schemas"].items():
        for i, ex in enumerate(([schema["example"]] if "example" in schema else []) + schema.get("examples", [])):
            validate(f"components.schemas.{name} example {i}", {"$ref": f"#/components/schemas/{name}"}, ex)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            contents = [(f"request {m}", c) for m, c in op.get("requestBody", {}).get("content", {}).items()]
            for status, r in op.get("responses", {}).items():
                contents += [(f"{status} {m}", c) for m, c in r.get("content", {}).items()]
            for what, c in contents:
                schema = c.get("schema", {})
                if "example" in c:
                    validate(f"{method.upper()} {path} {what}", schema, c["example"])
                for name, ex in c.get("examples", {}).items():
                    validate(f"{method.upper()} {path} {what} ({name})", schema, ex["value"])
    print(f"== examples: {checked} validated against their schemas, {len(wrong)} wrong")
    for w in wrong:
        print("  " + w)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
