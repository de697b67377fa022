"""The code model rules work on (tree-sitter-c over the kernel tree and the patches).

Entry points, in the order a rule meets them:

- `analysis.analyse(parsed, tree_path, base=None) -> Analysis`: each series
  applied to its tree (`reviewkit.source`); for every patch msgid,
  `Analysis.images[msgid]` (PatchImages: per file the pre/post text, changed
  lines, how each hunk applied) and `Analysis.changes[msgid]` (FileChange:
  both parsed images and their FunctionChanges); `Analysis.functions(msgid)`
  lists the FunctionChanges of a patch.
- `changes.FunctionChange`: path, name, kind (function|macro|hunk), status
  (added|removed|modified), `before`/`after` (cparse.Function with its
  tree-sitter node, or None), `removed_lines`/`added_lines`, `parse_health`
  (1.0 = clean; lower means: do not trust the tree there, lower confidence),
  `source` (tree|hunks).
- `cparse.parse_source(path, bytes) -> ParsedFile` (functions, `function_at`,
  `text`), `cparse.calls_in(node)`, `cparse.LANGUAGE` for tree-sitter queries.
- `index.build_index(tree, folders, cache) -> TreeIndex`: every function of
  the tree's folders with `callers(name)`, `callees(name)`, `functions(name)`;
  cached per blob id in SQLite (`index.ParseCache`).
- `registry.build_registry(tree) -> Registry`: swap-entry kinds, pte markers,
  predicates, constructors and dispatch sites derived from the tree itself
  (`registry.default_registry()` without a tree).
"""
