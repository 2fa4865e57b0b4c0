#!/usr/bin/env python3
"""The source rules a build cannot check on its own (docs/design.md, "Layers"):

- layers point down: a file under src/<layer>/ includes only its own layer and the layers below it;
- the CPU kernels (versus_kernels) and CPU feature detection include nothing else of the project, so
  they cross-build alone;
- no source file over 800 lines, no function over 120.

Usage: scripts/check-source.py [--layers] [ROOT]   (one line per violation; exit 1 if any, 0 if none;
       --layers checks the includes only)
"""
import os
import re
import sys

# Bottom to top. Layers of one rank are siblings: neither includes the other.
LAYERS = {
    "base": 0,
    "system": 1,
    "backend": 2,
    "power": 2,
    "llm": 3,
    "core": 3,
    "workloads": 4,
    "predict": 5,
    "report": 6,
    "cli": 7,
}
TOP_FILES = {"main.cpp"}  # src/main.cpp sits above the CLI

# Files that must stay free of the rest of the project: regex on the path under src/ -> allowed includes.
STANDALONE = [
    (re.compile(r"^system/cpu-features\.(hpp|cpp)$"), re.compile(r"^system/cpu-features\.hpp$")),
    (re.compile(r"^backend/cpu/(?!cpu-backend\.cpp$).*"),
     re.compile(r"^(backend/cpu/.*|backend/[^/]*\.h|system/cpu-features\.hpp)$")),
]

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 120
SOURCE_EXT = (".cpp", ".hpp", ".h", ".c", ".cu", ".cuh")
CHECKED_DIRS = ("src", "tests", "bench")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel):
    """rel: a path under src/. Returns (layer name, rank) or (None, None) for an unknown folder."""
    if rel in TOP_FILES:
        return "main", max(LAYERS.values()) + 1
    top = rel.split("/", 1)[0]
    return (top, LAYERS[top]) if top in LAYERS else (None, None)


def check_includes(src, rel, lines, out):
    name, rank = layer_of(rel)
    if name is None:
        out.append(f"src/{rel}: folder '{rel.split('/')[0]}' has no place in the layer order. HINT: add it to "
                   "LAYERS in scripts/check-source.py and to docs/design.md")
        return
    standalone = next((allowed for pattern, allowed in STANDALONE if pattern.match(rel)), None)
    for n, line in enumerate(lines, 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        target = m.group(1)
        # A bare name is relative to the including file's folder.
        if "/" not in target or target.startswith("."):
            resolved = os.path.normpath(os.path.join(os.path.dirname(rel), target))
            if not os.path.exists(os.path.join(src, resolved)):
                continue  # a generated or system header found through another path
            target = resolved
        if standalone is not None and not standalone.match(target):
            out.append(f"src/{rel}:{n}: includes {target}, but this file builds without the rest of the project. "
                       "HINT: keep kernels and CPU feature detection free of other layers")
            continue
        t_name, t_rank = layer_of(target)
        if t_name is None or t_name == name:
            continue
        if t_rank > rank or (t_rank == rank and t_name != name):
            out.append(f"src/{rel}:{n}: {name} includes {target} ({t_name} is not below {name}). HINT: move the "
                       "code the lower layer needs down (docs/design.md, Layers)")


def strip_code(line, state):
    """The line without comments, strings and character literals; `state` carries /* */ across lines."""
    out = []
    i = 0
    while i < len(line):
        if state["block"]:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out)
            state["block"] = False
            i = end + 2
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        if c == 'R' and line.startswith('R"', i):  # raw string: R"delim( ... )delim" on one line
            m = re.match(r'R"([^(\s]*)\(', line[i:])
            if m:
                end = line.find(")" + m.group(1) + '"', i + m.end())
                i = len(line) if end < 0 else end + len(m.group(1)) + 2
                out.append('""')
                continue
        if c in "\"'":
            j = i + 1
            while j < len(line) and line[j] != c:
                j += 2 if line[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


SCOPE_HEAD = re.compile(r"\b(namespace|extern\s*\"\"|struct|class|union|enum)\b")


def check_functions(rel, lines, out):
    """Brace matching on code with comments and strings removed: a brace opened where a namespace, class or
    extern "C" body is being read starts a function when the text before it has a parameter list."""
    state = {"block": False}
    stack = []  # one entry per open brace: ("scope", 0) or ("function", first line) or ("other", 0)
    head = ""  # code since the last ; { or } at scope level
    head_line = 1
    for n, raw in enumerate(lines, 1):
        code = strip_code(raw, state)
        if code.lstrip().startswith("#"):
            continue
        for c in code:
            in_function = any(kind == "function" for kind, _ in stack)
            if c == "{":
                if in_function:
                    stack.append(("other", 0))
                elif SCOPE_HEAD.search(head) and "(" not in head.split("=")[0]:
                    stack.append(("scope", 0))
                elif "(" in head and not head.rstrip().endswith("="):
                    stack.append(("function", head_line))
                else:
                    stack.append(("other", 0))
                head = ""
            elif c == "}":
                if stack:
                    kind, start = stack.pop()
                    if kind == "function" and n - start + 1 > MAX_FUNCTION_LINES:
                        name = re.findall(r"([~\w:]+)\s*\(", "".join(lines[start - 1:start + 2]))
                        out.append(f"{rel}:{start}: function {name[0] if name else '?'} has {n - start + 1} lines "
                                   f"(at most {MAX_FUNCTION_LINES}). HINT: split it into named steps")
                head = ""
            elif c == ";" and not in_function:
                head = ""
            else:
                if not head.strip() and not c.isspace():
                    head_line = n
                head += c
        head += " "


def main():
    args = [a for a in sys.argv[1:] if a != "--layers"]
    layers_only = len(args) < len(sys.argv) - 1
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    src = os.path.join(root, "src")
    problems = []
    for top in CHECKED_DIRS:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if x not in ("corpus", "node_modules", "data"))
            for f in sorted(files):
                if not f.endswith(SOURCE_EXT):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    lines = fh.read().split("\n")
                if lines and lines[-1] == "":
                    lines.pop()
                if top == "src":
                    check_includes(src, os.path.relpath(path, src), lines, problems)
                if layers_only:
                    continue
                if len(lines) > MAX_FILE_LINES:
                    problems.append(f"{rel}: {len(lines)} lines (at most {MAX_FILE_LINES}). HINT: split it along "
                                    "its sections, one responsibility per file")
                check_functions(rel, lines, problems)
    for p in problems:
        print(p)
    what = "layers" if layers_only else "layers, file and function sizes"
    print(f"check-source: {len(problems)} problem(s)" if problems else f"check-source: {what} ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
