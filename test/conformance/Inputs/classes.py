"""Prints 'name class: first line of message' for every case of a
`kiln conformance --report` JSON file, sorted by name, then the totals."""
import json
import sys

report = json.load(open(sys.argv[1]))
for case in sorted(report["cases"], key=lambda c: c["name"]):
    line = f"{case['name']} {case['class']}: "
    line += case["message"].splitlines()[0] if case["message"] else ""
    if case.get("constant_inputs"):
        line += "[constant_inputs: " + ", ".join(case["constant_inputs"]) + "]"
    print(line)
t = report["totals"]
print("totals", " ".join(f"{k}={v}" for k, v in t.items() if k != "by_class"))
print("by_class", " ".join(f"{k}={v}" for k, v in t["by_class"].items()))
