"""Schemathesis hooks for the gateway's contract run (tests/schemathesis/run).

The check route also takes an オン資 result message (application/xml): a document format that a
JSON Schema cannot describe, so any generated string would be refused, rightly, with 400. Its
contract is tested by the Rust tests and fuzzed (fuzz/run onshi_result); schemathesis tests the
JSON contract, so the XML body is left out of the document it loads.
"""

import schemathesis


@schemathesis.hook
def before_load_schema(context, raw_schema):
    post = raw_schema["paths"]["/v1/subsidy-checks"]["post"]
    post["requestBody"]["content"].pop("application/xml", None)
