"""normalize() finds top-level calls and labels before preprocessor lines by scanning from newlines
(fast); the line-anchored regexes it keeps are the definition. Both must find the same places."""
import os

import pytest

from reviewkit.code import normalize as N

TRICKY = [
    b"DEFINE_MUTEX(a)\nint x;\n",                      # a call on the very first line
    b"int f(void)\n{\nout:\n#endif\n\treturn 0;\n}\n",  # label right before #endif
    b"out:\r\n#else\r\n",                               # CRLF lines
    b"\tdefault:\n#ifdef X\n",                          # `default:` is not a label
    b"a:\n  #if 1\nb: \n#endif\nc:\nx;\n#x\n",          # indented directive, trailing blank, label not before one
    b"subsys_initcall(f) /* why */\nEXPORT_SYMBOL(g)\n\nstatic int\nfoo(void)\n",
    b"#define A \\\nlabel:\n#if 0\n",                   # a label inside a continued macro
    b"",
]


def _reference(source: bytes):
    labels = [m.start(1) for m in N._LABEL_BEFORE_PREPROC.finditer(source)]
    calls = [(m.start(), m.end(), m.group(1)) for m in N._TOPLEVEL_CALL.finditer(source)]
    return labels, calls


def _fast(source: bytes):
    return list(N._labels_before_preproc(source)), list(N._toplevel_calls(source))


@pytest.mark.parametrize("source", TRICKY)
def test_fast_scans_find_what_the_anchored_regexes_find(source):
    assert _fast(source) == _reference(source)


def test_fast_scans_agree_on_real_kernel_files(linux_6_1):
    files = [os.path.join(d, f) for top in ("mm", "include/linux", "kernel")
             for d, _, names in os.walk(linux_6_1 / top) for f in names if f.endswith((".c", ".h"))]
    assert len(files) > 500
    found = 0
    for path in files:
        with open(path, "rb") as fh:
            source = fh.read()
        fast = _fast(source)
        assert fast == _reference(source), path
        found += len(fast[0]) + len(fast[1])
    assert found > 50  # the real files do have such places
